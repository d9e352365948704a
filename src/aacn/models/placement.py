"""Where and how a ResNet-family model gets attention-augmented convolutions (docs/paper.md, "Where the layer goes")."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from torch import nn

from ..nn import AugmentedConv2d, attention_grid_size


@dataclass(frozen=True)
class AttentionConfig:
    """Hyper-parameters of the augmented convolutions of a model; every field is a ``create_model`` override.

    ``aa_stages`` and ``attn_downsample_stages`` count stages from 1 (torchvision's ``layer1`` is stage 1).
    ``input_size`` is the image size the relative tables are made for (a larger image needs
    ``interpolate_rel_pos=True``); any smaller size, square or not, works as is.
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

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def conv3x3(
    in_channels: int,
    out_channels: int,
    stride: int,
    *,
    stage: int,
    grid: tuple[int, int],
    attention: AttentionConfig | None,
) -> nn.Module:
    """The 3x3 convolution that augmentation may replace: plain unless ``stage`` is one of ``attention.aa_stages``.

    ``grid`` is the spatial size of this convolution's input at the configured ``input_size``.
    """
    if attention is None or stage not in attention.aa_stages:
        return nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
    downsample = stage in attention.attn_downsample_stages
    return AugmentedConv2d.from_ratios(
        in_channels,
        out_channels,
        3,
        stride,
        key_ratio=attention.key_ratio,
        value_ratio=attention.value_ratio,
        num_heads=attention.num_heads,
        min_key_dim_per_head=attention.min_key_dim_per_head,
        relative=attention.relative,
        max_size=attention_grid_size(grid, stride, downsample),
        attn_downsample=downsample,
        interpolate_rel_pos=attention.interpolate_rel_pos,
    )


def strided(grid: tuple[int, int], stride: int) -> tuple[int, int]:
    """Output size of a 'same'-padded odd-kernel convolution or pooling of ``stride``."""
    return math.ceil(grid[0] / stride), math.ceil(grid[1] / stride)


def init_conv_bn(model: nn.Module) -> None:
    """torchvision's ResNet initialisation: Kaiming-normal (fan-out) convolutions, BN weight 1 and bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
