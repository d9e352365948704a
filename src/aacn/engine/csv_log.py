"""metrics.csv that survives a resume, on Lightning's public ``Logger`` interface.

One row per ``log_metrics`` call (a training step's or an epoch's metrics), as Lightning's CSV logger writes them.
A resumed run keeps the rows of the steps before its checkpoint and drops the rows the interrupted process logged
after it (they are logged again). The file is rewritten atomically after every checkpoint save and at the end, so
the rows on disk always cover what the last checkpoint covers, whatever kills the process.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from ..utils import atomic_write_text

METRICS_FILE = "metrics.csv"


class ResumableCSVLogger(Logger):
    """``<folder>/metrics.csv``; with ``resume_step`` it starts from the rows logged before that step."""

    def __init__(self, folder: str | Path, resume_step: int | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.path = self.folder / METRICS_FILE
        self.rows: list[dict[str, Any]] = []
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as handle:
                self.rows = [
                    row for row in csv.DictReader(handle) if row.get("step") and int(row["step"]) < resume_step
                ]

    @property
    def name(self) -> str:
        return "csv"

    @property
    def version(self) -> int:
        return 0

    @property
    def save_dir(self) -> str:
        return str(self.folder)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: config.yaml holds every setting of the run."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        # tensors become numbers; ints (epoch) stay ints, as Lightning's CSV logger writes them
        row: dict[str, Any] = {key: value.item() if hasattr(value, "item") else value for key, value in metrics.items()}
        row["step"] = step
        self.rows.append(row)

    @rank_zero_only
    def save(self) -> None:
        if not self.rows:
            return
        keys = sorted({key for row in self.rows for key in row} - {"epoch", "step"})
        header = [k for k in ("epoch", "step") if any(k in row for row in self.rows)] + keys
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.path, text.getvalue())

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        self.save()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()
