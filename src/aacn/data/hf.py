"""``--dataset hf:SOURCE``: an image-classification dataset in Hugging Face's formats, through ``datasets``.

SOURCE is, in this order: a ``save_to_disk`` folder (a Dataset or a DatasetDict), a parquet or arrow file, a folder
that ``datasets.load_dataset`` reads (parquet / arrow files, split by their names: ``train-*.parquet``, ...), or a
Hub id such as ``cifar10`` or ``user/name`` (downloaded into Hugging Face's cache where the network allows).

The training split is ``--hf-train-split`` (``train``); the validation split ``--hf-val-split``, else the first of
``validation``, ``val``, ``test``, else a per-class fraction of the training split (``--val-fraction``, the folder
dataset's fixed split). The image column is ``--hf-image-column`` or the first column of images; the label column
``--hf-label-column``, else the first ``ClassLabel`` column, else ``label``, else the one column besides the images.
Class names are the ``ClassLabel``'s, else the sorted distinct labels of the training split. A row whose image cannot
be decoded is named and skipped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ..utils.extras import require_extra
from .archives import DatasetError, DatasetNotFoundError
from .folder import fraction_subset

PREFIX = "hf:"
VAL_SPLITS = ("validation", "val", "test")
LABEL_FALLBACK = "label"


@dataclass(frozen=True)
class HFOptions:
    """How to read a Hugging Face dataset; None: found as the module docstring says."""

    image_column: str | None = None
    label_column: str | None = None
    train_split: str = "train"
    val_split: str | None = None


def source_of(name: str) -> str:
    """``hf:SOURCE`` -> SOURCE; an empty source is a DatasetError with an example."""
    source = name.removeprefix(PREFIX)
    if not source:
        raise DatasetError("--dataset hf: needs a source, e.g. hf:data/my_dataset (save_to_disk), hf:train.parquet")
    return source


def _load(source: str) -> Any:
    """A datasets.Dataset or DatasetDict from a local folder or file, or the Hub."""
    require_extra("datasets", "--dataset hf:...")
    import datasets

    path = Path(source)
    quiet = not datasets.utils.are_progress_bars_disabled()
    if quiet:  # aacn prints its own progress; datasets' bars for preparing splits are noise here
        datasets.disable_progress_bars()
    try:
        if path.is_dir() and any((path / marker).is_file() for marker in ("dataset_dict.json", "state.json")):
            return datasets.load_from_disk(str(path))
        if path.is_file():
            kind = {".parquet": "parquet", ".arrow": "arrow"}.get(path.suffix)
            if kind is None:
                raise DatasetError(f"--dataset hf:{source}: a file, but not .parquet or .arrow")
            return datasets.load_dataset(kind, data_files={"train": str(path)})
        if path.is_dir():
            return datasets.load_dataset(str(path))
        return datasets.load_dataset(source)
    except DatasetError:
        raise
    except (FileNotFoundError, ConnectionError, OSError) as error:
        where = "a local folder or file" if path.exists() else "neither a local folder or file nor a Hub dataset"
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatasetNotFoundError(f"--dataset hf:{source}: {where} that datasets can read ({first})") from None
    except (ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatasetNotFoundError(f"--dataset hf:{source}: {first}") from None
    finally:
        if quiet:
            datasets.enable_progress_bars()


def _splits(loaded: Any, options: HFOptions, source: str) -> tuple[Any, Any | None]:
    """(training dataset, validation dataset or None: take a fraction of the training split)."""
    import datasets

    if isinstance(loaded, datasets.Dataset):
        return loaded, None
    names = list(loaded)
    if options.train_split not in loaded:
        raise DatasetError(
            f"--dataset hf:{source} has no split {options.train_split!r} (splits: {', '.join(names)}); pass "
            f"--hf-train-split"
        )
    if options.val_split is not None:
        if options.val_split not in loaded:
            raise DatasetError(
                f"--dataset hf:{source} has no split {options.val_split!r} (splits: {', '.join(names)}); pass "
                f"--hf-val-split"
            )
        return loaded[options.train_split], loaded[options.val_split]
    found = next((name for name in VAL_SPLITS if name in loaded and name != options.train_split), None)
    return loaded[options.train_split], loaded[found] if found else None


def _columns(dataset: Any, options: HFOptions, source: str) -> tuple[str, str]:
    import datasets

    features = dataset.features
    listed = ", ".join(features)
    image = options.image_column or next((n for n, f in features.items() if isinstance(f, datasets.Image)), None)
    if image is None or image not in features:
        what = f"no column {image!r}" if image else "no image column"
        raise DatasetError(f"--dataset hf:{source} has {what} (columns: {listed}); pass --hf-image-column")
    label = options.label_column or next((n for n, f in features.items() if isinstance(f, datasets.ClassLabel)), None)
    others = [n for n in features if n != image]
    label = label or (LABEL_FALLBACK if LABEL_FALLBACK in features or len(others) != 1 else others[0])
    if label not in features:
        raise DatasetError(f"--dataset hf:{source} has no column {label!r} (columns: {listed}); pass --hf-label-column")
    return image, label


class HFImageDataset(Dataset):
    """(PIL image, class index) rows of one split; undecodable images are named and skipped, as for folders."""

    def __init__(self, dataset: Any, image: str, label: str, index_of: dict[Any, int] | None, source: str) -> None:
        import datasets

        if not isinstance(dataset.features[image], datasets.Image):
            dataset = dataset.cast_column(image, datasets.Image())  # paths or {"bytes", "path"} dicts
        self.images = dataset.cast_column(image, datasets.Image(decode=False)).select_columns([image])
        self.targets = [int(t) if index_of is None else index_of[t] for t in dataset[label]]
        self.image, self.source = image, source
        self.unreadable: set[int] = set()

    def __len__(self) -> int:
        return len(self.targets)

    def _decode(self, index: int) -> Any:
        import io

        from PIL import Image

        cell = self.images[index][self.image]
        data = cell.get("bytes")
        with Image.open(io.BytesIO(data) if data is not None else cell["path"]) as opened:
            return opened.convert("RGB")

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import UnidentifiedImageError

        for offset in range(len(self)):
            row = (index + offset) % len(self)
            if row in self.unreadable:
                continue
            try:
                return self._decode(row), self.targets[row]
            except (OSError, UnidentifiedImageError, ValueError, TypeError) as error:
                self.unreadable.add(row)
                warnings.warn(f"skipping unreadable image in row {row} of hf:{self.source}: {error}", RuntimeWarning,
                              stacklevel=2)  # fmt: skip
        raise DatasetNotFoundError(f"hf:{self.source}: no readable image in {len(self)} rows of this split")


def hf_split(name: str, train: bool, val_fraction: float | None, options: HFOptions) -> tuple[Dataset, list[str]]:
    """The training or validation images of ``hf:SOURCE`` and its class names."""
    import datasets

    source = source_of(name)
    train_set, val_set = _splits(_load(source), options, source)
    image, label = _columns(train_set, options, source)
    if val_set is not None:
        if val_fraction is not None:
            raise DatasetError(
                f"--val-fraction splits a training split, but hf:{source} has a validation split; drop it (or "
                f"name the split with --hf-val-split)"
            )
        _columns(val_set, HFOptions(image, label), source)  # the same columns, or one line naming the missing one
    feature = train_set.features[label]
    if isinstance(feature, datasets.ClassLabel):
        classes, index_of = list(feature.names), None
    else:
        values = sorted(set(train_set[label]), key=lambda v: (str(type(v)), v))
        classes, index_of = [str(v) for v in values], {v: i for i, v in enumerate(values)}
        if val_set is not None:
            unknown = sorted({str(v) for v in val_set[label]} - set(classes))
            if unknown:
                raise DatasetError(
                    f"hf:{source}: the validation split has labels the training split lacks ({', '.join(unknown[:5])})"
                )
    if val_set is not None:
        return HFImageDataset(train_set if train else val_set, image, label, index_of, source), classes
    whole = HFImageDataset(train_set, image, label, index_of, source)
    return fraction_subset(whole, whole.targets, train, val_fraction, f"hf:{source}", "rows"), classes


__all__ = ["PREFIX", "HFImageDataset", "HFOptions", "hf_split", "source_of"]
