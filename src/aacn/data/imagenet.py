"""ImageNet (or any dataset) in torchvision's ImageFolder layout: ``train/<class>/*.JPEG`` and ``val/<class>/*``.

Images are decoded with Pillow. A file that cannot be decoded does not crash an epoch: it is reported once, by path,
with a warning, and the next readable image of the split stands in for it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from .archives import DatasetNotFoundError


def _load_rgb(path: str) -> Image.Image:
    with open(path, "rb") as handle:
        image = Image.open(handle)
        return image.convert("RGB")


class ImageFolderDataset(Dataset):
    """(PIL image, class index) pairs of one split, skipping unreadable files with a warning naming them."""

    def __init__(self, root: Path, split: str) -> None:
        from torchvision.datasets import ImageFolder

        folder = Path(root) / split
        if not folder.is_dir():
            raise DatasetNotFoundError(
                f"image folder not found: expected {folder}/<class>/<image> (torchvision ImageFolder layout, "
                f"with train/ and val/ under --data-dir {root})"
            )
        try:
            self._folder = ImageFolder(str(folder), loader=_load_rgb)
        except FileNotFoundError as error:
            raise DatasetNotFoundError(f"{folder}: {error}") from None
        self.classes: list[str] = self._folder.classes
        self.samples: list[tuple[str, int]] = self._folder.samples
        self.unreadable: set[str] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        for offset in range(len(self.samples)):
            path, target = self.samples[(index + offset) % len(self.samples)]
            if path in self.unreadable:
                continue
            try:
                return _load_rgb(path), target
            except (OSError, UnidentifiedImageError, ValueError) as error:
                self.unreadable.add(path)
                warnings.warn(f"skipping unreadable image {path}: {error}", RuntimeWarning, stacklevel=2)
        raise DatasetNotFoundError(f"no readable image in {len(self.samples)} files of this split")
