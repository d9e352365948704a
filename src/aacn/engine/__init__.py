"""Training and evaluation on Lightning: the LightningModule, data module, callbacks, checkpoints and recipes."""

from .checkpoint import CheckpointError, load_checkpoint_file
from .config import ConfigError, TrainConfig, resolve_config
from .evaluate import evaluate, model_from_checkpoint
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
