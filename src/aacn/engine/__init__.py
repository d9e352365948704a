"""Training and evaluation on Lightning: the LightningModule, data module, callbacks, checkpoint IO and recipes."""

from pathlib import Path

from ..utils.extras import require_extra

require_extra("train", "training, evaluation and export (aacn.engine)")

from ..checkpoints import CheckpointError, load_checkpoint_file, model_from_checkpoint
from ..config import ConfigError, TrainConfig, resolve_config
from .evaluate import evaluate
from .train import TrainingInterrupted, train


def export_safetensors(checkpoint: str | Path, output: str | Path | None = None, ema: bool = False) -> dict[str, str]:
    """Deprecated since 0.4: writes the save_pretrained folder (:func:`aacn.exchange.export_pretrained`)."""
    import warnings

    from ..exchange import CONFIG, WEIGHTS, export_pretrained

    warnings.warn(
        "aacn.engine.export_safetensors is deprecated: it now writes a save_pretrained folder (model.safetensors + "
        "config.json); use aacn.exchange.export_pretrained",
        DeprecationWarning,
        stacklevel=2,
    )
    folder = export_pretrained(checkpoint, Path(output).with_suffix("") if output else None, ema=ema)
    return {"weights": str(folder / WEIGHTS), "config": str(folder / CONFIG), "folder": str(folder)}


__all__ = [
    "CheckpointError",
    "ConfigError",
    "TrainConfig",
    "TrainingInterrupted",
    "evaluate",
    "export_safetensors",
    "load_checkpoint_file",
    "model_from_checkpoint",
    "resolve_config",
    "train",
]
