"""Memory-lean relative attention: query chunks, a custom backward that recomputes instead of storing.

Forward keeps only the output and the per-query log-sum-exp of the logits (B, Nh, HW); no (HW)^2 tensor outlives a
chunk. Backward recomputes each chunk's logits and softmax from q, k and the tables (flash-attention style), so peak
memory is O(B * Nh * chunk * HW) instead of several (B, Nh, HW, HW) tensors, and the chunks stay cache-sized.

Relative logits of a chunk are one matrix product with each whole table, q (2L - 1 rows)^T, from which each query
gathers the L entries of its own offsets: GEMMs and a gather, no per-query embedding copies.

Gradients, with p = softmax(l) per query row, dO the output gradient and delta_i = sum_c dO_ic O_ic:
    dV = p^T dO;  dS = p * (dO V^T - delta);  dk = dS^T q;  dq = dS k + G_h r_h + G_w r_w;  dr_h = G_h^T q
where G_h[i, y' - y_i + H - 1] = sum over key columns of dS[i, (y', .)] (the gather's scatter-add), likewise G_w
over key rows. q arrives scaled by dkh ** -0.5.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def _gather_index(positions: Tensor, length: int) -> Tensor:
    """index[c, j] = j - positions[c] + length - 1: the table row of the offset from query c to key position j."""
    return torch.arange(length, device=positions.device).unsqueeze(0) - positions.unsqueeze(1) + (length - 1)


def _chunk_logits(q_chunk: Tensor, k: Tensor, tables: tuple[Tensor, Tensor, Tensor, Tensor] | None) -> Tensor:
    """Logits (B, Nh, C, HW) of a chunk of queries, relative terms broadcast in place.

    tables: (rel_h (2H - 1, d), rel_w (2W - 1, d), index_h (C, H), index_w (C, W)) or None.
    """
    logits = q_chunk @ k.transpose(-1, -2)
    if tables is not None:
        rel_h, rel_w, index_h, index_w = tables
        batch, heads, count = q_chunk.shape[:3]
        height, width = index_h.shape[1], index_w.shape[1]
        s_h = (q_chunk @ rel_h.t()).gather(-1, index_h.expand(batch, heads, count, height))  # (B, Nh, C, H)
        s_w = (q_chunk @ rel_w.t()).gather(-1, index_w.expand(batch, heads, count, width))  # (B, Nh, C, W)
        grid = logits.view(batch, heads, count, height, width)
        grid.add_(s_h.unsqueeze(-1)).add_(s_w.unsqueeze(-2))
    return logits


def _no_autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast off inside the function (it picks its own precision); meta and other devices have none."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def _chunks(height: int, width: int, chunk: int, device: torch.device):  # type: ignore[no-untyped-def]
    """(start, stop, index_h, index_w) of each chunk of query rows."""
    rows = torch.arange(height * width, device=device)
    for start in range(0, height * width, chunk):
        part = rows[start : start + chunk]
        yield start, start + len(part), _gather_index(part // width, height), _gather_index(part % width, width)


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
        chunk: int,
    ) -> Tensor:
        dtype = q.dtype
        work = torch.promote_types(dtype, torch.float32)
        relative = rel_h is not None and rel_w is not None
        with _no_autocast(q.device):
            q, k, v = q.to(work), k.to(work), v.to(work)
            table_h = rel_h.to(work) if relative else None
            table_w = rel_w.to(work) if relative else None
            out = torch.empty(*q.shape[:3], v.shape[-1], dtype=work, device=q.device)
            lse = torch.empty(q.shape[:3], dtype=work, device=q.device)
            for start, stop, index_h, index_w in _chunks(height, width, chunk, q.device):
                tables = (table_h, table_w, index_h, index_w) if relative else None
                logits = _chunk_logits(q[:, :, start:stop], k, tables)
                chunk_lse = torch.logsumexp(logits, dim=-1)
                lse[:, :, start:stop] = chunk_lse
                probabilities = logits.sub_(chunk_lse.unsqueeze(-1)).exp_()
                torch.matmul(probabilities, v, out=out[:, :, start:stop])
        ctx.save_for_backward(q, k, v, table_h, table_w, out, lse)
        ctx.meta = (height, width, chunk, dtype, rel_h.dtype if relative else None)
        return out.to(dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        q, k, v, table_h, table_w, out, lse = ctx.saved_tensors
        height, width, chunk, dtype, table_dtype = ctx.meta
        relative = table_h is not None and table_w is not None
        with _no_autocast(q.device):
            grad_out = grad_out.to(q.dtype)
            delta = (grad_out * out).sum(-1)  # (B, Nh, HW)
            grad_q = torch.empty_like(q)
            grad_k = torch.zeros_like(k)
            grad_v = torch.zeros_like(v)
            grad_table_h = torch.zeros_like(table_h) if relative else None
            grad_table_w = torch.zeros_like(table_w) if relative else None
            for start, stop, index_h, index_w in _chunks(height, width, chunk, q.device):
                q_chunk, grad_out_chunk = q[:, :, start:stop], grad_out[:, :, start:stop]
                tables = (table_h, table_w, index_h, index_w) if relative else None
                logits = _chunk_logits(q_chunk, k, tables)
                probabilities = logits.sub_(lse[:, :, start:stop].unsqueeze(-1)).exp_()  # (B, Nh, C, HW)
                grad_v.add_(probabilities.transpose(-1, -2) @ grad_out_chunk)
                grad_scores = grad_out_chunk @ v.transpose(-1, -2)  # dP
                grad_scores.sub_(delta[:, :, start:stop].unsqueeze(-1)).mul_(probabilities)  # dS
                del probabilities, logits
                grad_q_chunk = grad_scores @ k
                grad_k.add_(grad_scores.transpose(-1, -2) @ q_chunk)
                if relative:
                    grid = grad_scores.view(*grad_scores.shape[:3], height, width)
                    grad_h, grad_w = grid.sum(-1), grid.sum(-2)  # (B, Nh, C, H), (B, Nh, C, W)
                    lead = grad_h.shape[:3]
                    full_h = grad_h.new_zeros(*lead, 2 * height - 1).scatter_add_(-1, index_h.expand_as(grad_h), grad_h)
                    full_w = grad_w.new_zeros(*lead, 2 * width - 1).scatter_add_(-1, index_w.expand_as(grad_w), grad_w)
                    grad_q_chunk.add_(full_h @ table_h).add_(full_w @ table_w)
                    grad_table_h.add_(full_h.flatten(0, 2).t() @ q_chunk.flatten(0, 2))
                    grad_table_w.add_(full_w.flatten(0, 2).t() @ q_chunk.flatten(0, 2))
                grad_q[:, :, start:stop] = grad_q_chunk
        grad_rel_h = grad_table_h.to(table_dtype) if relative else None
        grad_rel_w = grad_table_w.to(table_dtype) if relative else None
        return grad_q.to(dtype), grad_k.to(dtype), grad_v.to(dtype), grad_rel_h, grad_rel_w, None, None, None


def chunked_relative_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    height: int,
    width: int,
    rel_h: Tensor | None = None,
    rel_w: Tensor | None = None,
    chunk: int = 32,
) -> Tensor:
    """softmax(q k^T + S_H + S_W) v over query chunks of ``chunk`` rows; q pre-scaled. Returns (B, Nh, HW, dvh)."""
    return ChunkedRelativeAttention.apply(q, k, v, rel_h, rel_w, height, width, max(1, int(chunk)))
