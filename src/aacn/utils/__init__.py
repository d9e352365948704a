"""What every floor of aacn may use: atomic file writes, optional-dependency checks, a hardware description.

Imports nothing else of aacn (and nothing beyond torch and the standard library).
"""

from .atomic import atomic_save, atomic_write_bytes, atomic_write_text
from .extras import MissingExtraError, require_extra

__all__ = ["MissingExtraError", "atomic_save", "atomic_write_bytes", "atomic_write_text", "require_extra"]
