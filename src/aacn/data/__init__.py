"""Datasets (cifar10, cifar100, imagenet, digits, fake), their transforms and a resumable data order."""

from ..utils.extras import require_extra

require_extra("train", "aacn.data (datasets)")

from .archives import DatasetError, DatasetNotFoundError, safe_extract
from .datasets import DATASETS, DatasetInfo, Split, build_split, dataset_info, is_user_data
from .sampling import EpochSampler, ResumableDataLoader, SeededTransformDataset

__all__ = [
    "DATASETS",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "EpochSampler",
    "ResumableDataLoader",
    "SeededTransformDataset",
    "Split",
    "build_split",
    "dataset_info",
    "is_user_data",
    "safe_extract",
]
