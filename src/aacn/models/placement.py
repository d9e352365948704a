"""Where and how a ResNet-family model gets attention-augmented convolutions (docs/paper.md, "Where the layer goes")."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from torch import nn

from ..nn import AugmentedConv1d, AugmentedConv2d, attention_grid_size
from ..nn.attention import ATTENTION_IMPLS
from ..nn.position_encoding import POSITION_ENCODINGS


@dataclass(frozen=True)
class AttentionConfig:
    """Hyper-parameters of the augmented convolutions of a model; every field is a ``create_model`` override.

    ``aa_stages`` and ``attn_downsample_stages`` count stages from 1 (torchvision's ``layer1`` is stage 1).
    ``input_size`` is the image size the relative tables are made for (a larger image needs
    ``interpolate_rel_pos=True``); any smaller size, square or not, works as is. ``attention_impl`` picks the code
    that computes the attention in every augmented layer (``AugmentedConv2d``'s; all compute the same function):
    ``"auto"`` takes the fastest for the device.
    """

    key_ratio: float = 0.2
    value_ratio: float = 0.1
    num_heads: int = 8
    min_key_dim_per_head: int = 20
    aa_stages: tuple[int, ...] = (2, 3, 4)
    attn_downsample_stages: tuple[int, ...] = (2,)
    relative: bool = True
    input_size: int | tuple[int, int] = 224
    interpolate_rel_pos: bool = False
    position_encoding: str | None = None  # None: relative (or none with relative=False); see AugmentedConv2d
    attention_impl: str = "auto"

    def __post_init__(self) -> None:
        """Every field checked here, once: a bad value is a ValueError naming it and what would be valid."""
        for name in ("aa_stages", "attn_downsample_stages"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or not all(_is_int(s) and s >= 1 for s in value):
                raise ValueError(f"{name} must be a list of stage numbers from 1, e.g. [2, 3, 4], got {value!r}")
            object.__setattr__(self, name, tuple(value))  # lists from JSON or YAML, kept hashable
        size = self.input_size
        pair = tuple(size) if isinstance(size, (list, tuple)) else (size,)
        if len(pair) not in (1, 2) or not all(_is_int(v) and v >= 1 for v in pair):
            raise ValueError(f"input_size must be a positive int or a pair [H, W], got {size!r}")
        if isinstance(size, list):
            object.__setattr__(self, "input_size", pair)
        checks = (
            ("key_ratio", _number(self.key_ratio) and self.key_ratio > 0, "a number > 0"),
            ("value_ratio", _number(self.value_ratio) and 0 <= self.value_ratio <= 1, "a number in [0, 1]"),
            ("num_heads", _is_int(self.num_heads) and self.num_heads >= 1, "an int >= 1"),
            ("min_key_dim_per_head", _is_int(self.min_key_dim_per_head) and self.min_key_dim_per_head >= 0,
             "an int >= 0"),
            ("relative", isinstance(self.relative, bool), "true or false"),
            ("interpolate_rel_pos", isinstance(self.interpolate_rel_pos, bool), "true or false"),
            ("position_encoding", self.position_encoding in (None, *POSITION_ENCODINGS),
             f"one of {', '.join(POSITION_ENCODINGS)}"),
            ("attention_impl", self.attention_impl in ATTENTION_IMPLS, f"one of {', '.join(ATTENTION_IMPLS)}"),
        )  # fmt: skip
        for name, valid, what in checks:
            if not valid:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def replace(self, **changes: Any) -> AttentionConfig:
        """A copy with ``changes`` (checked like any new configuration)."""
        return dataclasses.replace(self, **changes)

    def check_stages(self, stages: int, family: str) -> None:
        """The stages this configuration names must exist in a model of ``stages`` stages (a ``family``)."""
        for name in ("aa_stages", "attn_downsample_stages"):
            if any(s > stages for s in getattr(self, name)):
                raise ValueError(
                    f"{name} must be a list of stage numbers from 1 to {stages} ({family} has {stages} stages), "
                    f"got {list(getattr(self, name))!r}"
                )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# the layers of a network on a grid of 1 or 2 axes (sequences, images)
CONV = {1: nn.Conv1d, 2: nn.Conv2d}
BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
AUGMENTED = {1: AugmentedConv1d, 2: AugmentedConv2d}


def conv3x3(
    in_channels: int,
    out_channels: int,
    stride: int,
    *,
    stage: int,
    grid: tuple[int, ...],
    attention: AttentionConfig | None,
    dims: int = 2,
) -> nn.Module:
    """The 3x3 (1-D: 3-wide) convolution that augmentation may replace: plain unless ``stage`` is one of
    ``attention.aa_stages``.

    ``grid`` is the spatial size of this convolution's input at the configured ``input_size``.
    """
    if attention is None or stage not in attention.aa_stages:
        return CONV[dims](in_channels, out_channels, 3, stride, padding=1, bias=False)
    downsample = stage in attention.attn_downsample_stages
    return AUGMENTED[dims].from_ratios(
        in_channels,
        out_channels,
        3,
        stride,
        key_ratio=attention.key_ratio,
        value_ratio=attention.value_ratio,
        num_heads=attention.num_heads,
        min_key_dim_per_head=attention.min_key_dim_per_head,
        relative=attention.relative,
        position_encoding=attention.position_encoding,
        max_size=attention_grid_size(grid, stride, downsample),
        attn_downsample=downsample,
        interpolate_rel_pos=attention.interpolate_rel_pos,
        attention_impl=attention.attention_impl,
    )


def strided(grid: tuple[int, ...], stride: int) -> tuple[int, ...]:
    """Output size of a 'same'-padded odd-kernel convolution or pooling of ``stride``."""
    return tuple(math.ceil(side / stride) for side in grid)


def grid_of(input_size: int | tuple[int, ...], dims: int) -> tuple[int, ...]:
    """The input grid of a model of ``dims`` axes designed for ``input_size`` (an int: every side)."""
    grid = (input_size,) * dims if isinstance(input_size, int) else tuple(input_size)
    if len(grid) != dims:
        shape = {1: "an int or [L]", 2: "an int or a pair [H, W]"}.get(dims, f"an int or {dims} ints")
        raise ValueError(f"input_size must be {shape} for a model of {dims}-D inputs, got {list(grid)!r}")
    return grid


def init_conv_bn(model: nn.Module) -> None:
    """torchvision's ResNet initialisation: Kaiming-normal (fan-out) convolutions, BN weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
