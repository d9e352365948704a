"""ResNet and Wide-ResNet families, plain and attention-augmented, the model registry, ``profile``, RetinaNet builders
(``aacn.models.detection``) and timm registration (``aacn.models.timm``)."""

from . import detection
from .paper import PAPER, PaperFigures
from .placement import AttentionConfig
from .pretrained import PretrainedError, from_pretrained, save_pretrained
from .profile import Profile, profile
from .registry import ModelSpec, check_overrides, create_model, get_spec, list_models
from .resnet import BasicBlock, Bottleneck, ResNet
from .timm import register_timm_models, register_when_timm_imports, timm_name
from .wide_resnet import WideBasicBlock, WideResNet

AugmentConfig = AttentionConfig  # its name before 0.2, kept for old code

register_when_timm_imports()  # timm finds aacn's models without another import (aacn.models.timm)

__all__ = [
    "PAPER",
    "AttentionConfig",
    "BasicBlock",
    "Bottleneck",
    "ModelSpec",
    "PaperFigures",
    "PretrainedError",
    "Profile",
    "ResNet",
    "WideBasicBlock",
    "WideResNet",
    "check_overrides",
    "create_model",
    "detection",
    "from_pretrained",
    "get_spec",
    "list_models",
    "profile",
    "register_timm_models",
    "save_pretrained",
    "timm_name",
]
