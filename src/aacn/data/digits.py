"""scikit-learn's bundled 8x8 handwritten digits: a real image dataset that works offline.

1,797 images, split 80/20 with a fixed seed, stratified by class. The 8x8 images (values 0..16) are upsampled
bilinearly to 16x16 and repeated to 3 channels: the CIFAR models run on them unchanged, and a 16x16 input keeps their
attention grids at 8x8 and smaller, so CPU training takes seconds per epoch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

DIGITS_IMAGE_SIZE = 16
DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.2


def load_digits_split(train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 16, 16, 3) uint8 and labels (N,) int64 of the fixed train or test split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
    images = F.interpolate(images, size=DIGITS_IMAGE_SIZE, mode="bilinear", align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8).repeat(1, 3, 1, 1).permute(0, 2, 3, 1).numpy()
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels
    )
    idx = np.sort(train_idx if train else test_idx)
    return images[idx], labels[idx]
