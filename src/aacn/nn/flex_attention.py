"""FlexAttention path: the relative logits enter as a ``score_mod`` that reads the per-query 1-D terms.

score(i, j) = q_i . k_j + s_h[i, y_j] + s_w[i, x_j], with s_h (B, Nh, HW, H) and s_w (B, Nh, HW, W) from
:func:`relative_logits_nd` (one term per axis on a grid of any number of axes): the (HW)^2 bias never exists in
memory. FlexAttention generates fused kernels through
torch.compile (Triton on CUDA). PyTorch runs it forward-only on CPU, so on CPU this path serves inference.

Head dims: the paper's layers have dkh = 20 and dvh = 1 to 6. torch 2.5 and 2.6 reject head dims that are not
powers of two ("NYI: Currently non power of 2 embedding dimension are not supported"); later releases round them up
inside the kernel, and Triton's matrix products want operands of at least 16. Zero columns change neither q . k nor
(beyond the extra zero columns, dropped) p v, so q and k are padded to a power of two >= 16, v likewise, and the
output cut back: exact on every release. Not yet run on a GPU by this project.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .relative_position import relative_logits_nd

_compiled: Callable[..., Tensor] | None = None


def flex_available() -> bool:
    try:
        from torch.nn.attention.flex_attention import flex_attention  # noqa: F401
    except ImportError:
        return False
    return True


def flex_usable_on(device: torch.device) -> bool:
    """Can FlexAttention train here: CUDA with Triton (its kernels are Triton code) and a torch that has it."""
    if device.type != "cuda" or not flex_available():
        return False
    try:
        from torch.utils._triton import has_triton
    except ImportError:
        return False
    return bool(has_triton())


def _flex() -> Callable[..., Tensor]:
    global _compiled
    if _compiled is None:
        from torch.nn.attention.flex_attention import flex_attention

        _compiled = torch.compile(flex_attention, dynamic=False)
    return _compiled


def supported_head_dim(size: int) -> int:
    """The smallest power of two >= max(size, 16): a head dim every FlexAttention release takes."""
    return max(16, 1 << (size - 1).bit_length())


def _pad_last(t: Tensor, size: int) -> Tensor:
    return t if t.shape[-1] == size else F.pad(t, (0, size - t.shape[-1]))


def flex_relative_attention_nd(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    shape: tuple[int, ...],
    tables: tuple[Tensor, ...] | None = None,
    *,
    pad_head_dims: bool = True,
) -> Tensor:
    """softmax(q k^T + sum_a S_a) v with FlexAttention on a grid of ``shape``; q pre-scaled. Returns (B, Nh, T, dvh).

    ``pad_head_dims``: zero-pad q, k and v to head dims every release takes (see the module docstring).
    """
    if not flex_available():
        raise RuntimeError(
            f"attention_impl='flex' needs torch.nn.attention.flex_attention (torch >= 2.5), have {torch.__version__}"
        )
    if q.device.type == "cpu" and torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        raise RuntimeError("attention_impl='flex' runs forward-only on CPU; use it under torch.no_grad() or on CUDA")
    batch, heads, tokens = q.shape[0], q.shape[1], q.shape[2]
    score_mod = None
    if tables is not None:
        terms = relative_logits_nd(q.reshape(batch, heads, *shape, -1), tuple(t.to(q.dtype) for t in tables))
        terms = [term.reshape(batch, heads, tokens, length) for term, length in zip(terms, shape, strict=True)]
        # the key's coordinate on axis a: (key // stride_a) % L_a, strides of the row-major grid
        strides = [math.prod(shape[a + 1 :]) for a in range(len(shape))]

        def score_mod(score: Tensor, b: Tensor, h: Tensor, query: Tensor, key: Tensor) -> Tensor:
            for term, stride, length in zip(terms, strides, shape, strict=True):
                score = score + term[b, h, query, (key // stride) % length]
            return score

    value_dim = v.shape[-1]
    if pad_head_dims:
        key_dim = supported_head_dim(q.shape[-1])
        q, k, v = _pad_last(q, key_dim), _pad_last(k, key_dim), _pad_last(v, supported_head_dim(value_dim))
    out = _flex()(q, k, v, score_mod=score_mod, scale=1.0)
    return out[..., :value_dim]


def flex_relative_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
    *,
    pad_head_dims: bool = True,
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v with FlexAttention; q pre-scaled (:func:`flex_relative_attention_nd` in 2-D)."""
    tables = (rel_h, rel_w) if rel_h is not None and rel_w is not None else None
    return flex_relative_attention_nd(q, k, v, (height, width), tables, pad_head_dims=pad_head_dims)
