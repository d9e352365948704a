"""The model registry: ``create_model(name, **overrides)`` and ``list_models()`` over the names of docs/design.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from torch import nn

from ..utils.normalization import CIFAR10_STATS, CIFAR100_STATS, IMAGENET_STATS
from .paper import PAPER, PaperFigures
from .placement import AttentionConfig
from .resnet import resnet
from .wide_resnet import WideResNet


@dataclass(frozen=True)
class ModelSpec:
    """How to build one named model and what it is for."""

    name: str
    build: Callable[..., nn.Module]  # build(num_classes=..., attention=..., **model_kwargs)
    num_classes: int
    input_size: int  # the image side the model is designed for
    attention: AttentionConfig | None  # None: a plain model
    model_kwargs: tuple[str, ...] = ()  # extra overrides the builder accepts
    stages: int = 4  # residual stages, numbered from 1 (what aa_stages may name)

    @property
    def paper(self) -> PaperFigures | None:
        return PAPER.get(self.name)


_REGISTRY: dict[str, ModelSpec] = {}


def _register(spec: ModelSpec) -> None:
    _REGISTRY[spec.name] = spec


def _resnet_builder(depth: int, stem: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, attention: AttentionConfig | None, **kwargs: Any) -> nn.Module:
        return resnet(depth, num_classes, stem=stem, attention=attention, **kwargs)

    return build


def _wrn_builder(depth: int, widen_factor: int) -> Callable[..., nn.Module]:
    def build(num_classes: int, attention: AttentionConfig | None, **kwargs: Any) -> nn.Module:
        return WideResNet(depth, widen_factor, num_classes, attention=attention, **kwargs)

    return build


def _attention_for(depth: int, input_size: int, downsample: tuple[int, ...]) -> AttentionConfig:
    """docs/paper.md: bottleneck nets k = 0.2, v = 0.1; basic-block nets k = v = 0.25; min 20 key dims per head."""
    if depth >= 50:
        return AttentionConfig(0.2, 0.1, 8, 20, (2, 3, 4), downsample, True, input_size)
    return AttentionConfig(0.25, 0.25, 8, 20, (2, 3, 4), downsample, True, input_size)


# the builders' own overrides, besides the attention fields
RESNET_OPTIONS = ("zero_init_residual", "in_chans")
WRN_OPTIONS = ("drop_rate", "in_chans")

for _depth in (18, 34, 50, 101, 152):
    _register(ModelSpec(f"resnet{_depth}", _resnet_builder(_depth, "imagenet"), 1000, 224, None, RESNET_OPTIONS))
    _register(
        ModelSpec(
            f"aa_resnet{_depth}",
            _resnet_builder(_depth, "imagenet"),
            1000,
            224,
            _attention_for(_depth, 224, (2,)),
            RESNET_OPTIONS,
        )
    )
for _depth in (18, 34, 50, 101, 152):
    _register(ModelSpec(f"resnet{_depth}_cifar", _resnet_builder(_depth, "cifar"), 10, 32, None, RESNET_OPTIONS))
    _register(
        ModelSpec(
            f"aa_resnet{_depth}_cifar",
            _resnet_builder(_depth, "cifar"),
            10,
            32,
            _attention_for(_depth, 32, ()),  # 16x16 is the largest augmented grid: no need to downsample
            RESNET_OPTIONS,
        )
    )
_register(ModelSpec("wrn28_10", _wrn_builder(28, 10), 100, 32, None, WRN_OPTIONS, stages=3))
_register(
    ModelSpec(
        "aa_wrn28_10",
        _wrn_builder(28, 10),
        100,
        32,
        AttentionConfig(0.2, 0.1, 8, 20, (1, 2, 3), (1,), True, 32),
        WRN_OPTIONS,
        stages=3,
    )
)


def list_models() -> list[str]:
    """Every registered model name, plain models before their augmented twins."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(_REGISTRY)}") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _stages(value: Any, spec: ModelSpec) -> bool:
    return isinstance(value, (list, tuple)) and all(_is_int(s) and 1 <= s <= spec.stages for s in value)


def _size(value: Any, spec: ModelSpec) -> bool:
    pair = value if isinstance(value, (list, tuple)) else (value,)
    return len(pair) in (1, 2) and all(_is_int(v) and v >= 1 for v in pair)


# override -> (check, what a valid value is): every create_model override is checked before a model is built
_OVERRIDE_CHECKS: dict[str, tuple[Callable[[Any, ModelSpec], bool], str]] = {
    "key_ratio": (lambda v, s: _number(v) and v > 0, "a number > 0"),
    "value_ratio": (lambda v, s: _number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "num_heads": (lambda v, s: _is_int(v) and v >= 1, "an int >= 1"),
    "min_key_dim_per_head": (lambda v, s: _is_int(v) and v >= 0, "an int >= 0"),
    "aa_stages": (_stages, "a list of stage numbers from 1 to the model's stage count, e.g. [2, 3, 4]"),
    "attn_downsample_stages": (_stages, "a list of stage numbers from 1 to the model's stage count, e.g. [2]"),
    "relative": (lambda v, s: isinstance(v, bool), "true or false"),
    "input_size": (_size, "a positive int or a pair [H, W]"),
    "interpolate_rel_pos": (lambda v, s: isinstance(v, bool), "true or false"),
    "zero_init_residual": (lambda v, s: isinstance(v, bool), "true or false"),
    "drop_rate": (lambda v, s: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "in_chans": (lambda v, s: _is_int(v) and v >= 1, "an int >= 1 (channels of the input image)"),
}


def check_overrides(name: str, overrides: dict[str, Any]) -> None:
    """Raise a ValueError naming the first override the model does not take or whose value is not valid."""
    spec = get_spec(name)
    attention_fields = set(AttentionConfig.field_names())
    takes = set(spec.model_kwargs) | (attention_fields if spec.attention else set())
    for key, value in overrides.items():
        if key in attention_fields and spec.attention is None:
            raise ValueError(f"{name} is a plain model and takes no attention override ({key}); use aa_{name}")
        if key not in takes:
            raise ValueError(f"{name} does not take override {key}; it takes {', '.join(sorted(takes))}")
        check, valid = _OVERRIDE_CHECKS[key]
        if not check(value, spec):
            stages = f" ({name} has {spec.stages} stages)" if key.endswith("stages") else ""
            raise ValueError(f"{key} must be {valid}{stages}, got {value!r}")


def create_model(name: str, num_classes: int | None = None, **overrides: Any) -> nn.Module:
    """Build a registered model. ``overrides`` may set any :class:`AttentionConfig` field on an augmented model
    (``key_ratio``, ``value_ratio``, ``num_heads``, ``aa_stages``, ...) and the builder's own options.

    >>> model = create_model("aa_resnet50", key_ratio=0.25, value_ratio=0.25, min_key_dim_per_head=0)
    """
    spec = get_spec(name)
    check_overrides(name, overrides)
    attention_fields = set(AttentionConfig.field_names())
    attention_overrides = {k: v for k, v in overrides.items() if k in attention_fields}
    model_overrides = {k: v for k, v in overrides.items() if k not in attention_fields}
    attention = spec.attention
    if attention is not None and attention_overrides:
        for key in ("aa_stages", "attn_downsample_stages"):
            if key in attention_overrides:
                attention_overrides[key] = tuple(attention_overrides[key])
        attention = replace(attention, **attention_overrides)
    if num_classes is None:
        num_classes = spec.num_classes
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    model = spec.build(num_classes=num_classes, attention=attention, **model_overrides)
    model.pretrained_cfg = pretrained_cfg(spec, num_classes, attention, overrides.get("in_chans", 3))
    model.create_args = {"name": name, "num_classes": num_classes, "overrides": _plain(overrides)}
    return model


def _plain(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as JSON holds them (tuples as lists), for config.json and checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()}


def pretrained_cfg(
    spec: ModelSpec, num_classes: int, attention: AttentionConfig | None, in_chans: int = 3
) -> dict[str, Any]:
    """timm's description of what a model expects: input size, normalisation, crop and interpolation."""
    imagenet = spec.input_size == 224
    if imagenet:
        mean, std = IMAGENET_STATS
    else:
        mean, std = CIFAR100_STATS if spec.name.endswith("wrn28_10") else CIFAR10_STATS
    size = spec.input_size if attention is None else attention.input_size
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    return {
        "architecture": spec.name,
        "input_size": (in_chans, height, width),
        "mean": mean,
        "std": std,
        "crop_pct": 0.875 if imagenet else 1.0,  # eval: resize to size / crop_pct, centre crop
        "interpolation": "bilinear",
        "num_classes": num_classes,
        "first_conv": "conv1",
        "classifier": "fc",
        "license": "apache-2.0",
    }
