"""``aacn compare``: train several models with the identical recipe, data order and seeds, then report.

Each (model, seed) run is an ``aacn train`` subprocess in ``<output>/<model>/seed<k>``, so that its peak memory is
its own and an interrupted comparison resumes where it stopped: finished runs (results.json present) are skipped,
interrupted ones (last.ckpt without results.json) continue with ``--resume``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, resolve_config
from ..data import dataset_info
from ..report.comparison import ModelSummary, format_table, read_curves, summarize, write_report, write_results_json
from ..report.curves import plot_curves
from ..utils.hardware import describe_hardware


@dataclass
class CompareOptions:
    dataset: str
    output: Path
    models: list[str] | None = None
    seeds: tuple[int, ...] = (0,)
    recipe: str | None = None
    train_flags: tuple[str, ...] = ()  # extra `aacn train` flags, the same for every run
    command: str = "aacn compare"


# The model pair `aacn compare --dataset D` trains when no --models is given: a plain model and its AA twin.
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "cifar10": ("resnet18_cifar", "aa_resnet18_cifar"),
    "cifar100": ("wrn28_10", "aa_wrn28_10"),
    "imagenet": ("resnet50", "aa_resnet50"),
    "digits": ("resnet18_cifar", "aa_resnet18_cifar"),
    "fake": ("resnet18_cifar", "aa_resnet18_cifar"),
}


def run_dir(output: Path, model: str, seed: int) -> Path:
    return output / model / f"seed{seed}"


def _train_one(options: CompareOptions, model: str, seed: int, index: int, total: int) -> dict[str, Any]:
    folder = run_dir(options.output, model, seed)
    results = folder / "results.json"
    if results.is_file():
        print(f"[{index}/{total}] {model} seed {seed}: finished earlier, skipped ({results})", flush=True)
        return json.loads(results.read_text())
    resume = (folder / "last.ckpt").is_file()
    print(f"[{index}/{total}] {model} seed {seed}: {'resuming' if resume else 'training'} in {folder}", flush=True)
    command = [sys.executable, "-m", "aacn", "train", "--dataset", options.dataset, "--model", model]
    command += ["--seed", str(seed), "--output", str(folder)]
    if options.recipe:
        command += ["--recipe", options.recipe]
    command += list(options.train_flags)
    if resume:
        command.append("--resume")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    process = subprocess.Popen(command, env=env)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = process.wait()  # the run saves its checkpoint on the same SIGINT
    if code != 0 or not results.is_file():
        raise ConfigError(
            f"run {model} seed {seed} did not finish (exit code {code}); its output is above and its files in "
            f"{folder}; run the same command again to resume it"
        )
    return json.loads(results.read_text())


def compare(options: CompareOptions) -> list[ModelSummary]:
    """Train every model with every seed (or reuse finished runs), then write report.md, results.json, curves.png."""
    dataset_info(options.dataset)  # an unknown dataset fails before anything runs
    models = options.models or list(DEFAULT_MODELS[options.dataset])
    if len(set(models)) != len(models):
        raise ConfigError(f"--models lists a model twice: {','.join(models)}")
    # Resolve once up front: a bad model name or recipe fails before any training starts.
    configs = {m: resolve_config(options.recipe, dataset=options.dataset, model=m) for m in models}
    options.output.mkdir(parents=True, exist_ok=True)
    total = len(models) * len(options.seeds)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in models}
    index = 0
    for seed in options.seeds:  # seeds outermost: a first full comparison is ready early
        for model in models:
            index += 1
            runs[model].append(_train_one(options, model, seed, index, total))

    rows = [summarize(m, options.dataset, runs[m]) for m in models]
    first = configs[models[0]]
    epochs = max(int(r["epochs"]) for model_runs in runs.values() for r in model_runs)
    context = {
        "dataset": options.dataset,
        "command": options.command,
        "hardware": describe_hardware(),
        "recipe": first.recipe,
        "source": first.source,
        "epochs": epochs,
        "seeds": list(options.seeds),
    }
    write_results_json(rows, options.output / "results.json", context)
    curves = {m: [read_curves(run_dir(options.output, m, s) / "metrics.csv") for s in options.seeds] for m in models}
    title = f"{options.dataset}: {' vs '.join(models)} ({len(options.seeds)} seed{'s' * (len(options.seeds) > 1)})"
    plot_curves(curves, options.output / "curves.png", title)
    write_report(rows, options.output / "report.md", context)
    print()
    print(format_table(rows))
    print(f"\nwrote {options.output / 'report.md'}, {options.output / 'results.json'}, {options.output / 'curves.png'}")
    return rows
