"""curves.png: training loss and validation top-1 against epoch, one line per model (mean over seeds)."""

from __future__ import annotations

from pathlib import Path

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
