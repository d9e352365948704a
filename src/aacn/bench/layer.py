"""The layer's attention paths against the paper's appendix algorithm, at one shape and as the grid grows."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..nn import AugmentedConv1d, AugmentedConv2d, AugmentedConv3d
from .appendix_baseline import appendix_forward
from .harness import Harness, Measurement, with_ratios

LAYER_CASES: tuple[tuple[str, str | None], ...] = (
    ("appendix baseline", None),  # None: aacn.bench.appendix_baseline on the same parameters
    ("aacn eager", "eager"),
    ("aacn chunked", "chunked"),
    ("aacn sdpa", "sdpa"),
    ("aacn flex", "flex"),  # CUDA only: PyTorch runs FlexAttention forward-only on CPU
)


def train_step(
    module: Callable[[torch.Tensor], torch.Tensor], params: list[nn.Parameter], x: torch.Tensor
) -> Callable[[], None]:
    """Forward and backward of ``module`` on ``x`` against a fixed random output gradient."""
    grad = torch.randn_like(module(x).detach())

    def step() -> None:
        for p in params:
            p.grad = None
        (module(x) * grad).sum().backward()

    return step


def _layer_group(
    group: str, x: torch.Tensor, harness: Harness, channels: int, **layer_kwargs: object
) -> list[Measurement]:
    """Forward+backward of one AugmentedConv2d configuration through every path, the baseline first."""
    steps: dict[str, Callable[[], None]] = {}
    for name, impl in LAYER_CASES:
        if impl == "flex" and harness.device.type != "cuda":
            continue
        layer = AugmentedConv2d(channels, channels, 3, **layer_kwargs).to(harness.device)  # type: ignore[arg-type]
        if impl is None:
            forward: Callable = lambda inp, layer=layer: appendix_forward(layer, inp)  # noqa: E731
        else:
            layer.attention_impl = impl
            forward = layer
        steps[name] = train_step(forward, [*layer.parameters()], x)
    return with_ratios(harness.measure_in_turns(group, steps), "appendix baseline")


def bench_layer(
    harness: Harness, batch: int = 16, channels: int = 128, size: int = 28, dk: int = 160, dv: int = 8, heads: int = 8
) -> list[Measurement]:
    """AugmentedConv2d forward+backward: each attention path and the appendix-algorithm baseline."""
    group = f"layer B={batch} {channels}->{channels} {size}x{size} dk={dk} dv={dv} Nh={heads}"
    torch.manual_seed(0)
    x = torch.randn(batch, channels, size, size, device=harness.device, requires_grad=True)
    return _layer_group(group, x, harness, channels, dk=dk, dv=dv, num_heads=heads, max_size=size)


def bench_grid_scaling(harness: Harness, sizes: tuple[int, ...] = (14, 28, 56), batch: int = 2) -> list[Measurement]:
    """Peak memory and time of one forward+backward as the grid grows (AA-ResNet-50 stage-2 layer, batch 2)."""
    rows: list[Measurement] = []
    for size in sizes:
        group = f"grid {size}x{size} (HW={size * size}) B={batch}"
        x = torch.randn(batch, 128, size, size, device=harness.device, requires_grad=True)
        rows += _layer_group(group, x, harness, 128, dk=160, dv=8, num_heads=8, max_size=size)
    return rows


# 1-D and 3-D layers, each path against the eager one: (name, layer class, batch, grid)
ND_CASES = (
    ("sequence", AugmentedConv1d, 8, (512,)),
    ("volume", AugmentedConv3d, 4, (4, 12, 12)),
)


def bench_layer_nd(
    harness: Harness, channels: int = 128, dk: int = 160, dv: int = 8, heads: int = 8
) -> list[Measurement]:
    """AugmentedConv1d on a sequence of 512 steps and AugmentedConv3d on a 4x12x12 volume (576 positions),
    forward+backward through each path, against the eager path."""
    rows: list[Measurement] = []
    for name, layer_class, batch, grid in ND_CASES:
        group = f"{name} B={batch} {channels}->{channels} {'x'.join(map(str, grid))} dk={dk} dv={dv} Nh={heads}"
        torch.manual_seed(0)
        x = torch.randn(batch, channels, *grid, device=harness.device, requires_grad=True)
        steps: dict[str, Callable[[], None]] = {}
        for impl in ("eager", "chunked", "sdpa"):
            layer = layer_class(channels, channels, 3, dk=dk, dv=dv, num_heads=heads, max_size=grid,
                                attention_impl=impl).to(harness.device)  # fmt: skip
            steps[f"aacn {impl}"] = train_step(layer, [*layer.parameters()], x)
        rows += with_ratios(harness.measure_in_turns(group, steps), "aacn eager")
    return rows
