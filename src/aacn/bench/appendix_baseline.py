"""The benchmarks' baseline: a literal PyTorch port of the paper's appendix algorithm, as public ports write it.

Bello et al. (2019), Appendix: relative logits are computed against all 2L - 1 table rows, turned from relative to
absolute indexing by the pad-reshape-slice "skew" (rel_to_abs), then `tile`d (here `repeat`) to a full
(B, Nh, HW, HW) tensor for each of the height and width terms before being added to the logits. This is the memory
profile that runs out of memory in the public implementations; it is kept here only to measure against.

It uses AugmentedConv2d's parameters (same names and layout), so both compute the same function on the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def rel_to_abs(x: Tensor) -> Tensor:
    """(B, Nh, L, 2L - 1) relative logits -> (B, Nh, L, L) absolute ones (the appendix's skew)."""
    batch, heads, length, _ = x.shape
    x = torch.cat([x, x.new_zeros(batch, heads, length, 1)], dim=3)
    flat = x.reshape(batch, heads, length * 2 * length)
    flat = torch.cat([flat, flat.new_zeros(batch, heads, length - 1)], dim=2)
    return flat.reshape(batch, heads, length + 1, 2 * length - 1)[:, :, :length, length - 1 :]


def relative_logits_1d(q: Tensor, rel_k: Tensor, height: int, width: int, heads: int, permute: list[int]) -> Tensor:
    """q: (B, Nh, H, W, dkh); rel_k: (2W - 1, dkh) -> (B, Nh, HW, HW), tiled over H."""
    logits = torch.einsum("bhxyd,md->bhxym", q, rel_k)
    logits = logits.reshape(-1, heads * height, width, 2 * width - 1)
    logits = rel_to_abs(logits)
    logits = logits.reshape(-1, heads, height, width, width).unsqueeze(3)
    logits = logits.repeat(1, 1, 1, height, 1, 1)
    logits = logits.permute(*permute)
    return logits.reshape(-1, heads, height * width, height * width)


def appendix_forward(layer: nn.Module, x: Tensor) -> Tensor:
    """AAConv(X) of ``layer`` (an AugmentedConv2d, stride 1, no downsampling) computed the appendix's way."""
    batch, _, height, width = x.shape
    heads, dk, dv = layer.num_heads, layer.dk, layer.dv
    dkh, dvh = dk // heads, dv // heads
    conv_out = F.conv2d(x, layer.conv.weight, layer.conv.bias, padding=layer.kernel_size // 2)
    q, k, v = torch.split(layer.qkv(x), [dk, dk, dv], dim=1)
    q = q * dkh**-0.5
    # split_heads_2d on NHWC, as the appendix does: (B, H, W, Nh, d) -> (B, Nh, H, W, d)
    q = q.permute(0, 2, 3, 1).reshape(batch, height, width, heads, dkh).permute(0, 3, 1, 2, 4)
    k = k.permute(0, 2, 3, 1).reshape(batch, height, width, heads, dkh).permute(0, 3, 1, 2, 4)
    v = v.permute(0, 2, 3, 1).reshape(batch, height, width, heads, dvh).permute(0, 3, 1, 2, 4)
    flat_q = q.reshape(batch, heads, height * width, dkh)
    flat_k = k.reshape(batch, heads, height * width, dkh)
    flat_v = v.reshape(batch, heads, height * width, dvh)
    logits = flat_q @ flat_k.transpose(-1, -2)
    if layer.relative:
        max_h, max_w = layer.max_size
        rel_w = layer.rel_w[max_w - width : max_w + width - 1]
        rel_h = layer.rel_h[max_h - height : max_h + height - 1]
        logits = logits + relative_logits_1d(q, rel_w, height, width, heads, [0, 1, 2, 4, 3, 5])
        logits = logits + relative_logits_1d(q.transpose(2, 3), rel_h, width, height, heads, [0, 1, 4, 2, 5, 3])
    weights = torch.softmax(logits, dim=-1)
    attn = (weights @ flat_v).reshape(batch, heads, height, width, dvh)
    # combine_heads_2d: (B, Nh, H, W, dvh) -> (B, H, W, Nh * dvh) -> NCHW
    attn = attn.permute(0, 2, 3, 1, 4).reshape(batch, height, width, dv).permute(0, 3, 1, 2)
    return torch.cat([conv_out, layer.proj(attn)], dim=1)
