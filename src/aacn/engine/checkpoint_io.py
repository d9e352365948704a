"""Lightning's checkpoint IO with atomic writes and weights-only loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from ..checkpoints import load_checkpoint_file
from ..utils import atomic_save


class SafeCheckpointIO(TorchCheckpointIO):
    """Writes through a temporary file, fsync and rename; reads with ``torch.load(weights_only=True)``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        atomic_save(checkpoint, Path(path))

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint_file(path, map_location=map_location or "cpu")
