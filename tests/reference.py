"""An independent brute-force AugmentedConv2d, written from the paper's equations with explicit pixel pairs.

Deliberately slow and literal: per (query pixel, key pixel) pair it looks up the relative table rows of the offsets
y_j - y_i and x_j - x_i, per head it slices that head's own channel block. It shares no code with aacn.nn.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _pointwise(weight: Tensor, bias: Tensor | None, x: Tensor) -> Tensor:
    """A 1x1 convolution written as a per-pixel matrix product: (B, C_in, H, W) -> (B, C_out, H, W)."""
    out = torch.einsum("oc,bchw->bohw", weight[:, :, 0, 0], x)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out


def reference_attention(layer, x: Tensor) -> tuple[Tensor, Tensor]:
    """MHA(X) of the paper on the grid of ``x`` (no pooling): returns (B, dv, H, W) and weights (B, Nh, HW, HW)."""
    batch, _, height, width = x.shape
    heads, dk, dv = layer.num_heads, layer.dk, layer.dv
    dkh, dvh = dk // heads, dv // heads
    qkv = _pointwise(layer.qkv.weight, layer.qkv.bias, x)
    q, k, v = qkv[:, :dk], qkv[:, dk : 2 * dk], qkv[:, 2 * dk :]
    if layer.relative:
        max_h, max_w = layer.max_size
    pixels = [(y, xx) for y in range(height) for xx in range(width)]
    n = len(pixels)
    weights = torch.zeros(batch, heads, n, n, dtype=x.dtype)
    heads_out = torch.zeros(batch, dv, height, width, dtype=x.dtype)
    for h in range(heads):
        qh = q[:, h * dkh : (h + 1) * dkh]  # (B, dkh, H, W): head h's own channels
        kh = k[:, h * dkh : (h + 1) * dkh]
        vh = v[:, h * dvh : (h + 1) * dvh]
        for i, (yi, xi) in enumerate(pixels):
            logits = torch.zeros(batch, n, dtype=x.dtype)
            for j, (yj, xj) in enumerate(pixels):
                qi = qh[:, :, yi, xi]
                logit = (qi * kh[:, :, yj, xj]).sum(1)
                if layer.relative:
                    logit = logit + (qi * layer.rel_h[yj - yi + max_h - 1]).sum(1)
                    logit = logit + (qi * layer.rel_w[xj - xi + max_w - 1]).sum(1)
                logits[:, j] = logit / math.sqrt(dkh)
            w = torch.softmax(logits, dim=1)  # (B, HW)
            weights[:, h, i] = w
            values = torch.stack([vh[:, :, yj, xj] for (yj, xj) in pixels], dim=1)  # (B, HW, dvh)
            heads_out[:, h * dvh : (h + 1) * dvh, yi, xi] = torch.einsum("bj,bjc->bc", w, values)
    out = _pointwise(layer.proj.weight, layer.proj.bias, heads_out)
    return out, weights


def reference_augmented_conv(layer, x: Tensor) -> Tensor:
    """AAConv(X) = Concat[Conv(X), MHA(X)] with the project's stride and downsampling policy."""
    parts = []
    if layer.conv is not None:
        pad = layer.kernel_size // 2
        parts.append(F.conv2d(x, layer.conv.weight, layer.conv.bias, stride=layer.stride, padding=pad))
    if layer.dv > 0:
        a = x
        if layer.stride > 1:
            a = F.avg_pool2d(a, layer.stride, layer.stride, ceil_mode=True)
        size = a.shape[-2:]
        if layer.attn_downsample:
            a = F.avg_pool2d(a, 3, 2, padding=1, count_include_pad=False)
        out, _ = reference_attention(layer, a)
        if layer.attn_downsample:
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        parts.append(out)
    return torch.cat(parts, dim=1)
