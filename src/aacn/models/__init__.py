"""ResNet and Wide-ResNet families, plain and attention-augmented, the model registry and ``profile``."""

from .augment import AugmentConfig
from .paper import PAPER, PaperFigures
from .profile import Profile, profile
from .registry import ModelSpec, create_model, get_spec, list_models
from .resnet import BasicBlock, Bottleneck, ResNet
from .wide_resnet import WideBasicBlock, WideResNet

__all__ = [
    "PAPER",
    "AugmentConfig",
    "BasicBlock",
    "Bottleneck",
    "ModelSpec",
    "PaperFigures",
    "Profile",
    "ResNet",
    "WideBasicBlock",
    "WideResNet",
    "create_model",
    "get_spec",
    "list_models",
    "profile",
]
