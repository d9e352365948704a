"""What a finished run leaves behind and the reports read: its per-epoch curves from Lightning's metrics.csv."""

from __future__ import annotations

import csv
from pathlib import Path


def read_curves(metrics_csv: Path) -> dict[str, dict[int, float]]:
    """Per-epoch training loss, training top-1 and validation top-1 from a run's Lightning metrics.csv."""
    curves: dict[str, dict[int, float]] = {"train_loss": {}, "train_top1": {}, "val_top1": {}}
    with open(metrics_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("epoch"):
                continue
            epoch = int(float(row["epoch"]))
            if row.get("train/loss_epoch"):
                curves["train_loss"][epoch] = float(row["train/loss_epoch"])
            if row.get("train/top1"):
                curves["train_top1"][epoch] = float(row["train/top1"])
            if row.get("val/top1"):
                curves["val_top1"][epoch] = float(row["val/top1"])
    last = max(curves["train_loss"], default=None)
    if last is not None:  # a test after the last epoch is logged at the next epoch's index: it belongs to the last
        late = {e: v for e, v in curves["val_top1"].items() if e > last}
        curves["val_top1"] = {e: v for e, v in curves["val_top1"].items() if e <= last}
        if late:
            curves["val_top1"][last] = late[max(late)]
    return curves
