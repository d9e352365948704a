"""The measurements behind the chunked path's choices (docs/benchmarks.md, "Logit forms and tiles"): forward+backward
time of the chunked relative attention alone, per grid, batch and dtype, for each way of adding the relative logits
(``bias``, ``columns``) and each tile size, timed in turns in one process.

    python benchmarks/chunked_forms.py [--repeats 5]

Shapes are the paper's (8 heads, 20 key dims per head) at the CIFAR grids (16x16, 8x8, 4x4 at batch 128 and 32) and
the ImageNet ones (28x28 at batch 16, 56x56 at batch 2).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import torch

from aacn.nn.chunked_attention import LOGIT_FORMS, chunked_relative_attention
from aacn.utils.hardware import describe_hardware

# (grid side, batch, value dims per head)
CASES = ((16, 128, 4), (16, 32, 4), (8, 128, 8), (4, 128, 16), (28, 16, 4), (56, 2, 4))
TILES = (1 << 20, 1 << 21, 1 << 22, 1 << 23)


def _tiling(tokens: int, elements: int) -> tuple[int, int]:
    """(tile_rows, tile_matrices) for about ``elements`` logits per tile, as aacn.nn.attention chooses them."""
    rows = max(16, min(tokens, elements // tokens))
    return rows, max(1, elements // (rows * tokens))


def _step(inputs: tuple[torch.Tensor, ...], side: int, rows: int, matrices: int, form: str) -> None:
    q, k, v, rel_h, rel_w = inputs
    out = chunked_relative_attention(q, k, v, side, side, rel_h, rel_w, rows, matrices,
                                     keep_probabilities=side * side < 256, logit_form=form)  # fmt: skip
    out.float().sum().backward()


def _median_ms(step: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| grid | batch | dtype | form | tile (logits) | forward+backward (ms) |")
    print("|---|---:|---|---|---:|---:|")
    for side, batch, dvh in CASES:
        tokens = side * side
        for dtype in (torch.bfloat16, torch.float32):
            torch.manual_seed(0)
            q = torch.randn(batch, 8, tokens, 20, dtype=dtype, requires_grad=True)
            k = torch.randn(batch, 8, tokens, 20, dtype=dtype, requires_grad=True)
            v = torch.randn(batch, 8, tokens, dvh, dtype=dtype, requires_grad=True)
            rel_h = torch.randn(2 * side - 1, 20, requires_grad=True)
            rel_w = torch.randn(2 * side - 1, 20, requires_grad=True)
            steps = {}
            for form in LOGIT_FORMS:
                for elements in TILES:
                    rows, matrices = _tiling(tokens, elements)
                    step = functools.partial(_step, (q, k, v, rel_h, rel_w), side, rows, matrices, form)
                    step()  # warm-up
                    steps[(form, elements)] = step
            times: dict[tuple[str, int], list[float]] = {key: [] for key in steps}
            for _ in range(args.repeats):  # in turns, so that drift hits every case alike
                for key, step in steps.items():
                    times[key].append(_median_ms(step, 1))
            for (form, elements), values in times.items():
                name = str(dtype).removeprefix("torch.")
                print(f"| {side}x{side} | {batch} | {name} | {form} | 2^{elements.bit_length() - 1} | "
                      f"{statistics.median(values):.1f} |", flush=True)  # fmt: skip
    print(f"\n{describe_hardware()}")


if __name__ == "__main__":
    main()
