"""Multi-head self-attention with relative position logits on a grid of 1, 2 or 3 axes: the eager reference path and
the dispatch between it and the chunked, FlexAttention and SDPA paths (:func:`attend_nd`; :func:`attend` and
:func:`relative_attention` are the 2-D forms).

Shapes: B batch, Nh heads, a grid of shape (L_1, ..., L_N) (T = prod tokens; 2-D: H x W, HW tokens), dkh / dvh key
/ value channels per head.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor

from .relative_position import relative_bias_nd


def relative_attention_nd(
    q: Tensor, k: Tensor, v: Tensor, shape: tuple[int, ...], tables: tuple[Tensor, ...] | None = None
) -> tuple[Tensor, Tensor]:
    """softmax(q k^T + sum_a S_a) v per head on an N-D grid of ``shape``, returning the output and the weights.

    q, k: (B, Nh, T, dkh) with T = prod(shape), q already multiplied by dkh ** -0.5 (so the scale applies to the
    relative logits too); v: (B, Nh, T, dvh); ``tables``: one (2 L_a - 1, dkh) table per axis, cut to this grid,
    or None for content-only attention. Returns out (B, Nh, T, dvh) and weights (B, Nh, T, T), rows summing to one.
    """
    batch, heads, tokens = q.shape[0], q.shape[1], q.shape[2]
    if tables is not None:
        # The relative bias fused into the q k^T product. Out of place on purpose: in-place adds on a view of the
        # logits make autograd copy the whole (T)^2 gradient once per add in backward.
        bias = relative_bias_nd(q, shape, tables).view(batch * heads, tokens, tokens)
        logits = torch.baddbmm(
            bias, q.reshape(batch * heads, tokens, -1), k.reshape(batch * heads, tokens, -1).transpose(-1, -2)
        )
        logits = logits.view(batch, heads, tokens, tokens)
    else:
        logits = q @ k.transpose(-1, -2)  # (B, Nh, T, T)
    # Softmax in at least float32 whatever the autocast dtype: low-precision exp over T keys loses too much.
    weights = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32)).to(v.dtype)
    return weights @ v, weights


def relative_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """softmax(q k^T + S_H + S_W) v per head on an H x W grid (:func:`relative_attention_nd` in 2-D).

    q, k: (B, Nh, HW, dkh), q pre-scaled; v: (B, Nh, HW, dvh); rel_h: (2H - 1, dkh) and rel_w: (2W - 1, dkh) cut to
    this grid, or None for content-only. Returns out (B, Nh, HW, dvh) and weights (B, Nh, HW, HW).
    """
    return relative_attention_nd(q, k, v, (height, width), _tables(rel_h, rel_w))


def _tables(*tables: Tensor | None) -> tuple[Tensor, ...] | None:
    return tables if all(t is not None for t in tables) else None  # type: ignore[return-value]


ATTENTION_IMPLS = ("auto", "eager", "chunked", "flex", "sdpa")
# From this many tokens the chunked path recomputes the softmax in backward instead of keeping it (memory linear in
# HW from here on); below, the (B, Nh, HW, HW) softmax is small and keeping it skips the recompute.
CHUNKED_MIN_TOKENS = 256
# Target elements of one tile's (matrices, rows, HW) logits. Tiles of whole matrices, as many as fit: on CPU the
# fastest tile or within 6% of it at every CIFAR and ImageNet grid in bfloat16, and in float32 from 28x28 on
# (docs/benchmarks.md, "Tile size").
TILE_ELEMENTS = 1 << 22


def _tracing(q: Tensor) -> bool:
    """Under any tracer, keep to plain tensor ops: torch.compile / torch.export (Dynamo), fx.symbolic_trace (q is then
    a Proxy), torch.jit.trace and the TorchScript-based torch.onnx.export. None of them records the chunked path's
    custom autograd function (jit.trace fails inside it with an internal error), and all of them see eager's ops."""
    compiling = getattr(torch.compiler, "is_compiling", None)
    if (compiling and compiling()) or isinstance(q, torch.fx.Proxy):
        return True
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def default_tile_rows(tokens: int) -> int:
    """Query rows per tile: whole matrices while a matrix's logits fit TILE_ELEMENTS, else that many values."""
    return max(16, min(tokens, TILE_ELEMENTS // max(1, tokens)))


def default_tile_matrices(tile_rows: int, tokens: int) -> int:
    """Matrices (batch x heads) per tile of ``tile_rows`` query rows: about TILE_ELEMENTS logits in all."""
    return max(1, TILE_ELEMENTS // max(1, tile_rows * tokens))


def attend(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
    *,
    impl: str = "auto",
    need_weights: bool = False,
    tile_rows: int | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Relative attention on an H x W grid by the chosen path (:func:`attend_nd` in 2-D)."""
    return attend_nd(q, k, v, (height, width), _tables(rel_h, rel_w), impl=impl, need_weights=need_weights,
                     tile_rows=tile_rows)  # fmt: skip


def attend_nd(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    shape: tuple[int, ...],
    tables: tuple[Tensor, ...] | None = None,
    *,
    impl: str = "auto",
    need_weights: bool = False,
    tile_rows: int | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Relative attention on a grid of ``shape`` by the chosen path; returns the output and, with ``need_weights``,
    the weights.

    ``eager``: plain tensor ops, every T^2 intermediate stored by autograd (the reference).
    ``chunked``: tiles with a custom backward; from CHUNKED_MIN_TOKENS tokens it recomputes the softmax in backward
    (memory linear in T), below it keeps the softmax (small there). Any device; the CPU default.
    ``flex``: FlexAttention with a relative ``score_mod`` (CUDA training, CPU inference).
    ``sdpa``: scaled_dot_product_attention with the relative logits as an additive mask.
    ``auto``: on CUDA, ``flex`` where FlexAttention and Triton are present (``sdpa`` otherwise, and from then on if
    flex fails to build); elsewhere ``chunked``. Under any tracer (torch.compile, torch.export, fx, jit.trace, ONNX
    export; they then see plain tensor ops) and when the weights are asked for, always ``eager``. All paths compute
    the same function; the tests hold them equal.
    """
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"attention_impl must be one of {', '.join(ATTENTION_IMPLS)}, got {impl!r}")
    if need_weights or impl == "eager" or _tracing(q):
        out, weights = relative_attention_nd(q, k, v, shape, tables)
        return out, (weights if need_weights else None)
    chosen = _auto_impl(q.device, q.dtype) if impl == "auto" else impl
    if chosen == "flex":
        return _flex_or_fallback(q, k, v, shape, tables, fallback=impl == "auto"), None
    if chosen == "sdpa":
        from .sdpa_attention import sdpa_relative_attention_nd

        return sdpa_relative_attention_nd(q, k, v, shape, tables), None
    from .chunked_attention import chunked_relative_attention_nd

    tokens = math.prod(shape)
    tile_rows = tile_rows or default_tile_rows(tokens)
    tile_matrices = default_tile_matrices(tile_rows, tokens)
    keep = tokens < CHUNKED_MIN_TOKENS
    return chunked_relative_attention_nd(
        q, k, v, shape, tables, tile_rows, tile_matrices, keep_probabilities=keep
    ), None


# Set when FlexAttention failed to build on this process's CUDA device: auto then takes SDPA for good.
_flex_failed: str | None = None


# FlexAttention's CUDA kernels are built for these; others (float64) take SDPA.
FLEX_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _auto_impl(device: torch.device, dtype: torch.dtype = torch.float32) -> str:
    if device.type == "cuda":
        from .flex_attention import flex_usable_on

        usable = _flex_failed is None and dtype in FLEX_DTYPES and flex_usable_on(device)
        return "flex" if usable else "sdpa"
    return "chunked"


def _flex_or_fallback(
    q: Tensor, k: Tensor, v: Tensor, shape: tuple[int, ...], tables: tuple[Tensor, ...] | None, *, fallback: bool
) -> Tensor:
    """FlexAttention; when auto chose it and it fails to build, one warning and the SDPA path from then on."""
    global _flex_failed
    from .flex_attention import flex_relative_attention_nd

    if not fallback:
        return flex_relative_attention_nd(q, k, v, shape, tables)
    try:
        return flex_relative_attention_nd(q, k, v, shape, tables)
    except Exception as error:  # a compiler or kernel failure of any kind: the fallback computes the same function
        _flex_failed = f"{type(error).__name__}: {error}"
        warnings.warn(
            f"FlexAttention failed on {q.device} ({_flex_failed.splitlines()[0][:300]}); attention_impl='auto' "
            f"uses the SDPA path from now on. Pass attention_impl='flex' to see the full error.",
            RuntimeWarning,
            stacklevel=3,
        )
    from .sdpa_attention import sdpa_relative_attention_nd

    return sdpa_relative_attention_nd(q, k, v, shape, tables)
