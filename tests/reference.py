"""An independent brute-force augmented convolution, written from the paper's equations with explicit position pairs,
on grids of 1, 2 or 3 axes (the paper's layer is the 2-D case).

Deliberately slow and literal: per (query position, key position) pair it looks up, for each axis, the relative
table row of the offset along that axis, and per head it slices that head's own channel block. It shares no code
with aacn.nn.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

TABLES = {1: ("rel_l",), 2: ("rel_h", "rel_w"), 3: ("rel_d", "rel_h", "rel_w")}


def _pointwise(weight: Tensor, bias: Tensor | None, x: Tensor) -> Tensor:
    """A 1x1 convolution written as a per-position matrix product: (B, C_in, *grid) -> (B, C_out, *grid)."""
    out = torch.einsum("oc,bc...->bo...", weight.reshape(weight.shape[0], weight.shape[1]), x)
    if bias is not None:
        out = out + bias.view(1, -1, *([1] * (x.dim() - 2)))
    return out


def _with_absolute_positions(layer, x: Tensor) -> Tensor:
    """The attention input with the layer's absolute encoding, position by position from the definitions: coordconv
    appends one channel per axis running from -1 to 1; sine adds, for channel c of C (C / N channels per axis in
    order, sines then cosines), sin or cos of the coordinate times 10000 ** (-2i / (C / N))."""
    encoding = getattr(layer, "position_encoding", "relative")
    batch, channels, *sides = x.shape
    positions = list(itertools.product(*[range(n) for n in sides]))
    if encoding == "coordconv":
        coords = torch.zeros(batch, len(sides), *sides, dtype=x.dtype)
        for p in positions:
            for axis, n in enumerate(sides):
                coords[(slice(None), axis, *p)] = -1 + 2 * p[axis] / (n - 1) if n > 1 else 0.0
        return torch.cat([x, coords], dim=1)
    if encoding == "sine":
        share = channels // len(sides)
        encoded = x.clone()
        for c in range(channels):
            axis, within = divmod(c, share)
            frequency = 10000.0 ** (-2 * (within % (share // 2)) / share)
            wave = math.sin if within < share // 2 else math.cos
            for p in positions:
                encoded[(slice(None), c, *p)] += wave(p[axis] * frequency)
        return encoded
    return x


def reference_attention(layer, x: Tensor) -> tuple[Tensor, Tensor]:
    """MHA(X) of the paper on the grid of ``x`` (no pooling): returns (B, dv, *grid) and weights (B, Nh, T, T)."""
    batch, _, *sides = x.shape
    heads, dk, dv = layer.num_heads, layer.dk, layer.dv
    dkh, dvh = dk // heads, dv // heads
    qkv = _pointwise(layer.qkv.weight, layer.qkv.bias, _with_absolute_positions(layer, x))
    q, k, v = qkv[:, :dk], qkv[:, dk : 2 * dk], qkv[:, 2 * dk :]
    tables = [getattr(layer, name) for name in TABLES[len(sides)]] if layer.relative else []
    positions = list(itertools.product(*[range(n) for n in sides]))
    n = len(positions)
    weights = torch.zeros(batch, heads, n, n, dtype=x.dtype)
    heads_out = torch.zeros(batch, dv, *sides, dtype=x.dtype)
    at = lambda t, p: t[(slice(None), slice(None), *p)]  # noqa: E731  (B, channels) at position p
    for h in range(heads):
        qh = q[:, h * dkh : (h + 1) * dkh]  # (B, dkh, *grid): head h's own channels
        kh = k[:, h * dkh : (h + 1) * dkh]
        vh = v[:, h * dvh : (h + 1) * dvh]
        for i, pi in enumerate(positions):
            logits = torch.zeros(batch, n, dtype=x.dtype)
            qi = at(qh, pi)
            for j, pj in enumerate(positions):
                logit = (qi * at(kh, pj)).sum(1)
                for axis, table in enumerate(tables):
                    largest = layer.max_size[axis]
                    logit = logit + (qi * table[pj[axis] - pi[axis] + largest - 1]).sum(1)
                logits[:, j] = logit / math.sqrt(dkh)
            w = torch.softmax(logits, dim=1)  # (B, T)
            weights[:, h, i] = w
            values = torch.stack([at(vh, pj) for pj in positions], dim=1)  # (B, T, dvh)
            heads_out[(slice(None), slice(h * dvh, (h + 1) * dvh), *pi)] = torch.einsum("bj,bjc->bc", w, values)
    out = _pointwise(layer.proj.weight, layer.proj.bias, heads_out)
    return out, weights


POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


def reference_augmented_conv(layer, x: Tensor) -> Tensor:
    """AAConv(X) = Concat[Conv(X), MHA(X)] with the project's stride and downsampling policy."""
    dims = x.dim() - 2
    parts = []
    if layer.conv is not None:
        pad = layer.kernel_size // 2
        parts.append(CONV[dims](x, layer.conv.weight, layer.conv.bias, stride=layer.stride, padding=pad))
    if layer.dv > 0:
        a = x
        if layer.stride > 1:  # the mean over each stride-wide window, clipped to the input
            window = tuple(min(layer.stride, side) for side in a.shape[2:])
            a = POOL[dims](a, window, layer.stride, ceil_mode=True)
        size = a.shape[2:]
        if layer.attn_downsample:
            a = POOL[dims](a, 3, 2, padding=1, count_include_pad=False)
        out, _ = reference_attention(layer, a)
        if layer.attn_downsample:
            out = F.interpolate(out, size=size, mode=MODE[dims], align_corners=False)
        parts.append(out)
    return torch.cat(parts, dim=1)
