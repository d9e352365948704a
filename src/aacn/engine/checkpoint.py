"""Checkpoints that are written atomically and loaded without executing pickled code."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

_UMASK = os.umask(0)
os.umask(_UMASK)

# Types a Lightning checkpoint of ours may hold besides tensors and plain containers.
torch.serialization.add_safe_globals([Counter])


class CheckpointError(ValueError):
    """A checkpoint file that is missing, corrupted, truncated, unsafe or does not fit; names the file."""


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename it over ``path``.

    A crash at any point leaves either the old file or the new one, never a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_save(obj: Any, path: Path) -> None:
    _atomic_write(Path(path), lambda stream: torch.save(obj, stream))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(Path(path), lambda stream: stream.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)``, with every failure turned into one CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} holds objects that are not plain weights ({first})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or truncated ({error}); use another checkpoint"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint {path} is not an aacn training checkpoint (no state_dict)")
    return checkpoint


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with atomic writes and weights-only loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        atomic_save(checkpoint, Path(path))

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint_file(path, map_location=map_location or "cpu")
