"""aacn's layer against the self-attention layers users would otherwise pick: timm's BottleneckAttn (BoTNet) and
HaloAttn, at the same grid, heads and depths.

aacn runs fully attentional (``dv = out_channels``: no convolution branch), so that all three compute multi-head
attention over the same tokens, 128 -> 128 channels, 8 heads of 16 key and 16 value dims. What differs:

- ``BottleneckAttn`` attends globally with 2-D relative logits like aacn, but is built for one feature size, and
  turns its relative logits from relative to absolute indexing by pad-and-reshape into a full (HW)^2 tensor per
  (batch, head), which autograd keeps, with the logits and the softmax.
- ``HaloAttn`` attends locally: each block of ``block_size`` x ``block_size`` queries attends to its block plus a
  ``halo_size`` border, with relative logits over that window, so its cost is linear in HW but it sees no farther.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

import torch
from torch import nn

from ..nn import AugmentedConv2d
from .harness import Harness, Measurement, with_ratios
from .layer import train_step

# (grid side, batch): the CIFAR stage-2 grid at a CIFAR batch, and ImageNet's 28x28 and 56x56 at batch 8
PEER_GRIDS: tuple[tuple[int, int], ...] = ((16, 32), (28, 8), (56, 8))
HALO_SIZE = 3


def halo_block_size(side: int) -> int:
    """HaloAttn needs the grid divisible by its block: 8 (timm's default) where it divides, else 7."""
    return 8 if side % 8 == 0 else 7


def _forward_only(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.no_grad():
            module(x)

    return step


def peer_layers(side: int, channels: int, heads: int, dim_head: int, device: torch.device) -> dict[str, nn.Module]:
    """The three layers at one grid, on ``device`` (timm must be importable)."""
    from timm.layers.bottleneck_attn import BottleneckAttn
    from timm.layers.halo_attn import HaloAttn

    block = halo_block_size(side)
    return {
        "timm BottleneckAttn": BottleneckAttn(channels, channels, feat_size=(side, side), num_heads=heads,
                                              dim_head=dim_head),
        f"timm HaloAttn (block {block}, halo {HALO_SIZE})": HaloAttn(channels, channels, feat_size=(side, side),
                                                                    num_heads=heads, dim_head=dim_head,
                                                                    block_size=block, halo_size=HALO_SIZE),
        "aacn fully attentional": AugmentedConv2d(channels, channels, 3, dk=heads * dim_head, dv=channels,
                                                  num_heads=heads, max_size=side),
    }  # fmt: skip


def bench_peers(
    harness: Harness, grids: tuple[tuple[int, int], ...] = PEER_GRIDS, channels: int = 128, heads: int = 8,
    dim_head: int = 16,
) -> list[Measurement]:  # fmt: skip
    """Forward+backward and forward-only time and peak memory of each layer, float32, BottleneckAttn the reference."""
    if importlib.util.find_spec("timm") is None:
        print("aacn bench --peers: timm is not installed, peers left out (pip install 'aacn[timm]')", file=sys.stderr)
        return []
    rows: list[Measurement] = []
    for side, batch in grids:
        torch.manual_seed(0)
        layers = {name: layer.to(harness.device) for name, layer in peer_layers(side, channels, heads, dim_head,
                                                                                harness.device).items()}  # fmt: skip
        x = torch.randn(batch, channels, side, side, device=harness.device, requires_grad=True)
        train = {name: train_step(layer, [*layer.parameters()], x) for name, layer in layers.items()}
        rows += harness.measure_in_turns(f"peers forward+backward B={batch} {side}x{side}", train)
        infer = {name: _forward_only(layer, x) for name, layer in layers.items()}
        rows += harness.measure_in_turns(f"peers forward B={batch} {side}x{side}", infer)
    return with_ratios(rows)
