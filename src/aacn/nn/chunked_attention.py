"""Memory-lean relative attention: tiles of queries, a custom backward that recomputes instead of storing.

Forward keeps only the output; no (HW)^2 tensor outlives a tile. Backward recomputes each tile's logits and softmax
from q, k and the tables (flash-attention style, with the same kernels on the same inputs, so p is bit-identical),
so peak memory is O(tile) = about TILE_ELEMENTS logits instead of several (B, Nh, HW, HW) tensors, and the passes
over a tile stay in cache. For small grids the softmax can be kept instead (``keep``): it is small there.

A tile is ``tile_matrices`` of the N = B * Nh (batch, head) matrices x ``tile_rows`` query rows. The relative logits
of a tile start from the 1-D terms s_h[c, y'] = q_c . r_h[y' - y_c + H - 1] and s_w[c, x'] (one product of the
tile's queries with each whole table and a gather of each query's offsets). They enter the logits in one of two ways
(:data:`LOGIT_FORMS`), which compute the same function:

``bias``: the tile's (C, H, W) bias s_h[c, y] + s_w[c, x] is written by broadcasting and q k^T is accumulated onto it
    in place (baddbmm_). Cheapest in float32, where CPU elementwise passes are fast and GEMMs are not.
``columns``: the relative terms become extra key columns, q' = [q | s_h | s_w] and k'_j = [k_j | onehot(y_j) |
    onehot(x_j)], so q'_c . k'_j = q_c . k_j + s_h[c, y_j] + s_w[c, x_j]: the logits are one GEMM and no bias pass.
    In backward the same GEMM form gives dq and the per-position sums of dS at once (dS k' = [dS k | G_h | G_w]).
    Best in bfloat16 / float16, where CPU GEMMs are fast (AMX, AVX-512 bf16) and elementwise passes are not.

The autocast dtypes (bfloat16, float16) run in their own precision end to end with the ``columns`` form (matrix
products in that dtype accumulate in float32 inside the kernels; the softmax is computed in float32 per row); the
gradients of k, v and the tables are summed over tiles in float32. Other dtypes run in at least float32.

Gradients, with p = softmax(l) per query row, dO the output gradient and delta_i = sum_c dO_ic O_ic:
    dV = p^T dO;  dS = p * (dO V^T - delta);  dk = dS^T q;  dq = dS k + G_h r_h + G_w r_w;  dr_h = G_h^T q
where G_h[i, y' - y_i + H - 1] = sum over key columns of dS[i, (y', .)] (the gather's scatter-add), likewise G_w
over key rows. q arrives scaled by dkh ** -0.5.

All products are 3-D bmm's with contiguous operands made once per call (k^T, v^T): 4-D matmuls on transposed views
copied k^T for every tile.

The grid may have any number of axes (a 1-D sequence, a 2-D image, a 3-D volume): one table and one term per axis,
the same two forms. The 2-D names above (s_h, s_w, G_h, G_w) are the N = 2 case.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

LOGIT_FORMS = ("bias", "columns")
# Dtypes that run in their own precision (the autocast dtypes); others run in at least float32.
LOW_PRECISION = (torch.bfloat16, torch.float16)


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a call computes in: the autocast dtypes as they are, anything else in at least float32."""
    return dtype if dtype in LOW_PRECISION else torch.promote_types(dtype, torch.float32)


# Up to this many tokens the two forms cost about the same in float32 (within 8% either way at 16x16); above it the
# ``columns`` GEMMs, which grow with H + W, cost 1.4x to 1.7x the bias pass they save (docs/benchmarks.md, "Logit
# forms").
COLUMNS_MAX_TOKENS_FLOAT32 = 256


def default_logit_form(dtype: torch.dtype, tokens: int | None = None) -> str:
    """``columns`` for the low-precision dtypes and for small grids, ``bias`` otherwise (docs/benchmarks.md)."""
    small = tokens is not None and tokens <= COLUMNS_MAX_TOKENS_FLOAT32
    return "columns" if dtype in LOW_PRECISION or small else "bias"


def _gather_index(positions: Tensor, length: int) -> Tensor:
    """index[c, j] = j - positions[c] + length - 1: the table row of the offset from query c to key position j."""
    return torch.arange(length, device=positions.device).unsqueeze(0) - positions.unsqueeze(1) + (length - 1)


def _token_strides(shape: tuple[int, ...]) -> list[int]:
    """How far apart in the row-major list of tokens two neighbours along each axis are."""
    return [math.prod(shape[a + 1 :]) for a in range(len(shape))]


def _offsets_to_positions(per_offset: Tensor, shape: tuple[int, ...], axis: int) -> Tensor:
    """The (n, L_1, ..., L_N, L_a) view of (n, T, 2 L_a - 1) per-offset values holding, for query p and key position
    p' along ``axis`` (L_a long), the value of the offset p' - p_a.

    The paper's "relative to absolute" skew as one strided view: entry (m, p, p') of the result is element
    index(p) * s + p' - p_a + L_a - 1 of matrix m (s the stride between queries, index(p) the row-major token
    index), linear in (p, p'). Distinct (query, p') pairs map to distinct elements, so the view can also be written
    through: the adjoint of the gather, with no sums.
    """
    if per_offset.stride(-1) != 1:
        per_offset = per_offset.contiguous()
    length = shape[axis]
    matrix, token = per_offset.stride(0), per_offset.stride(1)
    strides = [stride * token - (1 if b == axis else 0) for b, stride in enumerate(_token_strides(shape))]
    return per_offset.as_strided(
        (per_offset.shape[0], *shape, length), (matrix, *strides, 1), per_offset.storage_offset() + length - 1
    )


class _QueryGradients:
    """dq and the tables' gradients of one backward call (the tables' summed over every tile in float32 or wider)."""

    def __init__(self, q: Tensor, tables: tuple[Tensor, ...] | None) -> None:
        self.grad_q = q.new_empty(q.shape)
        self.total = torch.promote_types(q.dtype, torch.float32)
        self.grad_tables = [torch.zeros_like(t, dtype=self.total) for t in tables] if tables else None
        self.spans = [t.shape[0] for t in tables] if tables else []

    def add_table(self, axis: int, first: int, offsets: Tensor, q_rows: Tensor) -> None:
        """dr_a[first:first + w] += G^T q for per-offset sums G (rows, w) of one axis's table window."""
        grad = offsets.t() @ q_rows  # one GEMM: its float32 accumulation inside, one rounding to the work dtype
        self.grad_tables[axis][first : first + grad.shape[0]].add_(grad)  # type: ignore[index]

    def add_tables(self, offsets: Tensor, q_rows: Tensor) -> None:
        """dr += G^T q for per-offset sums G (rows, sum_a (2 L_a - 1)) of the queries ``q_rows`` (rows, d)."""
        grad = offsets.t() @ q_rows  # one GEMM: its float32 accumulation inside, one rounding to the work dtype
        start = 0
        for grad_table, span in zip(self.grad_tables, self.spans, strict=True):  # type: ignore[arg-type]
            grad_table.add_(grad[start : start + span])
            start += span


class _BiasLogits:
    """The ``bias`` form: per tile, the relative bias written by broadcasting and q k^T accumulated onto it.

    Without tables (content-only attention) a tile's logits are q k^T alone, in either form.
    """

    def __init__(self, q: Tensor, k: Tensor, tables: tuple[Tensor, ...] | None, shape: tuple[int, ...]) -> None:
        self.q, self.tables, self.shape = q, tables, shape
        self.key, self.key_t = k, k.transpose(1, 2).contiguous()  # (N, T, d), (N, d, T)

    def begin(self, mats: slice) -> None:
        """Start a group of matrices (nothing to prepare in this form)."""

    def _relative_1d(self, q_tile: Tensor, indices: list[Tensor], windows: list[Window]) -> list[Tensor]:
        """s_a (n, C, L_a) for each axis: each query's dot products with the rows of its own offsets."""
        n, count = q_tile.shape[:2]
        parts = zip(self.tables, indices, windows, self.shape, strict=True)  # type: ignore[arg-type]
        return [(q_tile @ table[lo:hi].t()).gather(-1, index.expand(n, count, length))
                for table, index, (lo, hi), length in parts]  # fmt: skip

    def _key_axis(self, term: Tensor, axis: int) -> Tensor:
        """(n, C, L_a) -> (n, C, 1, .., L_a, .., 1): the term along the key grid's axis ``axis``."""
        return term.view(*term.shape[:2], *(length if b == axis else 1 for b, length in enumerate(self.shape)))

    def tile(self, mats: slice, rows: slice, indices: list[Tensor], windows: list[Window], out: Tensor) -> Tensor:
        """out (n, C, T) <- the tile's logits."""
        q_tile = self.q[mats, rows]
        if self.tables is None:
            return torch.bmm(q_tile, self.key_t[mats], out=out)
        terms = self._relative_1d(q_tile, indices, windows)
        n, count = q_tile.shape[:2]
        grid = out.view(n, count, *self.shape)
        # the bias sum_a s_a[c, p_a] of key p by broadcasting (two axes: one add writing the whole tile), then q k^T
        if len(terms) == 2:
            torch.add(self._key_axis(terms[0], 0), self._key_axis(terms[1], 1), out=grid)
        else:
            grid.copy_(self._key_axis(terms[0], 0).expand_as(grid))
            for axis in range(1, len(terms)):
                grid.add_(self._key_axis(terms[axis], axis))
        return out.baddbmm_(q_tile, self.key_t[mats])

    def tile_backward(
        self, grad_scores: Tensor, mats: slice, rows: slice, indices: list[Tensor], windows: list[Window],
        grads: _QueryGradients,
    ) -> None:  # fmt: skip
        """Write the tile's dq (dS k + the relative terms' share) and add its share of the tables' gradients."""
        grad_q = torch.bmm(grad_scores, self.key[mats])  # (n, C, d)
        if self.tables is not None:
            # per-position sums of dS along each key axis, back through the gathers to per-offset sums
            grid = grad_scores.view(*grad_scores.shape[:2], *self.shape)
            axes = range(2, 2 + len(self.shape))
            q_rows = self.q[mats, rows].flatten(0, 1)
            for axis, (table, index, (lo, hi)) in enumerate(zip(self.tables, indices, windows, strict=True)):
                others = [a for a in axes if a != 2 + axis]
                grad = grid.sum(others) if others else grid  # (n, C, L_a)
                per_offset = grad.new_zeros(*grad.shape[:2], hi - lo)
                per_offset.scatter_add_(-1, index.expand_as(grad), grad)
                grad_q.add_(per_offset @ table[lo:hi])
                grads.add_table(axis, lo, per_offset.flatten(0, 1), q_rows)
        grads.grad_q[mats, rows] = grad_q

    def end(self, mats: slice, grads: _QueryGradients) -> None:
        """Finish a group of matrices in backward (every tile did its share in this form)."""


class _ColumnLogits:
    """The ``columns`` form: the relative terms as extra query and key columns, so a tile's logits are one GEMM.

    Per group of matrices, q' = [q | s_1 | ... | s_N] (n, T, d + sum L_a) and k'^T = [k^T ; onehot(p_1) ; ... ;
    onehot(p_N)] (n, d + sum L_a, T) are made once (transients of the group, never saved for backward), so its tiles
    are plain GEMMs with no per-tile pass. In backward every tile writes its rows of dS k' = [dS k | G_1 | ... | G_N];
    the per-position sums G then go back through the relative terms once per group.
    """

    def __init__(self, q: Tensor, k: Tensor, tables: tuple[Tensor, ...], shape: tuple[int, ...]) -> None:
        self.q, self.k, self.tables, self.shape = q, k, tables, shape
        tokens = math.prod(shape)
        positions = torch.arange(tokens, device=q.device)
        rows = []
        for stride, length in zip(_token_strides(shape), shape, strict=True):
            coordinate = (positions // stride) % length
            rows.append(coordinate.unsqueeze(0) == torch.arange(length, device=q.device).unsqueeze(1))
        self.position_rows = torch.cat(rows).to(k.dtype)  # (sum L_a, T)
        self.tables_stacked = torch.cat(tables)  # (sum (2 L_a - 1), d)

    def begin(self, mats: slice) -> None:
        q, k = self.q[mats], self.k[mats]
        n, tokens = q.shape[:2]
        # s_a[p, p'] = (q_p r_a^T)[p' - p_a + L_a - 1]: strided views of the products, no gather
        terms = [_offsets_to_positions(q @ table.t(), self.shape, axis) for axis, table in enumerate(self.tables)]
        self.queries = torch.cat([q.view(n, *self.shape, -1), *terms], -1).view(n, tokens, -1)
        self.key_t = torch.cat([k.transpose(1, 2), self.position_rows.expand(n, -1, -1)], 1)  # (n, d + sum L_a, T)
        self.columns: Tensor | None = None

    def tile(self, mats: slice, rows: slice, indices: list[Tensor], windows: list[Window], out: Tensor) -> Tensor:
        return torch.bmm(self.queries[:, rows], self.key_t, out=out)

    def tile_backward(
        self, grad_scores: Tensor, mats: slice, rows: slice, indices: list[Tensor], windows: list[Window],
        grads: _QueryGradients,
    ) -> None:  # fmt: skip
        if self.columns is None:
            self.columns = torch.empty_like(self.queries)
        # k' is k'^T's transposed view: bmm reads it as a transposed operand, no copy
        torch.bmm(grad_scores, self.key_t.transpose(1, 2), out=self.columns[:, rows])

    def end(self, mats: slice, grads: _QueryGradients) -> None:
        """dq = dS k + sum_a G_a r_a and the tables' gradients G^T q, for the group in one GEMM each."""
        columns, d = self.columns, self.k.shape[-1]
        n, tokens = columns.shape[:2]  # type: ignore[union-attr]
        # the adjoints of the strided views: each offset entry is hit by at most one (query, position) pair, so the
        # per-offset sums G are copies into zeros, no scatter-add
        offsets = columns.new_zeros(n, tokens, self.tables_stacked.shape[0])  # type: ignore[union-attr]
        start_offset, start_column = 0, d
        for axis, (table, length) in enumerate(zip(self.tables, self.shape, strict=True)):
            part = offsets[..., start_offset : start_offset + table.shape[0]]
            grad = columns[..., start_column : start_column + length]  # type: ignore[index]
            view = _offsets_to_positions(part, self.shape, axis)
            view.copy_(grad.view(*view.shape))
            start_offset += table.shape[0]
            start_column += length
        offsets = offsets.flatten(0, 1)  # (n * T, sum (2 L_a - 1))
        grad_q = grads.grad_q[mats].flatten(0, 1)
        torch.addmm(columns[..., :d].flatten(0, 1), offsets, self.tables_stacked, out=grad_q)  # type: ignore[index]
        grads.add_tables(offsets, self.q[mats].flatten(0, 1))


def _logit_maker(
    form: str, q: Tensor, k: Tensor, tables: tuple[Tensor, ...] | None, shape: tuple[int, ...]
) -> _BiasLogits | _ColumnLogits:
    if form == "columns" and tables is not None:
        return _ColumnLogits(q, k, tables, shape)
    return _BiasLogits(q, k, tables, shape)


class _Workspace:
    """One buffer reused by every tile of a call, handed out as contiguous (n, C, T) views.

    A fresh 16 MB tensor per tile costs more than the work on it here: the allocator returns such blocks to the
    system, so every tile would first-touch fault its pages in again.
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


def _groups(matrices: int, tile_matrices: int) -> Iterator[slice]:
    """Groups of ``tile_matrices`` of the N = B * Nh matrices: the outer loop of the tiles."""
    for first in range(0, matrices, tile_matrices):
        yield slice(first, min(first + tile_matrices, matrices))


Window = tuple[int, int]  # the rows [lo, hi) of an axis's table that a tile's queries reach


def _row_tiles(
    shape: tuple[int, ...], tile_rows: int, device: torch.device
) -> list[tuple[slice, list[Tensor], list[Window]]]:
    """(query-row slice, per-axis offset indices, per-axis table windows) of each run of ``tile_rows`` query rows:
    the inner loop of the tiles. A tile's queries reach only the table rows of the offsets from their own positions,
    [L - 1 - max p_a, 2 L - 1 - min p_a): on a long axis (a 1-D sequence) about C + L rows, not 2 L, so that the
    products with the table stay the size of the tile; the indices count from the window's first row.

    Tiling the N matrices too (groups) keeps a tile's (tile_matrices, tile_rows, T) temporaries bounded while each
    matrix gets many query rows: the batched GEMMs then pay their per-matrix overhead a few times per matrix, not
    T / 16, and a group's per-matrix operands are made once for all its row tiles.
    """
    tokens = math.prod(shape)
    queries = torch.arange(tokens, device=device)
    tiles = []
    for start in range(0, tokens, tile_rows):
        part = queries[start : start + tile_rows]
        rows = slice(start, start + len(part))
        indices, windows = [], []
        for stride, length in zip(_token_strides(shape), shape, strict=True):
            positions = (part // stride) % length
            low, high = _coordinate_range(rows, stride, length)
            window = (length - 1 - high, 2 * length - 1 - low)
            indices.append(_gather_index(positions, length) - window[0])
            windows.append(window)
        tiles.append((rows, indices, windows))
    return tiles


def _coordinate_range(rows: slice, stride: int, length: int) -> tuple[int, int]:
    """The smallest and largest coordinate, along an axis of ``length`` and token ``stride``, of the tokens in
    ``rows`` (plain ints: works on the meta device too)."""
    if rows.stop - rows.start >= stride * length:
        return 0, length - 1
    coordinates = [(token // stride) % length for token in range(rows.start, rows.stop)]
    return min(coordinates), max(coordinates)


def _softmax_(logits: Tensor) -> Tensor:
    """Softmax over the last dimension, written over the logits.

    The fused softmax kernel (max, exp, sum and scale per row, in float32 whatever the dtype) is about twice as fast
    on CPU as amax / sub_ / exp_ in separate passes, and writing in place keeps a tile to one (n, C, T) buffer. The
    kernel reads each element before it writes the same position, so the aliased out= is exact; the tests hold it
    equal to torch.softmax.
    """
    return torch._softmax(logits, -1, False, out=logits)


def _accumulate(total: Tensor, left: Tensor, right: Tensor) -> None:
    """total += left @ right, in the GEMM itself where the dtypes agree (no temporary), else through one."""
    if total.dtype == left.dtype:
        total.baddbmm_(left, right)
    else:
        total.add_(torch.bmm(left, right))


class ChunkedRelativeAttention(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        shape: tuple[int, ...],
        tile_rows: int,
        tile_matrices: int,
        keep: bool,
        form: str,
        *tables: Tensor,
    ) -> Tensor:
        dtype, lead = q.dtype, q.shape[:2]
        work = work_dtype(dtype)
        with _no_autocast(q.device):
            # (B, Nh, T, d) -> (N, T, d), N = B * Nh
            q, k, v = (t.to(work).flatten(0, 1) for t in (q, k, v))
            # q row-major, so that a tile of whole matrices is contiguous (the table gradients flatten it); k and v
            # are used as they come: the layer hands over transposed views of its (N, d, T) layout, so k^T and v^T
            # below cost nothing.
            q = q.contiguous()
            cut = tuple(t.to(work) for t in tables) or None
            logit_maker = _logit_maker(form, q, k, cut, shape)
            n, tokens, dv = v.shape
            # v^T on the left of p^T for the output: a GEMM with dv output rows, not dv output columns (5x faster on
            # CPU), streaming the (n, C, T) tile row by row.
            v_t = v.transpose(1, 2).contiguous()  # (N, dv, T)
            out_t = torch.empty(n, dv, tokens, dtype=work, device=q.device)
            # keep: every tile is written into one (N, T, T) tensor that backward reads instead of recomputing.
            keep = keep and tile_rows >= tokens
            kept = q.new_empty(n, tokens, tokens) if keep else None
            logits = None if keep else _Workspace(min(tile_matrices, n) * min(tile_rows, tokens) * tokens, q)
            row_tiles = _row_tiles(shape, tile_rows, q.device)
            for mats in _groups(n, tile_matrices):
                logit_maker.begin(mats)
                for rows, indices, windows in row_tiles:
                    count = rows.stop - rows.start
                    tile = kept[mats] if kept is not None else logits.take(mats.stop - mats.start, count, tokens)  # type: ignore[union-attr]
                    probabilities = _softmax_(logit_maker.tile(mats, rows, indices, windows, out=tile))
                    torch.bmm(v_t[mats], probabilities.transpose(1, 2), out=out_t[mats, :, rows])
        ctx.save_for_backward(q, k, v, out_t, kept, *(cut or ()))
        ctx.meta = (shape, tile_rows, tile_matrices, dtype, tables[0].dtype if tables else None, form)
        # (N, dv, T) -> (B, Nh, T, dvh) as a view: the layer's (B, dv, ...) reshape then costs no copy either
        return out_t.to(dtype).view(*lead, dv, tokens).transpose(-1, -2)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        q, k, v, out_t, kept, *saved_tables = ctx.saved_tensors
        shape, tile_rows, tile_matrices, dtype, table_dtype, form = ctx.meta
        tables = tuple(saved_tables) or None
        lead = grad_out.shape[:2]
        work = q.dtype
        n, tokens = q.shape[:2]
        # What gradients summed over row tiles are kept in: at least float32, unless a matrix is one tile (no sums).
        total = work if tile_rows >= tokens else torch.promote_types(work, torch.float32)
        with _no_autocast(q.device):
            logit_maker = _logit_maker(form, q, k, tables, shape)
            grad_out = grad_out.to(work).flatten(0, 1)  # (N, T, dv)
            grad_out_t = grad_out.transpose(1, 2).contiguous()  # (N, dv, T)
            grad_out = grad_out.contiguous()
            delta = (grad_out_t * out_t).sum(1, dtype=total).unsqueeze(-1).to(work)  # (N, T, 1): sum_c dO_ic O_ic
            v_t = v.transpose(1, 2).contiguous()  # (N, dv, T)
            # Row-major gradients whatever the inputs' strides: accumulating GEMMs into a transposed output fall back
            # to one small GEMM per matrix.
            grads = _QueryGradients(q, tables)
            grad_k = k.new_zeros(k.shape, dtype=total)
            grad_v_t = v_t.new_zeros(v_t.shape, dtype=total)
            elements = min(tile_matrices, n) * min(tile_rows, tokens) * tokens
            logits = _Workspace(elements, q) if kept is None else None
            scores = _Workspace(elements, q)
            row_tiles = _row_tiles(shape, tile_rows, q.device)
            for mats in _groups(n, tile_matrices):
                logit_maker.begin(mats)
                for rows, indices, windows in row_tiles:
                    tile_shape = (mats.stop - mats.start, rows.stop - rows.start, tokens)
                    if kept is not None:
                        probabilities = kept[mats]
                    else:
                        # Recomputed exactly as in forward: the same kernels on the same inputs give the same p.
                        tile = logits.take(*tile_shape)  # type: ignore[union-attr]
                        probabilities = _softmax_(logit_maker.tile(mats, rows, indices, windows, out=tile))
                    _accumulate(grad_v_t[mats], grad_out_t[mats, :, rows], probabilities)  # dV^T += dO^T p
                    # dS = p * (dO V^T - delta)
                    grad_scores = torch.bmm(grad_out[mats, rows], v_t[mats], out=scores.take(*tile_shape))
                    grad_scores.sub_(delta[mats, rows]).mul_(probabilities)
                    _accumulate(grad_k[mats], grad_scores.transpose(1, 2), q[mats, rows])
                    logit_maker.tile_backward(grad_scores, mats, rows, indices, windows, grads)
                logit_maker.end(mats, grads)
        unflat = lambda t: t.reshape(*lead, *t.shape[1:]).to(dtype)  # noqa: E731
        grad_tables = tuple(g.to(table_dtype) for g in grads.grad_tables) if grads.grad_tables else ()
        grad_v = grad_v_t.transpose(1, 2)
        return (unflat(grads.grad_q), unflat(grad_k), unflat(grad_v), None, None, None, None, None, *grad_tables)


def chunked_relative_attention_nd(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    shape: tuple[int, ...],
    tables: tuple[Tensor, ...] | None = None,
    tile_rows: int = 32,
    tile_matrices: int | None = None,
    keep_probabilities: bool = False,
    logit_form: str | None = None,
) -> Tensor:
    """softmax(q k^T + sum_a S_a) v on a grid of ``shape`` over tiles of ``tile_matrices`` of the B * Nh matrices x
    ``tile_rows`` query rows.

    q pre-scaled; ``tables``: one per axis, cut to the grid (None: content-only). ``tile_matrices`` None: every matrix
    in each tile. ``keep_probabilities`` (used when ``tile_rows`` covers whole matrices): keep the (B * Nh, T, T)
    softmax for backward instead of recomputing it, as eager attention does; worth it for small grids, where it is
    cheap to hold. ``logit_form``: ``"bias"`` or ``"columns"`` (see the module docstring); None chooses by dtype and
    grid (:func:`default_logit_form`). Returns (B, Nh, T, dvh).
    """
    shape = tuple(int(length) for length in shape)
    form = default_logit_form(q.dtype, math.prod(shape)) if logit_form is None else logit_form
    if form not in LOGIT_FORMS:
        raise ValueError(f"logit_form must be one of {', '.join(LOGIT_FORMS)} or None, got {logit_form!r}")
    if tables is not None and len(tables) != len(shape):
        raise ValueError(f"one relative table per axis: {len(shape)} axes, {len(tables)} tables")
    matrices = q.shape[0] * q.shape[1]
    tile_matrices = matrices if tile_matrices is None else tile_matrices
    tile_rows, tile_matrices = max(1, int(tile_rows)), max(1, int(tile_matrices))
    # Nothing to keep for when no gradient will be asked for (inference, torch.no_grad()).
    tensors = [q, k, v, *(tables or ())]
    keep_probabilities = keep_probabilities and torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    return ChunkedRelativeAttention.apply(
        q, k, v, shape, tile_rows, tile_matrices, keep_probabilities, form, *(tables or ())
    )


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
    logit_form: str | None = None,
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v on an H x W grid (:func:`chunked_relative_attention_nd` in 2-D). Returns
    (B, Nh, HW, dvh)."""
    tables = (rel_h, rel_w) if rel_h is not None and rel_w is not None else None
    return chunked_relative_attention_nd(q, k, v, (height, width), tables, tile_rows, tile_matrices,
                                         keep_probabilities, logit_form)  # fmt: skip
