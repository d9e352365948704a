"""ResNet and Wide-ResNet families, plain and attention-augmented, in one registry (``create_model``,
``list_models``), ``profile``, save_pretrained / from_pretrained, RetinaNet builders (``aacn.models.detection``) and
timm registration (``aacn.models.timm``).

Each family file registers its models where it defines them (``register_model``); importing the families here is
what fills the registry.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import detection, resnet, wide_resnet  # noqa: F401  (importing a family registers its models)
from .errors import PretrainedError, PretrainedNotFoundError
from .paper import PAPER, PaperFigures
from .placement import AttentionConfig
from .pretrained import from_pretrained, save_pretrained
from .profile import Profile, profile
from .registry import ModelSpec, check_overrides, create_model, get_spec, list_models, register_model
from .resnet import BasicBlock, Bottleneck, ResNet
from .timm import register_timm_models, register_when_timm_imports, timm_name
from .wide_resnet import WideBasicBlock, WideResNet

register_when_timm_imports()  # timm finds aacn's models without another import (aacn.models.timm)


def __getattr__(name: str) -> Any:
    if name == "AugmentConfig":  # its name before 0.2
        warnings.warn("aacn.models.AugmentConfig is now AttentionConfig", DeprecationWarning, stacklevel=2)
        return AttentionConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PAPER",
    "AttentionConfig",
    "BasicBlock",
    "Bottleneck",
    "ModelSpec",
    "PaperFigures",
    "PretrainedError",
    "PretrainedNotFoundError",
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
    "register_model",
    "register_timm_models",
    "save_pretrained",
    "timm_name",
]
