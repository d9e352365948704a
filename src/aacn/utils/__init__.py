"""What every floor of aacn may use: atomic file writes, optional-dependency checks, a hardware description, a
run folder's diverged.json.

Imports nothing else of aacn (and nothing beyond torch and the standard library).
"""

from .atomic import WriteError, atomic_save, atomic_write_bytes, atomic_write_text
from .extras import MissingExtraError, require_extra
from .folders import PathError, writable_folder

__all__ = [
    "MissingExtraError",
    "PathError",
    "WriteError",
    "atomic_save",
    "atomic_write_bytes",
    "atomic_write_text",
    "require_extra",
    "writable_folder",
]
