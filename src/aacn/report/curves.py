"""Figures of aacn compare: training curves against epoch, and test accuracy against training-set size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.extras import require_extra


def plot_curves(curves: dict[str, list[dict[str, dict[int, float]]]], path: Path, title: str) -> None:
    """``curves[model]`` holds one {"train_loss": {epoch: v}, "val_top1": {epoch: v}} per seed."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axis, top1_axis) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
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
    """Test top-1 against training-set size (log scale): one line per model through the mean over seeds, and a band
    from the lowest to the highest seed; ``chance`` (a fraction) is drawn as a dotted line. ``runs[size][model]``
    holds each seed's results.json contents."""
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(runs)
    models = list(runs[sizes[0]])
    figure, axis = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for model in models:
        values = [[100 * r["top1"] for r in runs[size][model]] for size in sizes]
        mean = [float(np.mean(v)) for v in values]
        (line,) = axis.plot(sizes, mean, marker="o", label=model)
        if max(len(v) for v in values) > 1:
            axis.fill_between(
                sizes, [min(v) for v in values], [max(v) for v in values], color=line.get_color(), alpha=0.2
            )
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
