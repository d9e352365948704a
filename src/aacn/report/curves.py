"""Figures of aacn compare: training curves against epoch, and test accuracy against training-set size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.extras import require_extra
from .study import scored_top1


def plot_curves(curves: dict[str, list[dict[str, dict[int, float]]]], path: Path, title: str) -> None:
    """``curves[model]`` holds one {"train_loss": {epoch: v}, "val_top1": {epoch: v}} per seed."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # One epoch axis for both panels: a validation logged only at the end still sits at its place in the run.
    figure, (loss_axis, top1_axis) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120, sharex=True)
    for model, runs in curves.items():
        for axis, key, scale in ((loss_axis, "train_loss", 1.0), (top1_axis, "val_top1", 100.0)):
            epochs = sorted(set.intersection(*(set(run[key]) for run in runs))) if runs else []
            if not epochs:
                continue
            values = np.array([[run[key][e] * scale for e in epochs] for run in runs])
            x = np.array(epochs) + 1
            (line,) = axis.plot(x, values.mean(0), marker="o", label=model)
            if len(runs) > 1:
                axis.fill_between(x, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    loss_axis.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    top1_axis.set(xlabel="epoch", ylabel="validation top-1 (%)", title="Validation top-1")
    for axis in (loss_axis, top1_axis):
        axis.grid(alpha=0.3)
        axis.legend()
        axis.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def plot_sample_efficiency(
    runs: dict[int, dict[str, list[dict[str, Any]]]], path: Path, title: str, chance: float | None = None
) -> None:
    """Test top-1 against training-set size (log scale): one line per model through the mean over seeds and every
    seed's own point beside it (a diverged run's as a cross at chance); ``chance`` (a fraction) is drawn as a dotted
    line. ``runs[size][model]`` holds each seed's results.json contents."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(runs)
    models = list(runs[sizes[0]])
    figure, axis = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    marked_diverged = False
    for index, model in enumerate(models):
        values = [[100 * scored_top1(r, chance) for r in runs[size][model]] for size in sizes]
        mean = [float(np.mean(v)) for v in values]
        (line,) = axis.plot(sizes, mean, marker="o", label=f"{model} (mean)")
        # each seed's point, nudged sideways per model (x 1.04 on the log axis) so that the models' points stay apart
        nudge = 1.04 ** (index - (len(models) - 1) / 2)
        seed_x = [size * nudge for size, v in zip(sizes, values, strict=True) for _ in v]
        seed_y = [value for v in values for value in v]
        diverged = [bool(r.get("diverged")) for size in sizes for r in runs[size][model]]
        kept = [i for i, d in enumerate(diverged) if not d]
        axis.scatter([seed_x[i] for i in kept], [seed_y[i] for i in kept], s=14, color=line.get_color(), alpha=0.55,
                     linewidths=0)  # fmt: skip
        failed = [i for i, d in enumerate(diverged) if d]
        if failed:  # a diverged run, scored at chance: a cross, so that it does not pass for a measured point
            label = None if marked_diverged else "diverged (at chance)"
            axis.scatter([seed_x[i] for i in failed], [seed_y[i] for i in failed], s=30, marker="x",
                         color=line.get_color(), label=label)  # fmt: skip
            marked_diverged = True
    axis.set_xscale("log")
    axis.set_xticks(sizes, [str(s) for s in sizes])
    axis.minorticks_off()
    if chance is not None:
        axis.axhline(100 * chance, color="grey", lw=0.8, ls=":", label="chance")
    axis.set(xlabel="training images (log scale)", ylabel="test top-1 (%)", title=title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def plot_training_curves(
    curves: dict[int, dict[str, list[dict[str, dict[int, float]]]]], path: Path, title: str
) -> None:
    """Training loss and training top-1 against epoch, one column per training-set size, every seed's run as a thin
    line (``curves[size][model]`` holds one :func:`aacn.report.comparison.read_curves` result per seed): what the
    adequacy rule of a study reads."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(curves)
    figure, axes = plt.subplots(2, len(sizes), figsize=(3.2 * len(sizes) + 1, 6), dpi=110, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for column, size in enumerate(sizes):
        for index, (model, runs) in enumerate(curves[size].items()):
            for row, key, scale in ((0, "train_loss", 1.0), (1, "train_top1", 100.0)):
                axis = axes[row][column]
                for number, run in enumerate(runs):
                    epochs = sorted(run.get(key, {}))
                    label = model if number == 0 else None
                    axis.plot([e + 1 for e in epochs], [run[key][e] * scale for e in epochs], lw=0.9, alpha=0.7,
                              marker=".", ms=3, color=colours[index % len(colours)], label=label)  # fmt: skip
        axes[0][column].set(title=f"N = {size:,}", yscale="log")
        axes[1][column].set(xlabel="epoch", ylim=(40, 101))
    axes[0][0].set(ylabel="training loss (log)")
    axes[1][0].set(ylabel="training top-1 (%)")
    for axis in axes.flat:
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
