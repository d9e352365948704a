"""Standard augmentation and normalisation per dataset (torchvision transforms v2)."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from ..utils.normalization import CIFAR10_STATS, CIFAR100_STATS, DIGITS_STATS, FAKE_STATS, IMAGENET_STATS, SVRT_STATS


def _finish(stats: tuple[tuple[float, ...], tuple[float, ...]]) -> list[v2.Transform]:
    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(*stats)]


def cifar_transforms(train: bool, stats: tuple, size: int = 32, padding: int = 4) -> v2.Compose:
    """CIFAR recipe: random crop with 4 pixels of padding and horizontal flip for training."""
    if not train:
        return v2.Compose(_finish(stats))
    return v2.Compose(
        [v2.ToImage(), v2.RandomCrop(size, padding=padding), v2.RandomHorizontalFlip(), *_finish(stats)[1:]]
    )


def digits_transforms(train: bool, size: int) -> v2.Compose:
    """Digits: a small random shift (crop with 2 pixels of padding); no flip, which would change the digit."""
    if not train:
        return v2.Compose(_finish(DIGITS_STATS))
    return v2.Compose([v2.ToImage(), v2.RandomCrop(size, padding=2), *_finish(DIGITS_STATS)[1:]])


def imagenet_transforms(train: bool, size: int = 224, stats: tuple = IMAGENET_STATS) -> v2.Compose:
    """ImageNet recipe: RandomResizedCrop + flip for training; resize to size * 8/7 (256) and centre crop for eval.

    Also the transforms of a folder dataset, normalised with ``stats`` (ImageNet's unless given)."""
    if train:
        return v2.Compose(
            [
                v2.ToImage(),
                v2.RandomResizedCrop(size, antialias=True),
                v2.RandomHorizontalFlip(),
                *_finish(stats)[1:],
            ]
        )
    resize = round(size * 256 / 224)
    return v2.Compose([v2.ToImage(), v2.Resize(resize, antialias=True), v2.CenterCrop(size), *_finish(stats)[1:]])


def plain_transforms(stats: tuple) -> v2.Compose:
    return v2.Compose(_finish(stats))


def normalization_stats(dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per channel that the dataset's transforms normalise with."""
    if dataset.startswith(("hf:", "shards:")):
        return IMAGENET_STATS  # the user's images, unless the run set its own (config mean / std)
    return {
        "cifar10": CIFAR10_STATS,
        "cifar100": CIFAR100_STATS,
        "imagenet": IMAGENET_STATS,
        "digits": DIGITS_STATS,
        "fake": FAKE_STATS,
        "svrt1": SVRT_STATS,
        "svrt2": SVRT_STATS,
        "folder": IMAGENET_STATS,  # unless the run set its own (config mean / std)
    }[dataset]
