"""metrics.csv that survives a resume.

Lightning's CSV writer deletes an existing metrics.csv when it starts. A resumed run keeps the rows of the steps
before its checkpoint instead, and drops the rows the interrupted process logged after it (they are logged again).
"""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


class _KeepingWriter(ExperimentWriter):
    def __init__(self, log_dir: str, resume_step: int | None) -> None:
        path = Path(log_dir) / self.NAME_METRICS_FILE
        kept: list[dict[str, str]] = []
        if resume_step is not None and path.is_file():
            with open(path, newline="") as handle:
                kept = [row for row in csv.DictReader(handle) if row.get("step") and int(row["step"]) < resume_step]
        super().__init__(log_dir)  # deletes metrics.csv
        if kept:
            self.metrics_keys = sorted({key for row in kept for key in row})
            with open(path, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.metrics_keys)
                writer.writeheader()
                writer.writerows(kept)


class ResumableCSVLogger(CSVLogger):
    """CSVLogger writing ``<save_dir>/metrics.csv``; with ``resume_step`` it keeps the rows logged before that step."""

    def __init__(self, save_dir: str, resume_step: int | None = None) -> None:
        super().__init__(save_dir, name="", version="")
        self._resume_step = resume_step

    @property
    def experiment(self) -> ExperimentWriter:  # type: ignore[override]
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _KeepingWriter(self.log_dir, self._resume_step)
        return self._experiment
