"""SDPA path: the relative logits as an additive float mask of torch's scaled_dot_product_attention.

The (B, Nh, HW, HW) bias is built by broadcasting the two 1-D terms (as in the eager path) and handed to SDPA, whose
fused CUDA kernels (memory-efficient attention accepts a float bias and returns its gradient) skip the stored
logits, softmax and weights of the eager path. The bias itself, and its gradient, are still (HW)^2 per head: this is
the CUDA fallback where FlexAttention, whose ``score_mod`` never materialises the bias, is not available.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .relative_position import relative_bias


def sdpa_relative_attention(
    q: Tensor, k: Tensor, v: Tensor, height: int, width: int, rel_h: Tensor | None = None, rel_w: Tensor | None = None
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v with scaled_dot_product_attention; q pre-scaled. Returns (B, Nh, HW, dvh)."""
    bias = None
    if rel_h is not None and rel_w is not None:
        bias = relative_bias(q, height, width, rel_h.to(q.dtype), rel_w.to(q.dtype))
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
