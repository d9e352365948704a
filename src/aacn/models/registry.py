"""The model registry, timm's way: every model is a named, keyword-only builder function, registered where it is
defined with :func:`register_model`, its default configuration (classes, input size, attention, paper figures) in
the decorator beside it. ``create_model``, ``list_models``, timm's registry (:mod:`aacn.models.timm`), torch.hub
(``hubconf.py``), the detection builders and ``aacn models`` all read this one registry.

This module imports no model family: the families import it and register themselves when ``aacn.models`` imports
them, so the imports between the files of ``aacn.models`` point one way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from ..utils.normalization import IMAGENET_STATS
from .paper import PAPER, PaperFigures
from .placement import AttentionConfig

TASKS = ("classification", "detection")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model: its builder and its default configuration."""

    name: str
    build: Callable[..., nn.Module]  # the registered builder: build(*, num_classes=..., **options)
    num_classes: int
    input_size: int  # the image side the model is designed for
    attention: AttentionConfig | None  # None: a plain model
    options: tuple[str, ...]  # keyword options the builder takes besides num_classes (and the attention fields)
    stages: int = 4  # residual stages, numbered from 1 (what aa_stages may name)
    stats: tuple[tuple[float, ...], tuple[float, ...]] = IMAGENET_STATS  # normalisation (mean, std) of its data
    task: str = "classification"
    backbone: str | None = None  # a detection model: the classifier it is built on
    passes_through: bool = False  # a plain model whose builder takes ``**kwargs``: it checks any other key itself
    dims: int = 2  # spatial axes of its input: 2 images, 1 sequences

    @property
    def paper(self) -> PaperFigures | None:
        return PAPER.get(self.name)

    def takes(self) -> list[str]:
        """Every keyword override ``create_model`` accepts for this model."""
        fields = AttentionConfig.field_names() if self.attention is not None else []
        return sorted({*self.options, *fields})


_REGISTRY: dict[str, ModelSpec] = {}
Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


def register_model(
    *,
    num_classes: int,
    input_size: int,
    attention: AttentionConfig | None = None,
    stages: int = 4,
    paper: PaperFigures | None = None,
    stats: tuple[tuple[float, ...], tuple[float, ...]] = IMAGENET_STATS,
    task: str = "classification",
    backbone: str | None = None,
    dims: int = 2,
) -> Callable[[Builder], Builder]:
    """Register the decorated builder under its function name, with the model's defaults.

    The builder takes keyword arguments only: ``num_classes`` and its options (read from its signature); an
    augmented model's builder also takes every :class:`AttentionConfig` field through ``**attention`` and builds
    from :func:`default_attention` of its own name.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")

    def decorator(builder: Builder) -> Builder:
        parameters = inspect.signature(builder).parameters.values()
        if any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
            raise TypeError(f"model builder {builder.__name__} must take keyword arguments only")
        options = tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name != "num_classes")
        passes_through = attention is None and any(p.kind is p.VAR_KEYWORD for p in parameters)
        name = builder.__name__
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, builder, num_classes, input_size, attention, options, stages, stats, task,
                                    backbone, passes_through, dims)  # fmt: skip
        if paper is not None:
            PAPER[name] = paper
        return builder

    return decorator


def list_models(task: str | None = "classification") -> list[str]:
    """Registered model names of ``task`` (None: every task, classifiers first), plain models before their
    augmented twins."""
    names = [name for name, spec in _REGISTRY.items() if task is None or spec.task == task]
    return sorted(names, key=lambda name: TASKS.index(_REGISTRY[name].task))


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(list_models(None))}") from None


def check_keys(spec: ModelSpec, overrides: dict[str, Any]) -> None:
    """An override the model does not take is a ValueError naming what it takes (values are checked where they are
    used, once: :class:`AttentionConfig`, the model's constructor, the layer)."""
    if spec.passes_through:
        return
    fields = set(AttentionConfig.field_names())
    for key in overrides:
        if key in fields and spec.attention is None:
            raise ValueError(
                f"{spec.name} is a plain model and takes no attention override ({key}); use aa_{spec.name}"
            )
        if key not in fields and key not in spec.options:
            raise ValueError(f"{spec.name} does not take override {key}; it takes {', '.join(spec.takes())}")


def default_attention(name: str, **changes: Any) -> AttentionConfig:
    """The registered attention configuration of augmented model ``name``, with ``changes`` (checked)."""
    attention = get_spec(name).attention
    if attention is None:
        raise ValueError(f"{name} is a plain model: it has no attention configuration")
    return attention.replace(**changes) if changes else attention


def create_model(name: str, num_classes: int | None = None, **overrides: Any) -> nn.Module:
    """Build a registered model. ``overrides`` may set any :class:`AttentionConfig` field on an augmented model
    (``key_ratio``, ``value_ratio``, ``num_heads``, ``aa_stages``, ...) and the builder's own options.

    >>> model = create_model("aa_resnet50", key_ratio=0.25, value_ratio=0.25, min_key_dim_per_head=0)
    """
    spec = get_spec(name)
    if num_classes is None:
        num_classes = spec.num_classes
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    check_keys(spec, overrides)
    model = spec.build(num_classes=num_classes, **overrides)
    if spec.task == "classification":
        attention = getattr(model, "attention_config", None)
        first = next(m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd))
        model.pretrained_cfg = pretrained_cfg(spec, num_classes, attention, first.in_channels)
        model.create_args = {"name": name, "num_classes": num_classes, "overrides": _plain(overrides)}
    return model


def check_overrides(name: str, overrides: dict[str, Any]) -> None:
    """Raise the ValueError that building ``name`` with ``overrides`` would raise, without allocating anything (the
    model is built on the meta device): the constructors check every value, once."""
    with torch.device("meta"):
        create_model(name, **overrides)


def _plain(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as JSON holds them (tuples as lists), for config.json and checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()}


def pretrained_cfg(
    spec: ModelSpec, num_classes: int, attention: AttentionConfig | None, in_chans: int = 3
) -> dict[str, Any]:
    """timm's description of what a model expects: input size, normalisation, crop and interpolation."""
    imagenet = spec.input_size == 224
    mean, std = spec.stats
    size = spec.input_size if attention is None else attention.input_size
    sides = (size,) * spec.dims if isinstance(size, int) else tuple(size)
    return {
        "architecture": spec.name,
        "input_size": (in_chans, *sides),
        "mean": mean,
        "std": std,
        "crop_pct": 0.875 if imagenet else 1.0,  # eval: resize to size / crop_pct, centre crop
        "interpolation": "bilinear",
        "num_classes": num_classes,
        "first_conv": "conv1",
        "classifier": "fc",
        "license": "apache-2.0",
    }
