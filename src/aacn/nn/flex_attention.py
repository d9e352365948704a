"""FlexAttention path: the relative logits enter as a ``score_mod`` that reads the per-query 1-D terms.

score(i, j) = q_i . k_j + s_h[i, y_j] + s_w[i, x_j], with s_h (B, Nh, HW, H) and s_w (B, Nh, HW, W) from
:func:`relative_logits_2d`: the (HW)^2 bias never exists in memory. FlexAttention generates fused kernels through
torch.compile. PyTorch runs it forward-only on CPU, so on CPU this path serves inference; training with it needs CUDA.
It is opt-in (``attention_impl="flex"``) until it has been measured on a GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .relative_position import relative_logits_2d

_compiled: Callable[..., Tensor] | None = None


def flex_available() -> bool:
    try:
        from torch.nn.attention.flex_attention import flex_attention  # noqa: F401
    except ImportError:
        return False
    return True


def _flex() -> Callable[..., Tensor]:
    global _compiled
    if _compiled is None:
        from torch.nn.attention.flex_attention import flex_attention

        _compiled = torch.compile(flex_attention, dynamic=False)
    return _compiled


def flex_relative_attention(
    q: Tensor, k: Tensor, v: Tensor, height: int, width: int, rel_h: Tensor | None = None, rel_w: Tensor | None = None
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v with FlexAttention; q pre-scaled. Returns (B, Nh, HW, dvh)."""
    if not flex_available():
        raise RuntimeError(
            f"attention_impl='flex' needs torch.nn.attention.flex_attention (torch >= 2.5), have {torch.__version__}"
        )
    if q.device.type == "cpu" and torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        raise RuntimeError("attention_impl='flex' runs forward-only on CPU; use it under torch.no_grad() or on CUDA")
    batch, heads, tokens = q.shape[0], q.shape[1], q.shape[2]
    score_mod = None
    if rel_h is not None and rel_w is not None:
        s_h, s_w = relative_logits_2d(q.reshape(batch, heads, height, width, -1), rel_h, rel_w)
        s_h = s_h.reshape(batch, heads, tokens, height)
        s_w = s_w.reshape(batch, heads, tokens, width)

        def score_mod(score: Tensor, b: Tensor, h: Tensor, query: Tensor, key: Tensor) -> Tensor:
            return score + s_h[b, h, query, key // width] + s_w[b, h, query, key % width]

    return _flex()(q, k, v, score_mod=score_mod, scale=1.0)
