"""Small image folders in the layout users give ``--dataset folder`` (shared by the data and engine tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_classes(root: Path, counts: dict[str, int], suffix: str = ".png") -> None:
    """``root/CLASS/i.png`` images of varied sizes (Pillow-readable, as a user's would be)."""
    rng = np.random.default_rng(0)
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(20 + i, 30, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}{suffix}")
