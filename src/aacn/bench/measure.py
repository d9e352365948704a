"""`aacn bench`: what to measure (:class:`BenchSelection`) and the run that measures it, side by side in one process.

Times come from this process; on CPU, peak memory comes from a child `aacn bench` process that repeats the same
selection with a memory-tracking allocator setting (see :mod:`aacn.bench.harness`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass

import torch

from .harness import Harness, Measurement, with_ratios
from .layer import bench_grid_scaling, bench_layer, bench_layer_nd
from .models import bench_models, default_image_size
from .peers import bench_peers

# batch sizes of the model benchmarks when none are given: CIFAR's training batches, a small ImageNet batch
CIFAR_BATCHES = (32, 128)
IMAGENET_BATCHES = (8,)


@dataclass(frozen=True)
class BenchSelection:
    """What `aacn bench` measures."""

    layer: bool = True
    scaling: bool = False
    peers: bool = False
    models: tuple[str, ...] = ()  # aa_ models (or their plain names): each against its plain twin
    device: str = "cpu"
    repeats: int = 5
    batch_sizes: tuple[int, ...] = ()  # () = CIFAR_BATCHES for 32x32 models, IMAGENET_BATCHES for 224x224
    precisions: tuple[str, ...] = ("32",)
    modes: tuple[str, ...] = ("train",)
    channels_last: bool = True
    compiled: bool = False

    def argv(self) -> list[str]:
        """The `aacn bench` arguments that select the same measurements."""
        args = ["--device", self.device, "--repeats", str(self.repeats)]
        args += ["--precision", ",".join(self.precisions), "--mode", ",".join(self.modes)]
        args += ["--batch-size", ",".join(map(str, self.batch_sizes))] if self.batch_sizes else []
        args += ["--layer"] if self.layer else []
        args += ["--scaling"] if self.scaling else []
        args += ["--peers"] if self.peers else []
        args += [] if self.channels_last else ["--no-channels-last"]
        args += ["--compile"] if self.compiled else []
        for model in self.models:
            args += ["--model", model]
        return args


def run_benchmarks(selection: BenchSelection, memory_only: bool = False) -> list[Measurement]:
    """Every selected benchmark. On CPU, times here and peak memory from a child process (see the module doc)."""
    device = torch.device(selection.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here; use --device cpu")
    harness = Harness(device, selection.repeats, time=not memory_only, memory=memory_only or device.type != "cpu")
    rows: list[Measurement] = []
    if selection.layer:
        rows += bench_layer(harness)
        rows += bench_layer_nd(harness)
    if selection.scaling:
        rows += bench_grid_scaling(dataclasses.replace(harness, repeats=min(3, harness.repeats)))
    if selection.peers:
        rows += bench_peers(harness)
    model_harness = dataclasses.replace(harness, repeats=max(1, harness.repeats // 2))
    for name in selection.models:
        augmented = name if name.startswith("aa_") else f"aa_{name}"
        plain = augmented[3:]
        size = default_image_size(plain)
        batches = selection.batch_sizes or (CIFAR_BATCHES if size == 32 else IMAGENET_BATCHES)
        for mode in selection.modes:
            for precision in selection.precisions:
                for batch in batches:
                    rows += bench_models(plain, augmented, model_harness, batch, size, mode, precision,
                                         selection.channels_last, selection.compiled)  # fmt: skip
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
