"""``diverged.json``: where a run stopped because its training loss became non-finite.

`aacn train` writes it as it stops (beside metrics.csv and config.yaml) and removes an earlier try's; `aacn compare`
counts the run as done from it. Here, below both, so that neither imports the other's floor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text

DIVERGED = "diverged.json"  # {"epoch", "step", "loss", "message"}


def read_divergence(run_folder: Path) -> dict[str, Any] | None:
    """Where the run in ``run_folder`` diverged ({"epoch", "step", "loss", "message"}); None if it did not."""
    path = run_folder / DIVERGED
    return json.loads(path.read_text()) if path.is_file() else None


def write_divergence(run_folder: Path, epoch: int, step: int, loss: float, message: str) -> None:
    """Record, atomically, that the run in ``run_folder`` diverged at ``epoch`` and ``step`` (``loss``: NaN or inf)."""
    record = {"epoch": epoch, "step": step, "loss": str(loss), "message": message}
    atomic_write_text(run_folder / DIVERGED, json.dumps(record, indent=2) + "\n")
