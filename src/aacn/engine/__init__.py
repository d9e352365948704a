"""Training and evaluation on Lightning: the LightningModule, data module, callbacks, checkpoint IO and recipes."""

from ..utils.extras import require_extra

require_extra("train", "training, evaluation and export (aacn.engine)")

from ..checkpoints import CheckpointError, load_checkpoint_file, model_from_checkpoint
from ..config import ConfigError, TrainConfig, resolve_config
from .evaluate import evaluate
from .export import export_safetensors
from .train import TrainingInterrupted, train

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
