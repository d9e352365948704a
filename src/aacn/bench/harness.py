"""How `aacn bench` measures: cases timed in turns, medians, peak memory of one step, ratios within a group.

Time: median of ``repeats`` runs after one warm-up run (CUDA synchronised). Peak memory: on CUDA the peak of
``torch.cuda.max_memory_allocated`` above what was allocated before the step; on CPU the peak resident set (VmHWM,
reset through /proc/self/clear_refs) above the resident set before the step, measured by a child `aacn bench`
process started with glibc's MALLOC_MMAP_THRESHOLD_=65536: every allocation over 64 KiB is then mapped on its own
and returned on free, so the resident set follows live memory and a step cannot hide its use in heap memory an
earlier step freed. Times come from the parent process, with the default allocator. Both count what the step adds.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch


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


@dataclass(frozen=True)
class Harness:
    """Where and what to measure: ``time`` and ``memory`` say which of the two this process records."""

    device: torch.device
    repeats: int = 5
    time: bool = True
    memory: bool = True

    def measure_in_turns(self, group: str, steps: dict[str, Callable[[], None]]) -> list[Measurement]:
        """Time several cases in turns (A, B, A, B, ...) so that drift of a shared machine hits them alike."""
        for step in steps.values():
            step()  # warm-up (and, under torch.compile, the compilation)
        times: dict[str, list[float]] = {case: [] for case in steps}
        for _ in range(self.repeats if self.time else 0):
            for case, step in steps.items():
                self._synchronize()
                start = time.perf_counter()
                step()
                self._synchronize()
                times[case].append(time.perf_counter() - start)
        return [
            Measurement(
                group,
                case,
                1000 * statistics.median(times[case]) if times[case] else float("nan"),
                self.peak_mb(step) if self.memory else None,
            )
            for case, step in steps.items()
        ]

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def peak_mb(self, step: Callable[[], None]) -> float | None:
        """Peak memory one run of ``step`` adds (see the module docstring), or None where it cannot be read."""
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            step()
            torch.cuda.synchronize(self.device)
            return (torch.cuda.max_memory_allocated(self.device) - base) / 2**20
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set (Linux >= 4.0)
        except OSError:
            return None
        base = _status_kb("VmRSS")
        step()
        peak = _status_kb("VmHWM")
        return None if base is None or peak is None else (peak - base) / 1024


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"{field}:\s+(\d+) kB", text)
    return int(match.group(1)) if match else None


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
