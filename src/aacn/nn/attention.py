"""Multi-head 2-D self-attention with relative position logits: the eager reference path.

Shapes: B batch, Nh heads, H x W grid (HW tokens), dkh / dvh key / value channels per head.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .relative_position import relative_logits_2d


def relative_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """softmax(q k^T + S_H + S_W) v per head, returning the output and the attention weights.

    q, k: (B, Nh, HW, dkh), q already multiplied by dkh ** -0.5 (so the scale applies to the relative logits too);
    v: (B, Nh, HW, dvh); rel_h: (2H - 1, dkh) and rel_w: (2W - 1, dkh) cut to this grid, or None for content-only.
    Returns out (B, Nh, HW, dvh) and weights (B, Nh, HW, HW), rows summing to one.
    """
    logits = q @ k.transpose(-1, -2)  # (B, Nh, HW, HW)
    if rel_h is not None and rel_w is not None:
        batch, heads = q.shape[0], q.shape[1]
        s_h, s_w = relative_logits_2d(q.reshape(batch, heads, height, width, -1), rel_h, rel_w)
        # Broadcast the 1-D terms onto the (H, W, H, W) view of the logits in place: no (HW)^2 copy of them exists.
        grid_logits = logits.view(batch, heads, height, width, height, width)
        grid_logits.add_(s_h.unsqueeze(-1)).add_(s_w.unsqueeze(-2))
    # Softmax in at least float32 whatever the autocast dtype: low-precision exp over HW keys loses too much.
    weights = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32)).to(v.dtype)
    return weights @ v, weights
