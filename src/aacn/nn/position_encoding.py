"""The position encodings the paper compares (its position-encoding ablation on AA-ResNet-50): ``relative`` (the
layer's learned relative logits, the default), ``none`` (content-only attention), ``coordconv`` (coordinate channels
appended to the attention input, Liu et al. 2018) and ``sine`` (sinusoidal encodings added to the attention input,
as in the Image Transformer, Parmar et al. 2018). The last two give absolute positions, so they make the attention
branch depend on where a pattern is, not only on relative offsets. Defined for grids of 1, 2 or 3 axes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

POSITION_ENCODINGS = ("relative", "none", "coordconv", "sine")


def coordinate_channels(x: Tensor) -> Tensor:
    """(B, N, *grid) coordinates of the positions of ``x`` (B, C, *grid), one channel per axis in order (2-D: y then
    x), each running from -1 to 1 (0 for a side of 1)."""
    batch, sides = x.shape[0], x.shape[2:]
    axes = [torch.linspace(-1.0, 1.0, n, device=x.device, dtype=x.dtype) if n > 1 else x.new_zeros(1) for n in sides]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))  # (N, *grid)
    return grid.unsqueeze(0).expand(batch, *grid.shape)


def sine_encoding(channels: int, shape: tuple[int, ...], like: Tensor) -> Tensor:
    """(1, channels, *shape) sinusoidal encodings: the channels split evenly among the N axes in order (2-D: y's
    first half, then x's), each axis's share as sines then cosines at frequencies 10000 ** (-2i / share).
    ``channels`` must be a multiple of 2N."""
    dims = len(shape)
    if channels % (2 * dims):
        raise ValueError(f"sine position encodings need the attention input's channels divisible by {2 * dims}, "
                         f"got {channels}")  # fmt: skip
    share = channels // dims
    work = torch.promote_types(like.dtype, torch.float32)  # float64 stays float64; low precision computes in float32
    frequencies = torch.exp(torch.arange(share // 2, device=like.device, dtype=work) * (-2 * math.log(10000.0) / share))
    parts = []
    for axis, length in enumerate(shape):
        angles = frequencies.unsqueeze(1) * torch.arange(length, device=like.device, dtype=work)  # (share/2, L_a)
        wave = torch.cat([angles.sin(), angles.cos()])  # (share, L_a)
        view = [share] + [length if b == axis else 1 for b in range(dims)]
        parts.append(wave.view(view).expand(share, *shape))
    return torch.cat(parts).unsqueeze(0).to(like.dtype)
