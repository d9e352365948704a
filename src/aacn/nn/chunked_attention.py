"""Memory-lean relative attention: tiles of queries, a custom backward that recomputes instead of storing.

Forward keeps only the output; no (HW)^2 tensor outlives a tile. Backward recomputes each tile's logits and softmax
from q, k and the tables (flash-attention style, with the same kernels on the same inputs, so p is bit-identical),
so peak memory is O(tile) = about TILE_ELEMENTS logits instead of several (B, Nh, HW, HW) tensors, and the passes
over a tile stay in cache.

A tile is ``tile_matrices`` of the N = B * Nh (batch, head) matrices x ``tile_rows`` query rows. Relative logits of
a tile are one matrix product with each whole table, q (2L - 1 rows)^T, from which each query gathers the L entries
of its own offsets: GEMMs and a gather, no per-query embedding copies. The tile's (C, H, W) bias is built once from
the two 1-D terms by broadcasting and the q k^T product is accumulated onto it in place (baddbmm_); the softmax then
runs in place over it.

Gradients, with p = softmax(l) per query row, dO the output gradient and delta_i = sum_c dO_ic O_ic:
    dV = p^T dO;  dS = p * (dO V^T - delta);  dk = dS^T q;  dq = dS k + G_h r_h + G_w r_w;  dr_h = G_h^T q
where G_h[i, y' - y_i + H - 1] = sum over key columns of dS[i, (y', .)] (the gather's scatter-add), likewise G_w
over key rows. q arrives scaled by dkh ** -0.5.

All products are 3-D bmm's with contiguous operands made once per call (k^T, v^T): 4-D matmuls on transposed views
copied k^T for every tile.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def _gather_index(positions: Tensor, length: int) -> Tensor:
    """index[c, j] = j - positions[c] + length - 1: the table row of the offset from query c to key position j."""
    return torch.arange(length, device=positions.device).unsqueeze(0) - positions.unsqueeze(1) + (length - 1)


class _Tables:
    """The relative tables of one call and the 1-D relative logits of a tile of queries."""

    def __init__(self, rel_h: Tensor, rel_w: Tensor, height: int, width: int) -> None:
        self.rel_h, self.rel_w = rel_h, rel_w  # (2H - 1, d), (2W - 1, d)
        self.height, self.width = height, width

    def logits_1d(self, q_tile: Tensor, index_h: Tensor, index_w: Tensor) -> tuple[Tensor, Tensor]:
        """s_h (n, C, H) and s_w (n, C, W): each query's dot products with the rows of its own offsets."""
        n, count = q_tile.shape[:2]
        s_h = (q_tile @ self.rel_h.t()).gather(-1, index_h.expand(n, count, self.height))
        s_w = (q_tile @ self.rel_w.t()).gather(-1, index_w.expand(n, count, self.width))
        return s_h, s_w

    def bias(self, s_h: Tensor, s_w: Tensor, out: Tensor) -> Tensor:
        """out (n, C, HW) <- relative bias s_h[c, y] + s_w[c, x] for key (y, x): one broadcast write."""
        n, count = s_h.shape[:2]
        torch.add(s_h.unsqueeze(-1), s_w.unsqueeze(-2), out=out.view(n, count, self.height, self.width))
        return out


class _Workspace:
    """One buffer reused by every tile of a call, handed out as contiguous (n, C, HW) views.

    A fresh 4 MB tensor per tile costs more than the work on it here: the allocator returns such blocks to the
    system, so every tile first-touch faults its pages in again (profiled at a (27, 196, 196) tile on 2 CPU cores:
    the broadcast bias add took 1.75 ms into a fresh tile, 0.47 ms into a reused one).
    """

    def __init__(self, elements: int, like: Tensor) -> None:
        self.flat = like.new_empty(elements)

    def take(self, *shape: int) -> Tensor:
        return self.flat[: math.prod(shape)].view(shape)


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast off inside the function (it picks its own precision); meta and other devices have none."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def _tiles(
    matrices: int, height: int, width: int, tile_rows: int, tile_matrices: int, device: torch.device
) -> Iterator[tuple[slice, slice, Tensor, Tensor]]:
    """(matrix slice, query-row slice, index_h, index_w) of each tile: ``tile_matrices`` of the N matrices x
    ``tile_rows`` query rows.

    Tiling the N = B * Nh matrices too keeps a tile's (tile_matrices, tile_rows, HW) temporaries cache-sized while
    each matrix gets many query rows: the batched GEMMs then pay their per-matrix overhead a few times per matrix,
    not HW / 16.
    """
    queries = torch.arange(height * width, device=device)
    for start in range(0, height * width, tile_rows):
        part = queries[start : start + tile_rows]
        index_h, index_w = _gather_index(part // width, height), _gather_index(part % width, width)
        for first in range(0, matrices, tile_matrices):
            yield slice(first, first + tile_matrices), slice(start, start + len(part)), index_h, index_w


def _logits(
    q_tile: Tensor, k_t: Tensor, tables: _Tables | None, index_h: Tensor, index_w: Tensor, out: Tensor
) -> Tensor:
    """out (n, C, HW) <- the tile's logits q k^T (+ the relative bias, the GEMM accumulating onto it in place)."""
    if tables is None:
        return torch.bmm(q_tile, k_t, out=out)
    return tables.bias(*tables.logits_1d(q_tile, index_h, index_w), out=out).baddbmm_(q_tile, k_t)


def _softmax_(logits: Tensor) -> Tensor:
    """Softmax over the last dimension, written over the logits.

    The fused softmax kernel (max, exp, sum and scale per row) is about twice as fast on CPU as amax / sub_ / exp_
    in separate passes, and writing in place keeps a tile to one (n, C, HW) buffer. The kernel reads each element
    before it writes the same position, so the aliased out= is exact; the tests hold it equal to torch.softmax.
    """
    return torch._softmax(logits, -1, False, out=logits)


class ChunkedRelativeAttention(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        rel_h: Tensor | None,
        rel_w: Tensor | None,
        height: int,
        width: int,
        tile_rows: int,
        tile_matrices: int,
        keep: bool,
    ) -> Tensor:
        dtype, lead = q.dtype, q.shape[:2]
        work = torch.promote_types(dtype, torch.float32)
        relative = rel_h is not None and rel_w is not None
        with _no_autocast(q.device):
            # (B, Nh, HW, d) -> (N, HW, d), N = B * Nh
            q, k, v = (t.to(work).flatten(0, 1) for t in (q, k, v))
            # q row-major, so that a tile of whole matrices is contiguous (the table gradients flatten it); k and v
            # are used as they come: the layer hands over transposed views of its (N, d, HW) layout, so k^T and v^T
            # below cost nothing.
            q = q.contiguous()
            tables = _Tables(rel_h.to(work), rel_w.to(work), height, width) if relative else None  # type: ignore[union-attr]
            n, tokens, dv = v.shape
            # Operands laid out so each GEMM streams the (n, C, HW) tile row by row: k^T for the logits, and v^T on
            # the left of p^T for the output (a GEMM with dv output rows, not dv output columns: 5x faster on CPU).
            k_t, v_t = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()  # (N, d, HW), (N, dv, HW)
            out_t = torch.empty(n, dv, tokens, dtype=work, device=q.device)
            # keep: every tile is written into one (N, HW, HW) tensor that backward reads instead of recomputing.
            keep = keep and tile_rows >= tokens
            kept = q.new_empty(n, tokens, tokens) if keep else None
            logits = None if keep else _Workspace(min(tile_matrices, n) * min(tile_rows, tokens) * tokens, q)
            for mat_slice, row_slice, index_h, index_w in _tiles(n, height, width, tile_rows, tile_matrices, q.device):
                q_tile = q[mat_slice, row_slice]  # (n_t, C, d)
                tile = kept[mat_slice] if kept is not None else logits.take(*q_tile.shape[:2], tokens)  # type: ignore[union-attr]
                probabilities = _softmax_(_logits(q_tile, k_t[mat_slice], tables, index_h, index_w, out=tile))
                torch.bmm(v_t[mat_slice], probabilities.transpose(1, 2), out=out_t[mat_slice, :, row_slice])
        table_h, table_w = (tables.rel_h, tables.rel_w) if tables else (None, None)
        ctx.save_for_backward(q, k, v, table_h, table_w, out_t, kept)
        ctx.meta = (height, width, tile_rows, tile_matrices, dtype, rel_h.dtype if relative else None)  # type: ignore[union-attr]
        return out_t.transpose(1, 2).reshape(*lead, tokens, dv).to(dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        q, k, v, table_h, table_w, out_t, kept = ctx.saved_tensors
        height, width, tile_rows, tile_matrices, dtype, table_dtype = ctx.meta
        tables = _Tables(table_h, table_w, height, width) if table_h is not None else None
        lead = grad_out.shape[:2]
        with _no_autocast(q.device):
            grad_out = grad_out.to(q.dtype).flatten(0, 1)  # (N, HW, dv)
            grad_out_t = grad_out.transpose(1, 2).contiguous()  # (N, dv, HW)
            grad_out = grad_out.contiguous()
            delta = (grad_out_t * out_t).sum(1).unsqueeze(-1)  # (N, HW, 1): sum_c dO_ic O_ic
            k_t, v_t = k.transpose(1, 2).contiguous(), v.transpose(1, 2).contiguous()  # (N, d, HW), (N, dv, HW)
            # Row-major gradients whatever the inputs' strides: accumulating GEMMs into a transposed output fall back
            # to one small GEMM per matrix.
            grad_q = q.new_empty(q.shape)
            grad_k = k.new_zeros(k.shape)
            grad_v_t = torch.zeros_like(v_t)
            grad_table_h = torch.zeros_like(table_h) if tables else None
            grad_table_w = torch.zeros_like(table_w) if tables else None
            n, tokens = q.shape[:2]
            elements = min(tile_matrices, n) * min(tile_rows, tokens) * tokens
            logits = _Workspace(elements, q) if kept is None else None
            scores = _Workspace(elements, q)
            for mat_slice, row_slice, index_h, index_w in _tiles(n, height, width, tile_rows, tile_matrices, q.device):
                q_tile, grad_out_tile = (
                    q[mat_slice, row_slice],
                    grad_out[mat_slice, row_slice],
                )  # (n_t, C, d), (n_t, C, dv)
                if kept is not None:
                    probabilities = kept[mat_slice]
                else:
                    # Recomputed exactly as in forward: the same kernels on the same inputs give the same p.
                    tile = logits.take(*q_tile.shape[:2], tokens)  # type: ignore[union-attr]
                    probabilities = _softmax_(_logits(q_tile, k_t[mat_slice], tables, index_h, index_w, out=tile))
                tile_shape = probabilities.shape
                grad_v_t[mat_slice].baddbmm_(grad_out_t[mat_slice, :, row_slice], probabilities)  # dV^T += dO^T p
                # dS = p * (dO V^T - delta)
                grad_scores = torch.bmm(grad_out_tile, v_t[mat_slice], out=scores.take(*tile_shape))
                grad_scores.sub_(delta[mat_slice, row_slice]).mul_(probabilities)
                grad_q_tile = torch.bmm(grad_scores, k[mat_slice])  # (n_t, C, d)
                grad_k[mat_slice].baddbmm_(grad_scores.transpose(1, 2), q_tile)
                if tables:
                    grid = grad_scores.view(*grad_scores.shape[:2], height, width)
                    grad_h, grad_w = grid.sum(-1), grid.sum(-2)  # (n_t, C, H), (n_t, C, W)
                    # the gathers' adjoints: per-offset sums (n_t, C, 2H - 1) and (n_t, C, 2W - 1)
                    full_h = grad_h.new_zeros(*grad_h.shape[:2], 2 * height - 1)
                    full_h.scatter_add_(-1, index_h.expand_as(grad_h), grad_h)
                    full_w = grad_w.new_zeros(*grad_w.shape[:2], 2 * width - 1)
                    full_w.scatter_add_(-1, index_w.expand_as(grad_w), grad_w)
                    grad_q_tile.add_(full_h @ table_h).add_(full_w @ table_w)
                    q_rows = q_tile.flatten(0, 1)
                    grad_table_h.addmm_(full_h.flatten(0, 1).t(), q_rows)  # type: ignore[union-attr]
                    grad_table_w.addmm_(full_w.flatten(0, 1).t(), q_rows)  # type: ignore[union-attr]
                grad_q[mat_slice, row_slice] = grad_q_tile
        unflat = lambda t: t.reshape(*lead, *t.shape[1:]).to(dtype)  # noqa: E731
        grad_rel_h = grad_table_h.to(table_dtype) if tables else None
        grad_rel_w = grad_table_w.to(table_dtype) if tables else None
        grad_v = grad_v_t.transpose(1, 2)
        return unflat(grad_q), unflat(grad_k), unflat(grad_v), grad_rel_h, grad_rel_w, None, None, None, None, None


def chunked_relative_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
    tile_rows: int = 32,
    tile_matrices: int | None = None,
    keep_probabilities: bool = False,
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v over tiles of ``tile_matrices`` of the B * Nh matrices x ``tile_rows`` query rows.

    q pre-scaled; ``tile_matrices`` None: every matrix in each tile. ``keep_probabilities`` (used when
    ``tile_rows`` covers whole matrices): keep the (B * Nh, HW, HW) softmax for backward instead of recomputing it,
    as eager attention does; worth it for small grids, where it is cheap to hold. Returns (B, Nh, HW, dvh).
    """
    matrices = q.shape[0] * q.shape[1]
    tile_matrices = matrices if tile_matrices is None else tile_matrices
    tile_rows, tile_matrices = max(1, int(tile_rows)), max(1, int(tile_matrices))
    # Nothing to keep for when no gradient will be asked for (inference, torch.no_grad()).
    tensors = [t for t in (q, k, v, rel_h, rel_w) if t is not None]
    keep_probabilities = keep_probabilities and torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    return ChunkedRelativeAttention.apply(
        q, k, v, rel_h, rel_w, height, width, tile_rows, tile_matrices, keep_probabilities
    )
