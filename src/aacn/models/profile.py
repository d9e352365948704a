"""Parameter and FLOP counts of a model, measured with PyTorch's own ``torch.utils.flop_counter``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..nn import using_attention_impl


@dataclass(frozen=True)
class Profile:
    """params: learnable parameters; flops: 2 x multiply-adds of one forward pass of one image."""

    params: int
    flops: int

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def gflops(self) -> float:
        return self.flops / 1e9


def _input_channels(model: nn.Module) -> int:
    """The channels the model's first convolution takes (3 where it has none)."""
    first = next((m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)), None)
    return first.in_channels if first is not None else 3


def profile(model: nn.Module, input_size: int | tuple[int, ...] = 224) -> Profile:
    """Count ``model``'s parameters and the FLOPs of a forward pass on one input: a (C, H, W) image, or a (C, L)
    sequence for a 1-D model (C: the model's input channels).

    FLOPs are 2 x multiply-adds of every convolution and matrix product (the attention's q k^T, relative logits and
    weights @ v included), as counted by ``torch.utils.flop_counter.FlopCounterMode``; element-wise work, softmax
    and pooling are not counted (as in the paper's tables). Augmented layers are counted on their eager path, the
    operator as written (q k^T, the O(HW (H + W)) relative logits, weights @ v), whichever path they run. The input
    lives on the model's device, so a model built under ``torch.device("meta")`` is counted without allocating or
    computing anything.
    """
    dims = getattr(model, "spatial_dims", 2)
    channels = _input_channels(model)
    if isinstance(input_size, int):
        shape = (channels, *([input_size] * dims))
    elif len(input_size) == dims:
        shape = (channels, *input_size)
    elif len(input_size) == dims + 1:
        shape = tuple(input_size)
    else:
        axes = "L" if dims == 1 else "H, W"
        raise ValueError(f"input_size must be S, ({axes}) or (C, {axes}), got {input_size!r}")
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    x = torch.zeros(1, *shape, device=device, dtype=dtype)
    was_training = model.training
    model.eval()
    try:
        # count the operator's own formulation, whichever path the model runs
        with using_attention_impl(model, "eager"), torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return Profile(params=sum(p.numel() for p in model.parameters()), flops=counter.get_total_flops())
