"""The comparison report: per-model means and spreads over seeds, as report.md and results.json."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..models import PAPER
from ..utils import atomic_write_text
from .study import below_adequacy, format_below_adequacy, format_paired_table, scored_top1

# settings of the paper: (dataset, model) pairs whose reported figures we print beside ours
PAPER_SETTINGS = {"imagenet": "ImageNet", "cifar100": "CIFAR-100"}


@dataclass
class ModelSummary:
    model: str
    seeds: list[int]
    top1: float | None  # mean over seeds, a fraction
    top1_std: float | None  # sample standard deviation; None for one seed
    top5: float | None
    top5_std: float | None
    loss: float | None
    # measured by the finished runs (None if every run diverged)
    params: int | None
    gflops: float | None
    train_images_per_sec: float | None
    eval_images_per_sec: float | None
    peak_memory_mb: float | None
    wall_time_s: float | None  # mean per run
    diverged: int = 0  # runs whose training loss became non-finite, in top1 at chance
    paper_top1: float | None = None  # percent, where the setting is one of the paper's
    paper_top5: float | None = None
    paper_params_m: float | None = None


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _std(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.stdev(present) if len(present) > 1 else None


def summarize(model: str, dataset: str, runs: list[dict[str, Any]], chance: float | None = None) -> ModelSummary:
    """One model's row from its runs' results.json contents (one per seed). A diverged run counts in top-1 at
    ``chance``; top-5, loss and the measurements come from the finished runs."""
    paper = PAPER.get(model) if dataset in PAPER_SETTINGS and model in PAPER else None
    if paper is not None and PAPER_SETTINGS[dataset] not in paper.source:
        paper = None
    finished = [r for r in runs if not r.get("diverged")]
    top1 = [scored_top1(r, chance) if r.get("diverged") else r["top1"] for r in runs]
    return ModelSummary(
        model=model,
        seeds=[int(r["seed"]) for r in runs],
        top1=_mean(top1),
        top1_std=_std(top1),
        top5=_mean([r["top5"] for r in finished]),
        top5_std=_std([r["top5"] for r in finished]),
        loss=_mean([r["loss"] for r in finished]),
        params=int(finished[0]["params"]) if finished else None,
        gflops=float(finished[0]["gflops"]) if finished else None,
        train_images_per_sec=_rounded_mean([r["train_images_per_sec"] for r in finished]),
        eval_images_per_sec=_rounded_mean([r["eval_images_per_sec"] for r in finished]),
        peak_memory_mb=max((r["peak_memory_mb"] for r in finished), default=None),
        wall_time_s=_rounded_mean([r["wall_time_s"] for r in finished]),
        diverged=len(runs) - len(finished),
        paper_top1=paper.top1 if paper else None,
        paper_top5=paper.top5 if paper else None,
        paper_params_m=paper.params_m if paper else None,
    )


def _rounded_mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _pct(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "-"
    return f"{100 * mean:.2f}" + (f" ± {100 * std:.2f}" if std is not None else "")


def _top1_cell(row: ModelSummary) -> str:
    """Mean ± std of top-1, with the number of diverged runs (at chance) where there are any."""
    return _pct(row.top1, row.top1_std) + (f" ({row.diverged} diverged)" if row.diverged else "")


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: list[ModelSummary]) -> str:
    """The markdown table printed at the end of `aacn compare` and written into report.md."""
    with_paper = any(r.paper_top1 is not None for r in rows)
    header = [
        "model",
        "top-1 (%)",
        "top-5 (%)",
        "params (M)",
        "GFLOPs",
        "train img/s",
        "eval img/s",
        "peak mem (MB)",
        "wall time (s)",
    ]
    if with_paper:
        header += ["paper top-1 (%)", "paper top-5 (%)"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    for r in rows:
        cells = [
            r.model,
            _top1_cell(r),
            _pct(r.top5, r.top5_std),
            _number(None if r.params is None else r.params / 1e6, ".2f"),
            _number(r.gflops, ".3f"),
            _number(r.train_images_per_sec, ".1f"),
            _number(r.eval_images_per_sec, ".1f"),
            _number(r.peak_memory_mb, ".0f"),
            _number(r.wall_time_s, ".1f"),
        ]
        if with_paper:
            cells += [
                "-" if r.paper_top1 is None else f"{r.paper_top1:.1f}",
                "-" if r.paper_top5 is None else f"{r.paper_top5:.1f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_size_table(by_size: dict[Any, list[ModelSummary]]) -> str:
    """Test top-1 (%) per training-set size (rows) and model (columns): mean ± std over seeds."""
    models = [r.model for r in next(iter(by_size.values()))]
    lines = [
        "| training images | " + " | ".join(f"{m} top-1 (%)" for m in models) + " |",
        "|---:|" + "---:|" * len(models),
    ]
    for size, rows in by_size.items():
        lines.append(f"| {size} | " + " | ".join(_top1_cell(r) for r in rows) + " |")
    return "\n".join(lines)


def write_results_json(
    rows: list[ModelSummary],
    path: Path,
    context: dict[str, Any],
    by_size: dict[Any, list[ModelSummary]] | None = None,
) -> None:
    """``models``: one summary per model (of the largest training set, in a sample-efficiency study); with
    ``by_size`` also ``sizes``: one entry per training-set size with its models' summaries."""
    payload = {**context, "models": [asdict(r) for r in rows]}
    if by_size is not None:
        payload["sizes"] = [
            {"train_size": size, "models": [asdict(r) for r in size_rows]} for size, size_rows in by_size.items()
        ]
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def write_report(
    rows: list[ModelSummary],
    path: Path,
    context: dict[str, Any],
    by_size: dict[Any, list[ModelSummary]] | None = None,
) -> None:
    """report.md: what was run, on what, the table (per training-set size too) and the figures."""
    seeds = ", ".join(str(s) for s in context["seeds"])
    epochs = "epochs by training-set size below" if by_size is not None else f"{context['epochs']} epochs"
    lines = [
        f"# {context['dataset']}: {' vs '.join(r.model for r in rows)}",
        "",
        f"Command: `{context['command']}`",
        "",
    ]
    protocol = context.get("protocol")
    if protocol is not None:
        lines += [_protocol_line(protocol), ""]
    lines += [
        f"Hardware: {context['hardware']}",
        "",
        f"Recipe: `{context['recipe']}` ({context['source']}); {epochs}; seeds {seeds}. "
        "Every model trained with the identical recipe, data order, augmentation and seeds: only the architecture "
        "differs.",
        "",
    ]
    if by_size is not None:
        largest = list(by_size)[-1]
        epochs = ", ".join(f"{e} at {n}" for n, e in context.get("epochs_per_size", {}).items())
        lines += [
            f"Sample efficiency: every model and seed trained on the first N training images for each N "
            f"(epochs per N: {epochs}), tested on the same held-out test set.",
            "",
            format_size_table(by_size),
            "",
            "![test top-1 against training images](sample_efficiency.png)",
            "",
        ]
        lines += _seed_table(context["runs_by_size"], context.get("chance")) if "runs_by_size" in context else []
        analysis = context.get("analysis")
        if analysis is not None:
            lines += [
                "Paired differences (same seed, same data order for both models; 95% confidence interval over seeds, "
                "Student's t):",
                "",
                format_paired_table(analysis),
                "",
                f"**Verdict** (generated from the numbers above by `aacn.report.study`): {analysis['verdict']}",
                "",
            ]
            sensitivity = analysis.get("sensitivity")
            if sensitivity is not None:
                lines += [
                    "Sensitivity, not the verdict: the same paired differences with the pairs of diverged runs left "
                    "out:",
                    "",
                    format_paired_table(analysis, sensitivity["paired_differences"]),
                    "",
                ]
        if "below_adequacy" in context:
            lines += [format_below_adequacy(context["below_adequacy"]), ""]
        lines += [
            "![training curves at every size](training_curves.png)",
            "",
            f"All measurements at N = {largest}:",
            "",
        ]
    lines += [
        format_table(rows),
        "",
        "Top-1 and top-5 on the validation split after the last epoch: mean ± sample standard deviation over seeds. "
        "GFLOPs: 2 x multiply-adds of one image at the training size. Throughput: training images/s over all "
        "epochs but the first, evaluation images/s over the validation passes. Peak memory: process resident set "
        "on CPU, max allocated on CUDA. Wall time: one run, data loading and evaluation included.",
    ]
    if any(r.diverged for r in rows):
        chance = context.get("chance")
        level = "chance" if chance is None else f"chance ({100 * chance:.2f}%)"
        lines += [
            "",
            f"A diverged run (its training loss became non-finite) counts in top-1 at {level} and in nothing else; "
            "its folder's diverged.json says where it stopped.",
        ]
    if any(r.paper_top1 is not None for r in rows):
        lines += ["", "Paper figures: Bello et al. 2019, the same setting at the paper's full training budget."]
    lines += ["", "![training curves](curves.png)", ""]
    atomic_write_text(path, "\n".join(lines))


def _seed_table(runs_by_size: dict[Any, dict[str, list[dict[str, Any]]]], chance: float | None) -> list[str]:
    """Each seed's test top-1 (%), per size and model, a diverged run's marked and at chance; then how many runs of
    each model diverged at each size."""
    models = list(next(iter(runs_by_size.values())))
    seeds = sorted({int(r["seed"]) for by_model in runs_by_size.values() for rs in by_model.values() for r in rs})
    lines = [
        "Each seed's test top-1 (%):",
        "",
        "| training images | model | " + " | ".join(f"seed {s}" for s in seeds) + " |",
        "|---:|---|" + "---:|" * len(seeds),
    ]
    diverged: list[str] = []
    for size, by_model in runs_by_size.items():
        for model in models:
            by_seed = {int(r["seed"]): r for r in by_model[model]}
            cells = [_seed_cell(by_seed.get(s), chance) for s in seeds]
            lines.append(f"| {size:,} | {model} | " + " | ".join(cells) + " |")
            count = sum(1 for r in by_model[model] if r.get("diverged"))
            if count:
                diverged.append(f"{model}, {count} of {len(by_model[model])} at N = {size:,}")
    if diverged:
        level = "chance" if chance is None else f"chance, {100 * chance:.2f}%"
        note = f"Diverged runs (training loss non-finite; scored at {level}): {'; '.join(diverged)}."
    else:
        note = "No run diverged."
    return [*lines, "", note, ""]


def _seed_cell(run: dict[str, Any] | None, chance: float | None) -> str:
    if run is None:
        return "-"
    if run.get("diverged"):
        where = run["diverged"]
        return f"{100 * scored_top1(run, chance):.2f} (diverged at epoch {where['epoch']}, step {where['step']})"
    return "-" if run["top1"] is None else f"{100 * run['top1']:.2f}"


def protocol_record(path: Path) -> dict[str, Any]:
    """The protocol file's path and sha256, and every git commit that changed it, oldest first, with its date.

    ``commit`` is the last of them. The whole history is kept because a protocol is written first and amended later:
    a reader checks each amendment's date against the runs it governs. Outside a checkout there are no commits.
    """
    import hashlib
    import subprocess

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        found = subprocess.run(
            ["git", "log", "--reverse", "--format=%H %cI", "--", path.name], cwd=path.parent, capture_output=True,
            text=True, check=False, timeout=10,
        )  # fmt: skip
        lines = found.stdout.split("\n") if found.returncode == 0 else []
    except (OSError, subprocess.SubprocessError):
        lines = []
    history = [{"commit": sha, "date": date} for sha, date in (line.split(" ", 1) for line in lines if line.strip())]
    return {"path": str(path), "sha256": digest, "commit": history[-1]["commit"] if history else None,
            "history": history}  # fmt: skip


def _protocol_line(protocol: dict[str, Any]) -> str:
    """report.md's line on the protocol: its hash, when it was first committed and each later change."""
    history = protocol.get("history") or []
    dated = [f"{entry['commit'][:12]} ({entry['date'][:10]})" for entry in history]
    if len(dated) > 1:
        where = f"; first committed in {dated[0]}, changed in {', '.join(dated[1:])}"
    elif dated:
        where = f"; committed in {dated[0]}"
    else:
        where = f", last changed in commit {protocol['commit']}" if protocol.get("commit") else ""
    return f"Protocol: `{protocol['path']}` (sha256 {protocol['sha256']}{where})."


@dataclass
class WrittenReport:
    rows: list[ModelSummary]  # the models' summaries (of the largest training set, in a study)
    table: str  # the table printed at the end
    verdict: str | None  # a two-model study's generated verdict
    written: list[Path]


def _below_adequacy(
    runs: dict[Any, dict[str, list[dict[str, Any]]]],
    curves: dict[Any, dict[str, list[dict[str, dict[int, float]]]]],
    seeds: list[int],
) -> list[list[Any]]:
    """The runs that ended below the adequacy rule's training top-1, as [size, model, seed, top-1] (JSON's lists)."""
    train_top1, diverged = {}, set()
    for size, by_model in runs.items():
        for model, per_seed in by_model.items():
            for seed, run, curve in zip(seeds, per_seed, curves[size][model], strict=True):
                train_top1[size, model, seed] = curve["train_top1"]
                if run.get("diverged"):
                    diverged.add((size, model, seed))
    return [list(run) for run in below_adequacy(train_top1, diverged)]


def write_comparison(
    output: Path,
    runs: dict[Any, dict[str, list[dict[str, Any]]]],
    curves: dict[Any, dict[str, list[dict[str, dict[int, float]]]]],
    context: dict[str, Any],
    chance: float | None = None,
) -> WrittenReport:
    """Everything `aacn compare` writes from its runs' results (``runs[size][model]``: each seed's results.json
    contents; size None without training-set sizes) and curves (each seed's :func:`read_curves`): results.json,
    report.md, curves.png, and for a study sample_efficiency.png and training_curves.png. Needs no checkpoint."""
    from .curves import plot_curves, plot_sample_efficiency, plot_training_curves
    from .study import study_analysis

    sizes = list(runs)
    models = list(runs[sizes[0]])
    study = sizes != [None]
    rows_by_size = {n: [summarize(m, context["dataset"], runs[n][m], chance) for m in models] for n in sizes}
    largest = sizes[-1]
    rows = rows_by_size[largest]
    written = [output / "report.md", output / "results.json", output / "curves.png"]
    verdict = None
    if study:
        context = {**context, "epochs_per_size": {n: int(runs[n][models[0]][0]["epochs"]) for n in sizes}}
        if len(models) == 2:
            context["analysis"] = study_analysis(runs, models[0], models[1], chance)
            verdict = context["analysis"]["verdict"]
        context["below_adequacy"] = _below_adequacy(runs, curves, context["seeds"])
        write_results_json(rows, output / "results.json", context, by_size=rows_by_size)
        name, seeds = context["dataset"], len(context["seeds"])
        title = f"{name}: test top-1 against training images ({seeds} seeds)"
        plot_sample_efficiency(runs, output / "sample_efficiency.png", title, chance)
        plot_training_curves(curves, output / "training_curves.png", f"{name}: training curves, every seed")
        written += [output / "sample_efficiency.png", output / "training_curves.png"]
    else:
        write_results_json(rows, output / "results.json", context)
    seeds = len(context["seeds"])
    title = f"{context['dataset']}: {' vs '.join(models)} ({seeds} seed{'s' * (seeds > 1)})"
    if largest is not None:
        title += f", {largest} training images"
    plot_curves(curves[largest], output / "curves.png", title)
    report_context = {**context, "chance": chance, **({"runs_by_size": runs} if study else {})}
    write_report(rows, output / "report.md", report_context, by_size=rows_by_size if study else None)
    table = format_size_table(rows_by_size) if study else format_table(rows)
    return WrittenReport(rows, table, verdict, written)
