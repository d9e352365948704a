"""How close the chunked path is to the fewest PyTorch kernel calls exact attention needs at the CIFAR grids, and
what those cost beside the convolution they replace (docs/benchmarks.md, "The small-grid floor"), timed in turns in
one process:

- ``chunked``: aacn's chunked relative attention as the layer calls it (its default tiles; the softmax kept below
  256 tokens), forward without gradients and forward + backward;
- ``floor``: the fewest kernel calls that compute the same thing, on operands made before the clock starts (the
  relative terms already folded into extra query/key columns, every transpose already made), over the same tiles:
  forward = logits GEMM, softmax in place, value GEMM; backward adds the recompute (from 256 tokens), dV, dP, dS, dK
  and dQ (six GEMMs and one elementwise pass);
- ``softmax``: the softmax passes alone (once forward; twice in training when the softmax is recomputed), which no
  exact attention avoids: one exp per logit, B x heads x T^2 of them;
- ``conv 3x3``: the plain network's 3x3 convolution at that layer (C -> C channels, channels-last), which is what the
  augmented layer replaces; ``branch + qkv``: what the augmented layer runs besides its attention, its convolution
  branch (C -> C - dv) and its 1x1 q, k, v projection.

    python benchmarks/small_grid_floor.py [--repeats 7]

Shapes are aa_resnet18_cifar's: 8 heads, 20 key dims per head, dv = C / 4 (16x16: C = 128, 8x8: 256, 4x4: 512).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

import torch
from torch import nn

from aacn.bench.harness import Harness
from aacn.nn.attention import CHUNKED_MIN_TOKENS, default_tile_matrices, default_tile_rows
from aacn.nn.chunked_attention import chunked_relative_attention
from aacn.utils.hardware import describe_hardware

HEADS, KEY_DIMS = 8, 20
# (grid side, channels, batch)
CASES = ((16, 128, 32), (16, 128, 128), (8, 256, 128), (4, 512, 128))


def _cases(side: int, channels: int, batch: int, dtype: torch.dtype) -> dict[str, Callable[[], None]]:
    tokens, dvh = side * side, channels // 4 // HEADS
    matrices, recompute = batch * HEADS, tokens >= CHUNKED_MIN_TOKENS
    # aacn's tiling (whole matrices at these grids), for the chunked path and the floor alike
    tile_rows = default_tile_rows(tokens)
    assert tile_rows >= tokens, "the CIFAR grids' tiles are whole matrices"
    group = default_tile_matrices(tile_rows, tokens)
    tiles = [slice(first, min(first + group, matrices)) for first in range(0, matrices, group)]
    make = lambda *shape: torch.randn(*shape, dtype=dtype) * 0.5  # noqa: E731
    q, k, v = (
        make(batch, HEADS, tokens, KEY_DIMS),
        make(batch, HEADS, tokens, KEY_DIMS),
        make(batch, HEADS, tokens, dvh),
    )
    rel_h, rel_w = make(2 * side - 1, KEY_DIMS), make(2 * side - 1, KEY_DIMS)
    for t in (q, k, v, rel_h, rel_w):
        t.requires_grad_(True)
    grad_out = make(batch, HEADS, tokens, dvh)

    def attend(train: bool) -> Callable[[], None]:
        def run() -> None:
            with contextlib.nullcontext() if train else torch.no_grad():
                out = chunked_relative_attention(q, k, v, side, side, rel_h, rel_w, tile_rows, group,
                                                 keep_probabilities=not recompute)  # fmt: skip
            if train:
                out.backward(grad_out)

        return run

    columns = KEY_DIMS + 2 * side  # q' = [q | s_h | s_w], k' = [k | onehot(y) | onehot(x)]
    q_cols, k_cols_t = make(matrices, tokens, columns), make(matrices, columns, tokens)
    v_t, grad_out_m, grad_out_t = (
        make(matrices, dvh, tokens),
        make(matrices, tokens, dvh + 1),
        make(matrices, dvh, tokens),
    )
    v_delta_t, q_plain = make(matrices, dvh + 1, tokens), make(matrices, KEY_DIMS, tokens)
    out_t, grad_v_t = torch.empty(matrices, dvh, tokens, dtype=dtype), torch.zeros(matrices, dvh, tokens, dtype=dtype)
    grad_k_t, grad_q = (
        torch.zeros(matrices, KEY_DIMS, tokens, dtype=dtype),
        torch.empty(matrices, tokens, columns, dtype=dtype),
    )
    largest = min(group, matrices)
    logits, scores = (torch.empty(largest, tokens, tokens, dtype=dtype) for _ in range(2))

    def floor(train: bool) -> Callable[[], None]:
        def run() -> None:
            for mats in tiles:
                p = logits[: mats.stop - mats.start]
                torch._softmax(torch.bmm(q_cols[mats], k_cols_t[mats], out=p), -1, False, out=p)
                torch.bmm(v_t[mats], p.transpose(1, 2), out=out_t[mats])
                if not train:
                    continue
                if recompute:
                    torch._softmax(torch.bmm(q_cols[mats], k_cols_t[mats], out=p), -1, False, out=p)
                grad_v_t[mats].baddbmm_(grad_out_t[mats], p)  # dV^T += dO^T p
                ds = torch.bmm(grad_out_m[mats], v_delta_t[mats], out=scores[: mats.stop - mats.start]).mul_(p)
                grad_k_t[mats].baddbmm_(q_plain[mats], ds)  # dK^T += q^T dS
                torch.bmm(ds, k_cols_t[mats].transpose(1, 2), out=grad_q[mats])  # [dq | G_h | G_w] = dS k'

        return run

    def softmax(train: bool) -> Callable[[], None]:
        def run() -> None:
            for _ in range(2 if train and recompute else 1):
                for mats in tiles:
                    p = logits[: mats.stop - mats.start]
                    torch._softmax(p, -1, False, out=p)

        return run

    # the plain block's 3x3 convolution, and what the augmented layer runs besides its attention: the convolution
    # branch (C -> C - dv) and the 1x1 q, k, v projection (C -> 2 dk + dv)
    dv = channels // 4
    plain = [nn.Conv2d(channels, channels, 3, padding=1, bias=False)]
    augmented = [nn.Conv2d(channels, channels - dv, 3, padding=1, bias=False),
                 nn.Conv2d(channels, 2 * HEADS * KEY_DIMS + dv, 1, bias=False)]  # fmt: skip
    for conv in (*plain, *augmented):
        conv.to(memory_format=torch.channels_last)
    x = torch.randn(batch, channels, side, side).to(memory_format=torch.channels_last).requires_grad_(True)
    autocast = dtype in (torch.bfloat16, torch.float16)

    def convolutions(convs: list[nn.Module]) -> Callable[[bool], Callable[[], None]]:
        def make_case(train: bool) -> Callable[[], None]:
            def run() -> None:
                with (
                    torch.autocast("cpu", dtype=dtype, enabled=autocast),
                    contextlib.nullcontext() if train else torch.no_grad(),
                ):
                    outputs = [conv(x) for conv in convs]
                if train:
                    sum(y.float().sum() for y in outputs).backward()

            return run

        return make_case

    return {f"{name} {'fwd+bwd' if train else 'fwd'}": make_case(train)
            for train in (False, True)
            for name, make_case in (("chunked", attend), ("floor", floor), ("softmax", softmax),
                                    ("conv 3x3", convolutions(plain)),
                                    ("branch + qkv", convolutions(augmented)))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    names = ("chunked", "floor", "softmax", "conv 3x3", "branch + qkv")
    print(f"| grid | batch | dtype | pass | {' | '.join(f'{name} (ms)' for name in names)} | chunked / floor |")
    print("|---|---:|---|---|" + "---:|" * (len(names) + 1))
    for side, channels, batch in CASES:
        for dtype in (torch.bfloat16, torch.float32):
            torch.manual_seed(0)
            # in turns after one warm-up run each, so that drift hits every case alike; time only
            harness = Harness(torch.device("cpu"), repeats=args.repeats, memory=False)
            ms = {row.case: row.ms for row in harness.measure_in_turns("", _cases(side, channels, batch, dtype))}
            for step in ("fwd", "fwd+bwd"):
                times = [ms[f"{name} {step}"] for name in names]
                print(f"| {side}x{side} | {batch} | {str(dtype).removeprefix('torch.')} | {step} | "
                      f"{' | '.join(f'{t:.1f}' for t in times)} | {times[0] / times[1]:.2f}x |")  # fmt: skip
    print(f"\n{describe_hardware()}; medians of {args.repeats}, cases timed in turns")


if __name__ == "__main__":
    main()
