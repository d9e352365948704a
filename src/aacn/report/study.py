"""A sample-efficiency study's analysis, fixed before its results (docs/svrt_study.md, "Analysis"):

- per training-set size, the mean paired difference of test top-1 (second model minus first, pairs by seed: the same
  seed gives both models the same data order) with a 95% confidence interval over seeds (Student's t);
- for each model, the smallest size whose mean top-1 reaches each threshold (80% and 90%);
- the verdict, a few sentences generated from those numbers and nothing else.

A run whose training loss became non-finite (``"diverged"`` in its results.json, no test top-1) is scored at chance
(Amendment 2 of the protocol); beside the analysis, a sensitivity analysis leaves out the pairs of diverged runs, and
the verdict says at which sizes the two disagree.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .run_files import read_curves

# Student's t: the 0.975 quantile for 1..30 degrees of freedom (two-sided 95%)
_T_975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604, 2.1448,
    2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484,
    2.0452, 2.0423,
)  # fmt: skip
THRESHOLDS = (0.8, 0.9)


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (a table to 30, then the Cornish-Fisher
    expansion around the normal's 1.95996, within 1e-4 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass
class PairedDifference:
    """Test top-1 of ``second`` minus ``first`` at one training-set size, seed by seed (fractions)."""

    train_size: int
    seeds: list[int]
    differences: list[float]
    mean: float
    low: float | None  # 95% confidence interval of the mean; None with fewer than two pairs
    high: float | None

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def paired_difference(train_size: int, first: list[dict[str, Any]], second: list[dict[str, Any]]) -> PairedDifference:
    """Pairs the two models' runs by seed (runs as their results.json contents)."""
    by_seed = {int(r["seed"]): float(r["top1"]) for r in first}
    pairs = [(int(r["seed"]), float(r["top1"]) - by_seed[int(r["seed"])]) for r in second if int(r["seed"]) in by_seed]
    if not pairs:
        raise ValueError(f"no seed was run by both models at {train_size} training images")
    seeds, differences = [s for s, _ in sorted(pairs)], [d for _, d in sorted(pairs)]
    mean = statistics.fmean(differences)
    low = high = None
    if len(differences) > 1:
        half = t_quantile_975(len(differences) - 1) * statistics.stdev(differences) / math.sqrt(len(differences))
        low, high = mean - half, mean + half
    return PairedDifference(train_size, seeds, differences, mean, low, high)


def smallest_size_reaching(mean_top1_by_size: dict[int, float | None], level: float) -> int | None:
    """The smallest training-set size whose mean top-1 is at least ``level``; None if none is."""
    reached = [size for size, top1 in sorted(mean_top1_by_size.items()) if top1 is not None and top1 >= level]
    return reached[0] if reached else None


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def verdict(
    first: str, second: str, differences: list[PairedDifference], thresholds: dict[str, dict[float, int | None]]
) -> str:
    """The study's verdict in words, generated from the paired differences and the thresholds alone."""
    largest = max(d.train_size for d in differences)
    sentences = []
    decided = [d for d in differences if d.excludes_zero]
    undecided = [d for d in differences if not d.excludes_zero and d.low is not None]
    for d in decided:
        side = "higher" if d.mean > 0 else "lower"
        sentences.append(
            f"At {d.train_size:,} training images {second} scores {side} than {first}: {_points(d.mean)} points "
            f"(95% CI {_points(d.low)} to {_points(d.high)}, {len(d.seeds)} paired seeds)."  # type: ignore[arg-type]
        )
    if undecided:
        sizes = ", ".join(f"{d.train_size:,}" for d in undecided)
        bound = max(max(abs(d.low), abs(d.high)) for d in undecided)  # type: ignore[arg-type]
        lead = "At every training-set size" if not decided else f"At {sizes} training images"
        sentences.append(
            f"{lead} the 95% confidence interval of {second} minus {first} includes zero: no difference is "
            f"detected there, and differences larger than {100 * bound:.1f} points are ruled out at 95%."
        )
    if not decided and not undecided:
        sentences.append("One seed per size: no confidence interval, so no verdict on the difference.")
    for model in (first, second):
        parts = [
            f"{100 * level:.0f}% at N = {n:,}" if n is not None else f"not {100 * level:.0f}% by N = {largest:,}"
            for level, n in sorted(thresholds[model].items())
        ]
        sentences.append(f"Mean test top-1 of {model}: {' and '.join(parts)}.")
    return " ".join(sentences)


def scored_top1(run: dict[str, Any], chance: float | None) -> float:
    """A run's test top-1 as the analysis counts it: a diverged run, which has none, at ``chance`` (what a network
    with no usable output scores on a balanced test set)."""
    if run.get("diverged"):
        if chance is None:
            raise ValueError(
                f"the {run['model']} run of seed {run['seed']} diverged: give the chance level to score it"
            )
        return chance
    return float(run["top1"])


Runs = dict[int, dict[str, list[dict[str, Any]]]]  # size -> model -> each seed's results.json contents


def _differences_and_thresholds(
    runs_by_size: Runs, first: str, second: str
) -> tuple[list[PairedDifference], dict[str, dict[float, int | None]]]:
    differences = [paired_difference(n, by_model[first], by_model[second]) for n, by_model in runs_by_size.items()]
    means = {
        model: {n: statistics.fmean(float(r["top1"]) for r in by_model[model]) for n, by_model in runs_by_size.items()}
        for model in (first, second)
    }
    thresholds = {m: {level: smallest_size_reaching(means[m], level) for level in THRESHOLDS} for m in means}
    return differences, thresholds


def _interval(d: PairedDifference | None) -> str:
    if d is None:
        return "no pair left"
    if d.low is None:
        return f"{_points(d.mean)} points, one pair: no interval"
    side = "excludes" if d.excludes_zero else "includes"
    return f"{_points(d.mean)} points, 95% CI {_points(d.low)} to {_points(d.high)}, {side} zero"  # type: ignore[arg-type]


def disagreement(
    scored: list[PairedDifference], without: list[PairedDifference], left_out: dict[int, list[int]]
) -> str:
    """What the sensitivity analysis changes: the sizes whose interval excludes zero in one analysis and not in the
    other (a size with no pair left, or one pair, has no interval: it excludes nothing)."""
    kept = {d.train_size: d for d in without}
    seeds = "; ".join(
        f"N = {n:,}: seed{'s' * (len(s) > 1)} {', '.join(map(str, s))}" for n, s in sorted(left_out.items()) if s
    )
    disagree = [d for d in scored if d.excludes_zero != (d.train_size in kept and kept[d.train_size].excludes_zero)]
    if not disagree:
        return f"Leaving out the pairs with a diverged run ({seeds}) changes the conclusion at no size."
    parts = [
        f"at {d.train_size:,} training images, with diverged runs at chance {_interval(d)}; without their pairs "
        f"{_interval(kept.get(d.train_size))}"
        for d in disagree
    ]
    return f"Leaving out the pairs with a diverged run ({seeds}), the two analyses disagree: {'; '.join(parts)}."


def study_analysis(runs_by_size: Runs, first: str, second: str, chance: float | None = None) -> dict[str, Any]:
    """The paired differences, thresholds and verdict of a two-model study, as results.json holds them; diverged
    runs are scored at ``chance``, counted per size and model, and left out (with their pairs) in ``sensitivity``."""
    scored = {
        n: {m: [{**r, "top1": scored_top1(r, chance)} for r in by_model[m]] for m in (first, second)}
        for n, by_model in runs_by_size.items()
    }
    differences, thresholds = _differences_and_thresholds(scored, first, second)
    diverged = {
        n: {m: sorted(int(r["seed"]) for r in by_model[m] if r.get("diverged")) for m in (first, second)}
        for n, by_model in runs_by_size.items()
    }
    text = verdict(first, second, differences, thresholds)
    analysis: dict[str, Any] = {
        "first": first,
        "second": second,
        "paired_differences": [asdict(d) for d in differences],
        "thresholds": _threshold_record(thresholds),
        "diverged": {str(n): seeds for n, seeds in diverged.items()},
    }
    left_out = {n: sorted({*by_model[first], *by_model[second]}) for n, by_model in diverged.items()}
    if any(left_out.values()):
        kept = {
            n: {m: [r for r in by_model[m] if int(r["seed"]) not in left_out[n]] for m in (first, second)}
            for n, by_model in scored.items()
        }
        kept = {n: by_model for n, by_model in kept.items() if _paired_seeds(by_model[first], by_model[second])}
        without, kept_thresholds = _differences_and_thresholds(kept, first, second) if kept else ([], {})
        analysis["sensitivity"] = {
            "left_out": {str(n): seeds for n, seeds in left_out.items() if seeds},
            "paired_differences": [asdict(d) for d in without],
            "thresholds": _threshold_record(kept_thresholds),
        }
        text += " " + disagreement(differences, without, left_out)
    analysis["verdict"] = text
    return analysis


def _paired_seeds(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> set[int]:
    return {int(r["seed"]) for r in first} & {int(r["seed"]) for r in second}


def _threshold_record(thresholds: dict[str, dict[float, int | None]]) -> dict[str, dict[str, int | None]]:
    return {model: {str(level): n for level, n in levels.items()} for model, levels in thresholds.items()}


def format_paired_table(analysis: dict[str, Any], paired_differences: list[dict[str, Any]] | None = None) -> str:
    """Per size: the mean paired difference, its interval and each seed's difference, in points (of the analysis,
    or of the ``paired_differences`` given, such as the sensitivity analysis's)."""
    second, first = analysis["second"], analysis["first"]
    lines = [
        f"| training images | {second} minus {first} (points) | 95% CI | per seed |",
        "|---:|---:|---:|---|",
    ]
    for d in analysis["paired_differences"] if paired_differences is None else paired_differences:
        interval = "-" if d["low"] is None else f"{_points(d['low'])} to {_points(d['high'])}"
        seeds = ", ".join(f"{s}: {_points(x)}" for s, x in zip(d["seeds"], d["differences"], strict=True))
        lines.append(f"| {d['train_size']:,} | {_points(d['mean'])} | {interval} | {seeds} |")
    return "\n".join(lines)


# The adequacy rule of docs/svrt_study.md: a budget is adequate when every run's training top-1 reaches this.
ADEQUATE_TRAIN_TOP1 = 0.99


TrainCurves = dict[tuple[int, str, int], dict[int, float]]  # (size, model, seed) -> {epoch: training top-1}


def adequate_epochs(train_top1: TrainCurves, ladder: tuple[int, ...], level: float = ADEQUATE_TRAIN_TOP1) -> int | None:
    """The smallest number of epochs in ``ladder`` at which the training top-1 of every pilot run, read at that
    epoch of its (longer) training curve, is at least ``level``; None if no rung is adequate. ``train_top1`` maps
    (size, model, seed) to {epoch (0-based): training top-1}. Reading a longer cosine run mid-way is conservative: a
    run of that length would end at a lower learning rate."""
    if not train_top1:
        raise ValueError("no pilot run to read: adequacy needs the training curves of at least one run")
    for epochs in sorted(ladder):
        if all(curve.get(epochs - 1, 0.0) >= level for curve in train_top1.values()):
            return epochs
    return None


def below_adequacy(
    train_top1: TrainCurves,
    diverged: AbstractSet[tuple[int, str, int]] = frozenset(),
    level: float = ADEQUATE_TRAIN_TOP1,
) -> list[tuple[int, str, int, float]]:
    """The study's runs whose training top-1 at their last epoch is below ``level``, as (size, model, seed, top-1),
    sorted: the protocol's fallback budget makes the report name them. A diverged run (in ``diverged``) is reported
    as diverged instead, and one with no logged epoch has nothing to read."""
    last = {key: curve[max(curve)] for key, curve in train_top1.items() if curve and key not in diverged}
    return sorted((*key, top1) for key, top1 in last.items() if top1 < level)


def format_below_adequacy(below: Sequence[Sequence[Any]], level: float = ADEQUATE_TRAIN_TOP1) -> str:
    """One sentence: which runs ended below the adequacy rule's training top-1 ((size, model, seed, top-1) each, as
    :func:`below_adequacy` or results.json gives them), or that none did."""
    what = f"a training top-1 (the last epoch's running accuracy) below {100 * level:g}%, the adequacy rule's level"
    if not below:
        return f"No run that did not diverge ended with {what}."
    runs = "; ".join(f"{model} seed {seed} at N = {size:,} ({100 * top1:.1f}%)" for size, model, seed, top1 in below)
    return f"Runs that ended with {what}: {runs}."


def format_adequacy_table(train_top1: TrainCurves, ladder: tuple[int, ...]) -> str:
    """Training top-1 (%) of each pilot run at each rung of the ladder."""
    lines = [
        "| training images | model | seed | " + " | ".join(f"epoch {e}" for e in ladder) + " |",
        "|---:|---|---:|" + "---:|" * len(ladder),
    ]
    for (size, model, seed), curve in sorted(train_top1.items()):
        cells = [f"{100 * curve[e - 1]:.1f}" if e - 1 in curve else "-" for e in ladder]
        lines.append(f"| {size:,} | {model} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pilot_train_curves(output: Path) -> TrainCurves:
    """The training top-1 curves of every run under an `aacn compare --train-sizes` folder (n<N>/<model>/seed<k>)."""
    curves: TrainCurves = {}
    for metrics in sorted(output.glob("n*/*/seed*/metrics.csv")):
        seed_dir, model_dir, size_dir = metrics.parent, metrics.parent.parent, metrics.parent.parent.parent
        key = (int(size_dir.name[1:]), model_dir.name, int(seed_dir.name[4:]))
        curves[key] = read_curves(metrics)["train_top1"]
    return curves
