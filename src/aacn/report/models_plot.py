"""``aacn models --plot``: params and GFLOPs of each plain model beside its AA twin, the paper's figures marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..utils.extras import require_extra
from .models_table import ModelRow


def plain_aa_pairs(rows: list[ModelRow]) -> list[tuple[ModelRow, ModelRow]]:
    by_name = {row.model: row for row in rows}
    return [(row, by_name[f"aa_{row.model}"]) for row in rows if f"aa_{row.model}" in by_name]


def plot_models(rows: list[ModelRow], path: Path) -> None:
    require_extra("report", "drawing figures")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = plain_aa_pairs(rows)
    if not pairs:
        raise ValueError("no plain/AA model pair to plot; drop --filter or widen it")
    labels = [plain.model for plain, _ in pairs]
    x = np.arange(len(pairs))
    width = 0.38
    figure, axes = plt.subplots(2, 1, figsize=(max(7.0, 0.9 * len(pairs) + 2), 7.5), dpi=120, sharex=True)
    panels = (
        ("params (M)", lambda r: r.params / 1e6, lambda r: r.paper_params_m),
        ("GFLOPs (one image, design input size)", lambda r: r.gflops, lambda r: r.paper_gflops),
    )
    for axis, (label, ours, paper) in zip(axes, panels, strict=True):
        plain_values = [ours(p) for p, _ in pairs]
        aa_values = [ours(a) for _, a in pairs]
        axis.bar(x - width / 2, plain_values, width, label="plain (ours)", color="#4c72b0")
        axis.bar(x + width / 2, aa_values, width, label="AA (ours)", color="#dd8452")
        for offset, index in ((-width / 2, 0), (width / 2, 1)):
            marks = [(i + offset, paper(pair[index])) for i, pair in enumerate(pairs) if paper(pair[index]) is not None]
            if marks:
                axis.scatter(*zip(*marks, strict=True), marker="_", s=500, linewidths=2.5, color="black", zorder=3,
                             label="paper" if index == 0 else None)  # fmt: skip
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    axes[-1].set_xticks(x, labels, rotation=30, ha="right")
    figure.suptitle("Plain vs attention-augmented: our counts (bars) and the paper's (black marks)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
