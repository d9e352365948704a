"""CIFAR-10 and CIFAR-100 from the official python-pickle archives.

On disk (``--data-dir``): the extracted folder (``cifar-10-batches-py/`` or ``cifar-100-python/``) or the archive
beside it (``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``), which is extracted safely on first use.
The pickles are read with an unpickler that admits only numpy arrays and plain containers: a tampered file cannot
run code.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from .archives import DatasetError, DatasetNotFoundError, download_archive, safe_extract


@dataclass(frozen=True)
class CifarLayout:
    folder: str
    archive: str
    url: str
    md5: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str
    num_classes: int


CIFAR10 = CifarLayout(
    folder="cifar-10-batches-py",
    archive="cifar-10-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key="labels",
    num_classes=10,
)
CIFAR100 = CifarLayout(
    folder="cifar-100-python",
    archive="cifar-100-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    train_files=("train",),
    test_files=("test",),
    label_key="fine_labels",
    num_classes=100,
)


class _ArrayUnpickler(pickle.Unpickler):
    """Admits numpy's array reconstruction and nothing else that could execute code."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def _read_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            batch = _ArrayUnpickler(handle, encoding="latin1").load()
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise DatasetError(f"{path} is not a valid CIFAR batch ({error!s}); delete it and extract again") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DatasetError(f"{path} holds data of shape {data.shape} and {len(labels)} labels; expected (N, 3072)")
    # rows are 1024 red, 1024 green, 1024 blue values: (N, 3, 32, 32) -> (N, 32, 32, 3)
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def prepare_cifar(layout: CifarLayout, data_dir: Path, download: bool) -> Path:
    """The extracted folder, extracting (and, with ``download``, fetching) the archive when needed."""
    folder = data_dir / layout.folder
    wanted = layout.train_files + layout.test_files
    if all((folder / name).is_file() for name in wanted):
        return folder
    archive = data_dir / layout.archive
    if download:
        archive = download_archive(layout.url, data_dir, layout.archive, layout.md5)
    if archive.is_file():
        safe_extract(archive, data_dir)
        missing = [name for name in wanted if not (folder / name).is_file()]
        if missing:
            raise DatasetError(f"{archive} did not contain {layout.folder}/{', '.join(missing)}")
        return folder
    raise DatasetNotFoundError(
        f"CIFAR data not found: expected {folder}/ with {', '.join(wanted)}, or the archive {archive}; "
        f"pass --download to fetch it, or --data-dir pointing at the folder that holds it"
    )


def load_cifar(
    layout: CifarLayout, data_dir: Path, train: bool, download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels (N,) int64 of one split."""
    folder = prepare_cifar(layout, Path(data_dir), download)
    parts = [
        _read_batch(folder / name, layout.label_key) for name in (layout.train_files if train else layout.test_files)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
