"""SDPA path: the relative logits as an additive float mask of torch's scaled_dot_product_attention.

The (B, Nh, HW, HW) bias is built by broadcasting the two 1-D terms (as in the eager path) and handed to SDPA, whose
fused CUDA kernels (memory-efficient attention accepts a float bias and returns its gradient) skip the stored
logits, softmax and weights of the eager path. The bias itself, and its gradient, are still (HW)^2 per head: this is
the CUDA fallback where FlexAttention, whose ``score_mod`` never materialises the bias, is not available.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .relative_position import relative_bias_nd


def sdpa_relative_attention_nd(
    q: Tensor, k: Tensor, v: Tensor, shape: tuple[int, ...], tables: tuple[Tensor, ...] | None = None
) -> Tensor:
    """softmax(q k^T + sum_a S_a) v with scaled_dot_product_attention on a grid of ``shape``; q pre-scaled. Returns
    (B, Nh, T, dvh)."""
    bias = None
    if tables is not None:
        bias = relative_bias_nd(q, shape, tuple(t.to(q.dtype) for t in tables))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)


def sdpa_relative_attention(
    q: Tensor, k: Tensor, v: Tensor, height: int, width: int, rel_h: Tensor | None = None, rel_w: Tensor | None = None
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v with scaled_dot_product_attention; q pre-scaled. Returns (B, Nh, HW, dvh)."""
    tables = (rel_h, rel_w) if rel_h is not None and rel_w is not None else None
    return sdpa_relative_attention_nd(q, k, v, (height, width), tables)
