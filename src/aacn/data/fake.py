"""torchvision's FakeData, for smoke runs of any model at any size without data on disk."""

from __future__ import annotations

from torch.utils.data import Dataset

FAKE_TRAIN_SIZE = 256
FAKE_VAL_SIZE = 64


def fake_split(train: bool, image_size: int, num_classes: int) -> Dataset:
    from torchvision.datasets import FakeData

    return FakeData(
        size=FAKE_TRAIN_SIZE if train else FAKE_VAL_SIZE,
        image_size=(3, image_size, image_size),
        num_classes=num_classes,
        random_offset=0 if train else FAKE_TRAIN_SIZE,  # distinct images for validation
    )
