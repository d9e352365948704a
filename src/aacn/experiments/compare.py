"""``aacn compare``: train several models with the identical recipe, data order and seeds, then report.

Each (model, seed) run is an ``aacn train`` subprocess in ``<output>/<model>/seed<k>``, so that its peak memory is
its own and an interrupted comparison resumes where it stopped: finished runs (results.json present) are skipped,
interrupted ones (last.ckpt without results.json) continue with ``--resume``. A run whose training loss became
non-finite (its ``diverged.json``) is done as well: it is not trained again, since the same seed on the same recipe
diverges again, and a changed recipe for one run would no longer compare like with like. Its results.json says where
it diverged and holds no test top-1; the report scores it at chance and says so.

With ``train_sizes`` it is a sample-efficiency study: every model and seed is trained on the first N training images
for each N (``--train-size N``, runs in ``<output>/n<N>/<model>/seed<k>``), with the identical recipe; the report
holds accuracy per size and model, and ``sample_efficiency.png`` draws it against N.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, resolve_config
from ..data import dataset_info, is_user_data
from ..report.comparison import ModelSummary, protocol_record, write_comparison
from ..report.run_files import read_curves
from ..utils import atomic_write_text, writable_folder
from ..utils.divergence import DIVERGED, read_divergence
from ..utils.hardware import describe_hardware


class RunFailedError(RuntimeError):
    """A training run of the comparison failed or was stopped; ``exit_code`` is the run's own (3 when it had none
    of the meaningful ones: 2 usage, 3 failure, 128 + N signal)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CompareOptions:
    dataset: str
    output: Path
    models: list[str] | None = None
    seeds: tuple[int, ...] = (0,)
    recipe: str | None = None
    train_flags: tuple[str, ...] = ()  # extra `aacn train` flags, the same for every run
    command: str = "aacn compare"
    train_sizes: tuple[int, ...] | None = None  # a sample-efficiency study over these training-set sizes
    protocol: Path | None = None  # the study's protocol file, whose hash (and commit) the report records
    overrides: dict[str, Any] = field(default_factory=dict)  # the settings train_flags set, checked before any run


# The model pair `aacn compare --dataset D` trains when no --models is given: a plain model and its AA twin.
DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "cifar10": ("resnet18_cifar", "aa_resnet18_cifar"),
    "cifar100": ("wrn28_10", "aa_wrn28_10"),
    "imagenet": ("resnet50", "aa_resnet50"),
    "digits": ("resnet18_cifar", "aa_resnet18_cifar"),
    "fake": ("resnet18_cifar", "aa_resnet18_cifar"),
    "svrt1": ("resnet18_cifar", "aa_resnet18_cifar"),
    "svrt2": ("resnet18_cifar", "aa_resnet18_cifar"),
    "motif_pairs": ("resnet18_1d", "aa_resnet18_1d"),
    "folder": ("resnet18", "aa_resnet18"),  # your images, at 224 unless --image-size says otherwise
}


def _die_with_parent() -> None:
    """In the child, before it runs: ask Linux to SIGKILL it when this process dies, however it dies (a SIGKILL
    leaves no chance to stop children), so that no orphaned run goes on writing while `compare` is run again."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _launch(command: list[str]) -> subprocess.Popen:
    """Start one `aacn train` run as its own process, outside any distributed launch this process is part of."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    return subprocess.Popen(command, env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def run_dir(output: Path, model: str, seed: int, train_size: int | None = None) -> Path:
    base = output if train_size is None else output / f"n{train_size}"
    return base / model / f"seed{seed}"


def _train_one(
    options: CompareOptions, model: str, seed: int, train_size: int | None, index: int, total: int
) -> dict[str, Any]:
    folder = run_dir(options.output, model, seed, train_size)
    results = folder / "results.json"
    what = f"{model} seed {seed}" + ("" if train_size is None else f" on {train_size} images")
    if results.is_file():
        print(f"[{index}/{total}] {what}: finished earlier, skipped ({results})", flush=True)
        return json.loads(results.read_text())
    divergence = read_divergence(folder)
    if divergence is not None:  # diverged earlier, its results.json not yet written (the comparison was stopped)
        print(f"[{index}/{total}] {what}: diverged earlier, {_where(divergence)}; counted as done", flush=True)
        return _record_divergence(options.dataset, model, seed, folder, divergence)
    resume = (folder / "last.ckpt").is_file()
    print(f"[{index}/{total}] {what}: {'resuming' if resume else 'training'} in {folder}", flush=True)
    command = [sys.executable, "-m", "aacn", "train", "--dataset", options.dataset, "--model", model]
    command += ["--seed", str(seed), "--output", str(folder)]
    if train_size is not None:
        command += ["--train-size", str(train_size)]
    if options.recipe:
        command += ["--recipe", options.recipe]
    command += list(options.train_flags)
    if resume:
        command.append("--resume")
    process = _launch(command)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = process.wait()  # the run saves its checkpoint on the same SIGINT
    divergence = read_divergence(folder) if code != 0 else None
    if divergence is not None:
        print(
            f"[{index}/{total}] {what}: diverged, {_where(divergence)}; counted as done and scored at chance in the "
            f"report (not trained again: delete {folder} to train it anew)",
            flush=True,
        )
        return _record_divergence(options.dataset, model, seed, folder, divergence)
    if code != 0 or not results.is_file():
        raise RunFailedError(
            f"run {what} did not finish (exit code {code}); its output is above and its files in "
            f"{folder}; run the same command again to resume it",
            exit_code=code if code in (2, 3) or code >= 128 else 3,
        )
    return json.loads(results.read_text())


def _where(divergence: dict[str, Any]) -> str:
    return f"loss {divergence['loss']} at epoch {divergence['epoch']}, step {divergence['step']}"


def _record_divergence(dataset: str, model: str, seed: int, folder: Path, divergence: dict[str, Any]) -> dict[str, Any]:
    """Write and return a diverged run's results.json: no test metrics (none were measured), where it diverged, and
    ``epochs`` as its config planned (the number a finished run of the same size trained)."""
    import yaml

    config_file = folder / "config.yaml"
    if not config_file.is_file():
        raise RunFailedError(
            f"{folder / DIVERGED} is there but {config_file} is not; restore the run's config.yaml, or delete "
            f"{folder} to train the run anew",
            exit_code=3,
        )
    config = yaml.safe_load(config_file.read_text())
    results = {
        "model": model,
        "dataset": dataset,
        "epochs": int(config["epochs"]),
        "top1": None,
        "top5": None,
        "loss": None,
        "seed": seed,
        "diverged": {key: divergence[key] for key in ("epoch", "step", "loss")},
    }
    atomic_write_text(folder / "results.json", json.dumps(results, indent=2) + "\n")
    return results


def _run_curves(folder: Path) -> dict[str, dict[int, float]]:
    """A run's curves; none for a run that diverged before its first epoch was logged."""
    metrics = folder / "metrics.csv"
    if not metrics.is_file():
        return {"train_loss": {}, "train_top1": {}, "val_top1": {}}
    return read_curves(metrics)


def compare(options: CompareOptions) -> list[ModelSummary]:
    """Train every model with every seed (or reuse finished runs), then write report.md, results.json, curves.png."""
    dataset_info(options.dataset)  # an unknown dataset fails before anything runs
    if options.train_sizes and (
        len(set(options.train_sizes)) != len(options.train_sizes) or min(options.train_sizes) < 1
    ):
        raise ConfigError(f"--train-sizes takes distinct positive ints, got {','.join(map(str, options.train_sizes))}")
    models = options.models or list(DEFAULT_MODELS["folder" if is_user_data(options.dataset) else options.dataset])
    if len(set(models)) != len(models):
        raise ConfigError(f"--models lists a model twice: {','.join(models)}")
    # Resolve once up front: a bad model name or recipe fails before any training starts.
    configs = {m: resolve_config(options.recipe, dataset=options.dataset, model=m, **options.overrides) for m in models}
    writable_folder(options.output)
    if options.protocol is not None and not options.protocol.is_file():
        raise ConfigError(
            f"--protocol {options.protocol}: no such file (name the study's protocol, e.g. docs/svrt_study.md)"
        )
    sizes: list[int | None] = list(options.train_sizes) if options.train_sizes else [None]
    total = len(sizes) * len(models) * len(options.seeds)
    runs: dict[int | None, dict[str, list[dict[str, Any]]]] = {n: {m: [] for m in models} for n in sizes}
    index = 0
    for size in sizes:  # smallest first, seeds next: a first full comparison is ready early
        for seed in options.seeds:
            for model in models:
                index += 1
                runs[size][model].append(_train_one(options, model, seed, size, index, total))

    first = configs[models[0]]
    context = {
        "dataset": options.dataset,
        "command": options.command,
        "hardware": describe_hardware(),
        "recipe": first.recipe,
        "source": first.source,
        "epochs": max(int(r["epochs"]) for by_model in runs.values() for rs in by_model.values() for r in rs),
        "seeds": list(options.seeds),
    }
    if options.protocol is not None:
        context["protocol"] = protocol_record(options.protocol)
    curves = {
        n: {m: [_run_curves(run_dir(options.output, m, s, n)) for s in options.seeds] for m in models} for n in sizes
    }
    classes = dataset_info(options.dataset).num_classes or len(_first_result(runs).get("classes") or [0, 0])
    chance = 1 / classes  # a folder's class count is in its runs' results
    report = write_comparison(options.output, runs, curves, context, chance)
    print()
    print(report.table)
    if report.verdict:
        print(f"\n{report.verdict}")
    print(f"\nwrote {', '.join(str(path) for path in report.written)}")
    rows = report.rows
    return rows


def _first_result(runs: dict) -> dict:
    """A finished run's results.json (what a folder dataset's runs say about its classes); {} if none has them."""
    return next((r for by_model in runs.values() for rs in by_model.values() for r in rs if r.get("classes")), {})
