"""`aacn bench`: forward+backward time and peak memory, measured side by side in one run.

Time: median of ``repeats`` runs after one warm-up run (CUDA synchronised). Peak memory: on CUDA the peak of
``torch.cuda.max_memory_allocated`` above what was allocated before the step; on CPU the peak resident set (VmHWM,
reset through /proc/self/clear_refs) above the resident set before the step, measured by a child `aacn bench`
process started with glibc's MALLOC_MMAP_THRESHOLD_=65536: every allocation over 64 KiB is then mapped on its own
and returned on free, so the resident set follows live memory and a step cannot hide its use in heap memory an
earlier step freed. Times come from this process, with the default allocator. Both count what the step adds.
"""

from __future__ import annotations

import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..models import create_model
from ..nn import AugmentedConv2d
from .appendix_baseline import appendix_forward


@dataclass
class Measurement:
    group: str
    case: str
    ms: float  # median time of one step
    peak_mb: float | None  # peak extra memory of one step
    time_ratio: float | None = None  # against the group's reference case
    memory_ratio: float | None = None

    def as_json(self) -> dict:
        return asdict(self)


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"{field}:\s+(\d+) kB", text)
    return int(match.group(1)) if match else None


def _peak_mb(step: Callable[[], None], device: torch.device) -> float | None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (Linux >= 4.0)
    except OSError:
        return None
    base = _status_kb("VmRSS")
    step()
    peak = _status_kb("VmHWM")
    return None if base is None or peak is None else (peak - base) / 1024


# What this process measures: `aacn bench` times in one process and measures CPU memory in a child (see above).
MEASURE_TIME = True
MEASURE_MEMORY = True


def with_ratios(rows: list[Measurement], reference: str | None = None) -> list[Measurement]:
    """Ratios against the reference case of each group (the group's first case when ``reference`` is None)."""
    if reference is None:
        groups: dict[str, list[Measurement]] = {}
        for row in rows:
            groups.setdefault(row.group, []).append(row)
        for members in groups.values():
            with_ratios(members, members[0].case)
        return rows
    base = next(r for r in rows if r.case == reference)
    for row in rows:
        row.time_ratio = row.ms / base.ms
        if row.peak_mb is not None and base.peak_mb:
            row.memory_ratio = row.peak_mb / base.peak_mb
    return rows


def _train_step(
    module: Callable[[torch.Tensor], torch.Tensor], params: list[nn.Parameter], x: torch.Tensor
) -> Callable[[], None]:
    grad = torch.randn_like(module(x).detach())

    def step() -> None:
        for p in params:
            p.grad = None
        (module(x) * grad).sum().backward()

    return step


LAYER_CASES: tuple[tuple[str, str | None], ...] = (
    ("appendix baseline", None),  # None: aacn.bench.appendix_baseline on the same parameters
    ("aacn eager", "eager"),
    ("aacn chunked", "chunked"),
    ("aacn sdpa", "sdpa"),
    ("aacn flex", "flex"),  # CUDA only: PyTorch runs FlexAttention forward-only on CPU
)


def _layer_group(
    group: str, x: torch.Tensor, device: torch.device, repeats: int, channels: int, **layer_kwargs: object
) -> list[Measurement]:
    """Forward+backward of one AugmentedConv2d configuration through every path, the baseline first."""
    steps: dict[str, Callable[[], None]] = {}
    for name, impl in LAYER_CASES:
        if impl == "flex" and device.type != "cuda":
            continue
        layer = AugmentedConv2d(channels, channels, 3, **layer_kwargs).to(device)  # type: ignore[arg-type]
        if impl is None:
            forward: Callable = lambda inp, layer=layer: appendix_forward(layer, inp)  # noqa: E731
        else:
            layer.attention_impl = impl
            forward = layer
        steps[name] = _train_step(forward, [*layer.parameters()], x)
    rows = measure_in_turns(group, steps, device, repeats)
    return with_ratios(rows, "appendix baseline")


def bench_layer(
    device: torch.device, batch: int = 16, channels: int = 128, size: int = 28, dk: int = 160, dv: int = 8,
    heads: int = 8, repeats: int = 5,
) -> list[Measurement]:  # fmt: skip
    """AugmentedConv2d forward+backward: each attention path and the appendix-algorithm baseline."""
    group = f"layer B={batch} {channels}->{channels} {size}x{size} dk={dk} dv={dv} Nh={heads}"
    torch.manual_seed(0)
    x = torch.randn(batch, channels, size, size, device=device, requires_grad=True)
    return _layer_group(group, x, device, repeats, channels, dk=dk, dv=dv, num_heads=heads, max_size=size)


def bench_grid_scaling(
    device: torch.device, sizes: tuple[int, ...] = (14, 28, 56), batch: int = 2, repeats: int = 3
) -> list[Measurement]:
    """Peak memory and time of one forward+backward as the grid grows (AA-ResNet-50 stage-2 layer, batch 2)."""
    rows: list[Measurement] = []
    for size in sizes:
        group = f"grid {size}x{size} (HW={size * size}) B={batch}"
        x = torch.randn(batch, 128, size, size, device=device, requires_grad=True)
        rows += _layer_group(group, x, device, repeats, 128, dk=160, dv=8, num_heads=8, max_size=size)
    return rows


def measure_in_turns(
    group: str, steps: dict[str, Callable[[], None]], device: torch.device, repeats: int
) -> list[Measurement]:
    """Time several cases in turns (A, B, A, B, ...) so that drift of a shared machine hits them alike."""
    for step in steps.values():
        step()  # warm-up
    times: dict[str, list[float]] = {case: [] for case in steps}
    for _ in range(repeats if MEASURE_TIME else 0):
        for case, step in steps.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[case].append(time.perf_counter() - start)
    return [
        Measurement(
            group,
            case,
            1000 * statistics.median(times[case]) if times[case] else float("nan"),
            _peak_mb(step, device) if MEASURE_MEMORY else None,
        )
        for case, step in steps.items()
    ]


def bench_models(
    plain: str, augmented: str, device: torch.device, batch: int, size: int, repeats: int = 3
) -> list[Measurement]:
    """One SGD training step (forward, backward, update) of a plain model and its AA twin, timed in turns; the twin
    also with every layer on the eager attention path, to show what the automatic paths buy in a whole model."""
    group = f"train step {plain} vs {augmented}, batch {batch}, {size}x{size}"
    x = torch.randn(batch, 3, size, size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    steps: dict[str, Callable[[], None]] = {}
    for case, name, impl in (
        (plain, plain, None),
        (augmented, augmented, None),
        (f"{augmented} eager", augmented, "eager"),
    ):
        torch.manual_seed(0)
        model = create_model(name).to(device).train()
        for module in model.modules():
            if impl is not None and isinstance(module, AugmentedConv2d):
                module.attention_impl = impl
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(model: nn.Module = model, optimizer: torch.optim.Optimizer = optimizer) -> None:
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

        steps[case] = step
    return with_ratios(measure_in_turns(group, steps, device, repeats), plain)


@dataclass(frozen=True)
class BenchSelection:
    """What `aacn bench` measures."""

    layer: bool = True
    scaling: bool = False
    models: tuple[str, ...] = ()  # aa_ models (or their plain names): each against its plain twin
    device: str = "cpu"
    repeats: int = 5
    batch_size: int = 8

    def argv(self) -> list[str]:
        """The `aacn bench` arguments that select the same measurements."""
        args = ["--device", self.device, "--repeats", str(self.repeats), "--batch-size", str(self.batch_size)]
        args += ["--layer"] if self.layer else []
        args += ["--scaling"] if self.scaling else []
        for model in self.models:
            args += ["--model", model]
        return args


def run_benchmarks(selection: BenchSelection, memory_only: bool = False) -> list[Measurement]:
    """Every selected benchmark. On CPU, times here and peak memory from a child process (see the module doc)."""
    global MEASURE_TIME, MEASURE_MEMORY
    device = torch.device(selection.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here; use --device cpu")
    MEASURE_TIME = not memory_only
    MEASURE_MEMORY = memory_only or device.type != "cpu"
    rows: list[Measurement] = []
    if selection.layer:
        rows += bench_layer(device, repeats=selection.repeats)
    if selection.scaling:
        rows += bench_grid_scaling(device)
    for name in selection.models:
        augmented = name if name.startswith("aa_") else f"aa_{name}"
        plain = augmented[3:]
        size = 32 if ("cifar" in plain or "wrn" in plain) else 224
        rows += bench_models(plain, augmented, device, selection.batch_size, size, max(1, selection.repeats // 2))
    if device.type == "cpu" and not memory_only:
        _add_peaks_from_child(rows, selection)
    return with_ratios(rows)


def _add_peaks_from_child(rows: list[Measurement], selection: BenchSelection) -> None:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
    command = [sys.executable, "-m", "aacn", "bench", *selection.argv(), "--memory-only", "--json"]
    child = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if child.returncode != 0:
        print(f"aacn bench: memory pass failed, peaks left out: {child.stderr.strip()[-500:]}", file=sys.stderr)
        return
    peaks = {(m["group"], m["case"]): m["peak_mb"] for m in json.loads(child.stdout)["benchmarks"]}
    for row in rows:
        row.peak_mb = peaks.get((row.group, row.case))


def format_measurements(rows: list[Measurement]) -> str:
    lines = [
        "| benchmark | case | time (ms) | time ratio | peak memory (MB) | memory ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.group} | {r.case} | {r.ms:.1f} | {'-' if r.time_ratio is None else f'{r.time_ratio:.2f}x'} | "
            f"{'-' if r.peak_mb is None else f'{r.peak_mb:.0f}'} | "
            f"{'-' if r.memory_ratio is None else f'{r.memory_ratio:.2f}x'} |"
        )
    return "\n".join(lines)
