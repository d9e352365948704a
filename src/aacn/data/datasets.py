"""The dataset registry: ``--dataset`` names, their class counts and image sizes, and how to build a split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from .archives import DatasetError
from .cifar import CIFAR10, CIFAR100, load_cifar
from .digits import DIGITS_IMAGE_SIZE, load_digits_split
from .fake import fake_split
from .folder import folder_split
from .hf import PREFIX as HF_PREFIX
from .hf import HFOptions, hf_split, source_of
from .imagenet import ImageFolderDataset
from .motifs import SEQUENCE_LENGTH, check_length, motif_split
from .shards import PREFIX as SHARDS_PREFIX
from .shards import read_index
from .svrt import SVRT_IMAGE_SIZE, check_size, svrt_split
from .transforms import (
    CIFAR10_STATS,
    CIFAR100_STATS,
    FAKE_STATS,
    IMAGENET_STATS,
    SVRT_STATS,
    cifar_transforms,
    digits_transforms,
    imagenet_transforms,
    plain_transforms,
)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int  # 0: read from the data (a folder's class folders)
    image_size: int | None  # None: the model's own input size (fake data); for sequences, their length
    dims: int = 2  # spatial axes of its inputs: 2 images, 1 sequences
    check_size: Callable[[int], None] | None = None  # refuses an image side (sequence length) it cannot provide


DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo("cifar10", 10, 32),
    "cifar100": DatasetInfo("cifar100", 100, 32),
    "imagenet": DatasetInfo("imagenet", 1000, 224),
    "digits": DatasetInfo("digits", 10, DIGITS_IMAGE_SIZE),
    "fake": DatasetInfo("fake", 10, None),
    "svrt1": DatasetInfo("svrt1", 2, SVRT_IMAGE_SIZE, check_size=partial(check_size, "svrt1")),
    "svrt2": DatasetInfo("svrt2", 2, SVRT_IMAGE_SIZE, check_size=partial(check_size, "svrt2")),
    "motif_pairs": DatasetInfo("motif_pairs", 2, SEQUENCE_LENGTH, dims=1, check_size=check_length),
    "folder": DatasetInfo("folder", 0, None),  # the user's class folders, at the model's input size by default
}
# the generated problems: their evaluation split takes a size and a held-out stream
GENERATED = ("svrt1", "svrt2", "motif_pairs")


def is_user_data(name: str) -> bool:
    """A user's own images: a folder of class folders, a Hugging Face dataset (``hf:SOURCE``) or WebDataset shards
    (``shards:DIR``); their classes,
    split and normalisation come from the data and the run's settings."""
    return name == "folder" or name.startswith((HF_PREFIX, SHARDS_PREFIX))


def dataset_info(name: str) -> DatasetInfo:
    if name.startswith(HF_PREFIX):
        source_of(name)  # an empty source fails here
        return DatasetInfo(name, 0, None)
    if name.startswith(SHARDS_PREFIX):
        if name == SHARDS_PREFIX:
            raise DatasetError("--dataset shards: needs a folder, e.g. shards:data/pets_shards (see `aacn shards`)")
        return DatasetInfo(name, 0, None)
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}, or hf:SOURCE (a Hugging Face dataset)"
        ) from None


class SequenceDataset(Dataset):
    """Sequences (N, C, L) float32 and labels (N,) held in memory; items are ((C, L) float tensor, label)."""

    def __init__(self, sequences: np.ndarray, labels: np.ndarray) -> None:
        self.sequences = torch.from_numpy(np.ascontiguousarray(sequences))
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.sequences[index], int(self.labels[index])


def as_is(item: torch.Tensor) -> torch.Tensor:
    """The transform of data generated ready for the model (normalised sequences)."""
    return item


class ArrayDataset(Dataset):
    """Images (N, H, W, C) uint8 and labels (N,) held in memory; items are (CHW uint8 tensor, label)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


@dataclass
class Split:
    """A split's raw items, their transform and its class count."""

    base: Dataset
    transform: object
    num_classes: int
    classes: list[str] | None = None  # class names by index, where the data names them (folders)


def build_split(
    name: str, train: bool, data_dir: str | Path | None, download: bool, image_size: int, train_size: int | None = None,
    val_size: int | None = None, holdout: bool = False, val_fraction: float | None = None,
    stats: tuple[tuple[float, ...], tuple[float, ...]] | None = None, hf: HFOptions | None = None,
) -> Split:  # fmt: skip
    """The train or validation split of dataset ``name``, raw, with the transform that belongs to it.

    ``train_size``: the training split's first N samples (generated problems draw exactly N; stored datasets take the
    first N of a fixed permutation, the same for every run). The validation split is whole; for the generated
    problems ``val_size`` sets how many images it draws (default SVRT_TEST_SIZE) and ``holdout`` draws them from the
    held-out stream instead of the test stream (for pilots that must not look at the test set). ``val_fraction``
    splits a folder dataset's single tree (or a Hugging Face dataset without a validation split); ``stats`` (mean,
    std) normalise the user's images (default ImageNet's); ``hf`` says how to read a Hugging Face dataset.
    """
    generated = name in GENERATED
    if not generated and (val_size is not None or holdout):
        raise DatasetError(
            f"val_size and holdout are for the generated problems ({', '.join(GENERATED)}); {name} has a fixed "
            f"validation split"
        )
    if name == "motif_pairs":
        count = train_size if train else val_size
        sequences, labels = motif_split(train, image_size, count, holdout=holdout and not train)
        return Split(SequenceDataset(sequences, labels), as_is, dataset_info(name).num_classes)
    if generated and not train:
        info = dataset_info(name)
        images, labels = svrt_split(name, False, image_size, val_size, holdout=holdout)
        return Split(ArrayDataset(images, labels), plain_transforms(SVRT_STATS), info.num_classes)
    if not is_user_data(name) and (val_fraction is not None or stats is not None or hf is not None):
        raise DatasetError(f"val_fraction and normalisation statistics are for your own images, not {name}")
    if is_user_data(name):
        if download:
            raise DatasetError(f"--dataset {name} reads your own images; --download has nothing to fetch")
        if name.startswith(HF_PREFIX):
            base, classes = hf_split(name, train, val_fraction, hf or HFOptions())
        elif name.startswith(SHARDS_PREFIX):
            if val_fraction is not None or train_size is not None:
                raise DatasetError(f"--dataset {name}: shards hold their splits; drop --val-fraction and --train-size")
            splits, classes = read_index(Path(name.removeprefix(SHARDS_PREFIX)))
            base = splits["train" if train else "val"]  # the data module streams it (ShardStream)
        elif data_dir is None:
            raise DatasetError("--dataset folder needs --data-dir DIR: DIR/<class>/<image> or DIR/train/ and DIR/val/")
        else:
            base, classes = folder_split(Path(data_dir), train, val_fraction)
        transform = imagenet_transforms(train, image_size, stats or IMAGENET_STATS)
        split = Split(base, transform, len(classes), classes)
    else:
        split = _build_split(name, train, data_dir, download, image_size, train_size if train else None)
    if train and train_size is not None and name not in GENERATED:
        size = len(split.base)  # type: ignore[arg-type]
        if train_size > size:
            raise DatasetError(f"train_size {train_size} exceeds the {size} training images of {name}")
        order = torch.randperm(size, generator=torch.Generator().manual_seed(0))[:train_size]
        split.base = Subset(split.base, order.tolist())
    return split


def _build_split(
    name: str, train: bool, data_dir: str | Path | None, download: bool, image_size: int, train_size: int | None
) -> Split:
    info = dataset_info(name)
    root = Path(data_dir) if data_dir is not None else Path("data")
    if name in ("cifar10", "cifar100", "imagenet") and root.exists() and not root.is_dir():
        raise DatasetError(f"--data-dir {root} is a file; name the folder that holds the {name} data")
    if name.startswith("svrt"):
        images, labels = svrt_split(name, train, image_size, train_size)
        return Split(ArrayDataset(images, labels), plain_transforms(SVRT_STATS), info.num_classes)
    if name in ("cifar10", "cifar100"):
        layout, stats = (CIFAR10, CIFAR10_STATS) if name == "cifar10" else (CIFAR100, CIFAR100_STATS)
        images, labels = load_cifar(layout, root, train, download)
        return Split(ArrayDataset(images, labels), cifar_transforms(train, stats), info.num_classes)
    if name == "digits":
        images, labels = load_digits_split(train)
        return Split(ArrayDataset(images, labels), digits_transforms(train, DIGITS_IMAGE_SIZE), info.num_classes)
    if name == "imagenet":
        if download:
            raise DatasetError("ImageNet cannot be downloaded automatically; place train/ and val/ under --data-dir")
        folder = ImageFolderDataset(root, "train" if train else "val")
        return Split(folder, imagenet_transforms(train, image_size), len(folder.classes))
    base = fake_split(train, image_size, info.num_classes)
    return Split(base, plain_transforms(FAKE_STATS), info.num_classes)
