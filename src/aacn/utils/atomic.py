"""Files written atomically: a crash at any moment leaves the old file or the new one, never a partial file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

_UMASK = os.umask(0)
os.umask(_UMASK)


class WriteError(OSError):
    """A file could not be written (disk full, folder gone, read-only, no permission); names the file. The file it
    would have replaced, if any, is untouched."""

    exit_code = 3

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.path, self.cause = path, cause

    def __str__(self) -> str:
        reason = self.cause.strerror or str(self.cause)
        return f"could not write {self.path}: {reason}" + (
            f"; the previous {self.path.name} is intact" if self.path.exists() else ""
        )


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(stream)`` on a temporary file in the same folder, fsync it, then rename it over ``path``.

    Any OSError on the way (ENOSPC part-way through, the folder removed, a read-only file system) becomes one
    :class:`WriteError` naming ``path``; the temporary file is removed and ``path`` keeps its old content.
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        cause = _os_error_in(error)
        if cause is not None and not isinstance(error, WriteError):
            raise WriteError(path, cause) from error
        raise


def _os_error_in(error: BaseException) -> OSError | None:
    """The OSError behind ``error``: itself, or one in its chain (torch.save's C++ writer reports a failed write of
    its Python stream as a RuntimeError whose context is the OSError)."""
    seen: BaseException | None = error
    visited: set[int] = set()  # a chain can loop (an exception raised again in its own handler)
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, OSError):
            return seen
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return None


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    atomic_write(path, lambda stream: torch.save(obj, stream))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write(path, lambda stream: stream.write(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())
