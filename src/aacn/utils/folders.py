"""Folders a command writes into: checked before any work starts, so a bad path is one line, not a lost run."""

from __future__ import annotations

import tempfile
from pathlib import Path


class PathError(ValueError):
    """A path that cannot serve: a file where a folder is needed, or a folder that cannot be created or written."""

    exit_code = 2


def writable_folder(path: str | Path, flag: str = "--output") -> Path:
    """Create ``path`` if needed and prove a file can be written in it; a PathError names the path and the fix."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise PathError(f"{flag} {folder} is a file, not a folder; name a folder (it is created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PathError(
            f"{flag} {folder} cannot be written: {error.strerror or error}; choose another folder"
        ) from None
    return folder
