"""Relative position logits of the paper (Sec. 3.2), computed in O(HW * (H + W) * dkh) per head.

For a query pixel i = (y_i, x_i) and a key pixel j = (y_j, x_j) the relative logit is

    S[i, j] = q_i . r^H[y_j - y_i] + q_i . r^W[x_j - x_i]

with one table r^H of 2*Hmax - 1 rows and one table r^W of 2*Wmax - 1 rows, shared by all heads of a layer (each
head dots its own query with them). Row ``d + Lmax - 1`` of a table holds the embedding of offset ``d = key - query``.

The two terms are returned separately as (..., H, W, H) and (..., H, W, W) tensors, so that the caller can add them to
the (..., H, W, H, W) content logits by broadcasting: the (HW)^2 relative logits are never materialised on their own.
The same holds on a grid of any number of axes (1-D sequences, 3-D volumes): one table and one term per axis
(:func:`relative_logits_nd`, :func:`relative_bias_nd`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


@torch.fx.wrap
def table_for_length(table: Tensor, length: int, max_length: int, interpolate: bool) -> Tensor:
    """The ``2 * length - 1`` rows of ``table`` (made for ``max_length``) covering offsets ``1 - length .. length - 1``.

    A grid longer than the table is an error unless ``interpolate`` is set, in which case the table is linearly
    resampled to ``2 * length - 1`` rows (the approach of MViTv2 and SAM). This is an fx leaf: it checks plain ints.
    """
    if length < 1:
        raise ValueError(f"attention grid side must be >= 1, got {length}")
    if length <= max_length:
        centre = max_length - 1
        return table[centre - (length - 1) : centre + length]
    if not interpolate:
        raise ValueError(
            f"attention grid side {length} exceeds the relative position table, made for at most {max_length}; "
            f"build the layer with max_size covering the largest input (or pass interpolate_rel_pos=True "
            f"to resample the tables)"
        )
    # (2*max-1, dkh) -> (1, dkh, 2*max-1) -> linear resample -> (2*length-1, dkh)
    resized = F.interpolate(table.t().unsqueeze(0), size=2 * length - 1, mode="linear", align_corners=True)
    return resized.squeeze(0).t()


def relative_logits_1d(q: Tensor, table: Tensor) -> Tensor:
    """``out[..., i, j] = q[..., i, :] . table[j - i + L - 1]`` for a table of exactly ``2L - 1`` rows.

    q: (..., L, dkh); table: (2L - 1, dkh); returns (..., L, L). Cost O(prod(...) * L * L * dkh).
    """
    length = q.shape[-2]
    positions = torch.arange(length, device=q.device)
    # offsets[i, j] = j - i, shifted to a row index of the table
    rows = positions.unsqueeze(0) - positions.unsqueeze(1) + (length - 1)
    embeddings = table[rows].to(q.dtype)  # (L, L, dkh): embedding of offset j - i
    return torch.einsum("...id,ijd->...ij", q, embeddings)


def relative_logits_2d(q: Tensor, rel_h: Tensor, rel_w: Tensor) -> tuple[Tensor, Tensor]:
    """Height and width relative logits of queries laid out on an H x W grid.

    q: (B, Nh, H, W, dkh); rel_h: (2H - 1, dkh); rel_w: (2W - 1, dkh), already cut to this grid.
    Returns s_h (B, Nh, H, W, H) with s_h[..., y, x, y'] = q[y, x] . rel_h[y' - y + H - 1]
    and s_w (B, Nh, H, W, W) with s_w[..., y, x, x'] = q[y, x] . rel_w[x' - x + W - 1].
    """
    s_w = relative_logits_1d(q, rel_w)  # rows along W: (B, Nh, H, W, W)
    s_h = relative_logits_1d(q.transpose(2, 3), rel_h)  # (B, Nh, W, H, H) indexed [x, y, y']
    return s_h.transpose(2, 3), s_w


def relative_bias(q: Tensor, height: int, width: int, rel_h: Tensor, rel_w: Tensor) -> Tensor:
    """(B, Nh, HW, HW) relative logits S_H + S_W of pre-scaled queries q (B, Nh, HW, dkh), by broadcasting the two
    1-D terms of :func:`relative_logits_2d` (for the paths that take the bias whole: eager and SDPA)."""
    return relative_bias_nd(q, (height, width), (rel_h, rel_w))


def relative_logits_nd(q: Tensor, tables: tuple[Tensor, ...]) -> list[Tensor]:
    """The 1-D relative terms of queries on an N-D grid, one per axis.

    q: (B, Nh, L_1, ..., L_N, dkh); tables[a]: (2 L_a - 1, dkh), already cut to this grid. Returns, for each axis a,
    s_a (B, Nh, L_1, ..., L_N, L_a) with s_a[..., p, p'] = q[p] . tables[a][p' - p_a + L_a - 1].
    """
    last = len(tables) + 1  # the last spatial axis; positive indices, which the ONNX exporter needs
    terms = []
    for axis, table in enumerate(tables):
        if 2 + axis == last:
            terms.append(relative_logits_1d(q, table))
            continue
        moved = q.movedim(2 + axis, last)  # axis a next to the channels: (B, Nh, ..., L_a, dkh)
        terms.append(relative_logits_1d(moved, table).movedim(last, 2 + axis))  # back: (B, Nh, L_1..L_N, L_a)
    return terms


def relative_bias_nd(q: Tensor, shape: tuple[int, ...], tables: tuple[Tensor, ...]) -> Tensor:
    """(B, Nh, T, T) relative logits sum_a S_a of pre-scaled queries q (B, Nh, T, dkh), T = prod(shape), by
    broadcasting the 1-D terms of :func:`relative_logits_nd` over the key grid."""
    batch, heads, tokens = q.shape[0], q.shape[1], q.shape[2]
    terms = relative_logits_nd(q.reshape(batch, heads, *shape, -1), tables)
    dims = len(shape)
    bias = None
    for axis, term in enumerate(terms):
        # (B, Nh, *shape, L_a) -> (B, Nh, *shape, 1, .., L_a, .., 1): the key grid's axis a
        view = term.reshape(batch, heads, *shape, *(shape[axis] if b == axis else 1 for b in range(dims)))
        bias = view if bias is None else bias + view
    return bias.reshape(batch, heads, tokens, tokens)  # type: ignore[union-attr]
