"""``--dataset folder``: a user's own images in class folders, any classes, any sizes, the formats Pillow reads.

Two layouts under ``--data-dir DIR``:

- ``DIR/train/CLASS/*`` and ``DIR/val/CLASS/*``: the two splits as given (both must name the same classes);
- ``DIR/CLASS/*``: one tree, split per class into training and validation images by ``val_fraction``, with a fixed
  permutation (seed 0, whatever the run's seed), so every run and every model sees the same split.

Classes are the sub-folder names, sorted (torchvision's ImageFolder order); a class folder without a single image is
refused by name. Unreadable images are reported by path and skipped, as for ImageNet.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset

from .archives import DatasetError, DatasetNotFoundError
from .imagenet import ImageFolderDataset

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
DEFAULT_VAL_FRACTION = 0.2


def class_folders(root: Path) -> list[str]:
    """The sorted class names of ``root/CLASS/*``; a DatasetError naming a class folder that holds no image."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist; --data-dir names a folder of class folders")
    classes = sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise DatasetNotFoundError(
            f"{root} holds no class folder; expected {root}/<class>/<image> or {root}/train/<class>/<image> and "
            f"{root}/val/<class>/<image>"
        )
    for name in classes:
        images = (p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if next(images, None) is None:
            raise DatasetError(
                f"class folder {root / name} holds no image ({', '.join(IMAGE_EXTENSIONS)}); add images or remove it"
            )
    return classes


def split_indices(targets: list[int], val_fraction: float) -> tuple[list[int], list[int]]:
    """(train, val) indices: per class, a fixed permutation (seed 0), the first round(fraction x n) for validation.

    A class with at least two images keeps at least one in each split, so that both splits hold every class.
    """
    generator = torch.Generator().manual_seed(0)
    by_class: dict[int, list[int]] = {}
    for index, target in enumerate(targets):
        by_class.setdefault(target, []).append(index)
    train, val = [], []
    for target in sorted(by_class):
        members = by_class[target]
        order = [members[i] for i in torch.randperm(len(members), generator=generator).tolist()]
        count = round(val_fraction * len(order))
        if len(order) >= 2:
            count = min(max(count, 1), len(order) - 1)
        val += order[:count]
        train += order[count:]
    return sorted(train), sorted(val)


def folder_split(root: Path, train: bool, val_fraction: float | None) -> tuple[ImageFolderDataset | Subset, list[str]]:
    """The train or validation images of a folder dataset and its class names."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"--data-dir {root} is a file; name the folder that holds the class folders")
    split_folders = [(root / split).is_dir() for split in ("train", "val")]
    if any(split_folders):
        if not all(split_folders):
            have, lack = ("train", "val") if split_folders[0] else ("val", "train")
            raise DatasetNotFoundError(
                f"{root} has {have}/ but no {lack}/; give both, or put the class folders directly under {root} and "
                f"split them with --val-fraction"
            )
        if val_fraction is not None:
            raise DatasetError(
                f"--val-fraction splits one tree of class folders, but {root} already has train/ and val/; drop it"
            )
        classes = class_folders(root / "train")
        val_classes = class_folders(root / "val")
        if val_classes != classes:
            missing = sorted(set(classes) ^ set(val_classes))
            raise DatasetError(
                f"{root}/train and {root}/val name different classes (only in one: {', '.join(missing[:5])}); "
                f"both need the same class folders"
            )
        dataset = ImageFolderDataset(root, "train" if train else "val")
        return dataset, classes
    classes = class_folders(root)
    dataset = ImageFolderDataset(root, ".")
    targets = [target for _, target in dataset.samples]
    return fraction_subset(dataset, targets, train, val_fraction, f"{root}", "images"), classes


def fraction_subset(dataset: Dataset, targets: list[int], train: bool, val_fraction: float | None, where: str,
                    items: str) -> Subset:  # fmt: skip
    """The training or validation part of one split divided by ``split_indices``; an empty part is a DatasetError."""
    fraction = DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction
    train_indices, val_indices = split_indices(targets, fraction)
    indices = train_indices if train else val_indices
    if not indices:
        raise DatasetError(
            f"{where}: a validation fraction of {fraction} leaves the {'training' if train else 'validation'} split "
            f"of its {len(targets)} {items} empty; add {items} or change --val-fraction"
        )
    return Subset(dataset, indices)


__all__ = [
    "DEFAULT_VAL_FRACTION",
    "IMAGE_EXTENSIONS",
    "class_folders",
    "folder_split",
    "fraction_subset",
    "split_indices",
]
