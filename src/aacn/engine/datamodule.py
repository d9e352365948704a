"""The LightningDataModule: datasets of aacn.data behind a deterministic, resumable data order."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader

from ..config import TrainConfig
from ..data import EpochSampler, ResumableDataLoader, SeededTransformDataset, Split, build_split
from ..data.hf import HFOptions
from ..data.sampling import drops_lone_last_batch
from ..data.shards import ShardLoader, ShardSplit, ShardStream


class ImageDataModule(L.LightningDataModule):
    """The run's splits (built here when not given) behind loaders whose order depends on the seed alone."""

    def __init__(
        self, config: TrainConfig, image_size: int, train_split: Split | None = None, val_split: Split | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.image_size = image_size
        self._train = train_split
        self._val = val_split

    def _split(self, train: bool) -> Split:
        c = self.config
        stats = (tuple(c.mean), tuple(c.std)) if c.mean else None
        hf = HFOptions(c.hf_image_column, c.hf_label_column, c.hf_train_split, c.hf_val_split)
        return build_split(
            c.dataset, train, c.data_dir, c.download, self.image_size, c.train_size, c.val_size, c.holdout,
            c.val_fraction, stats, hf if c.dataset.startswith("hf:") else None,
        )  # fmt: skip

    @property
    def num_classes(self) -> int:
        return self.val_split.num_classes

    @property
    def train_split(self) -> Split:
        if self._train is None:
            self._train = self._split(train=True)
        return self._train

    @property
    def val_split(self) -> Split:
        if self._val is None:
            self._val = self._split(train=False)
        return self._val

    def _loader_kwargs(self) -> dict:
        workers = self.config.num_workers
        return {
            "batch_size": self.config.batch_size,
            "num_workers": workers,
            "pin_memory": torch.cuda.is_available(),
            # its own generator: creating an iterator must not consume the global RNG (exact resume)
            "generator": torch.Generator().manual_seed(self.config.seed),
            "persistent_workers": False,
        }

    def _batches_done(self) -> int:
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.completed if self.trainer else 0

    def _epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer else 0

    def _stream(self, split: Split, train: bool) -> ShardLoader:
        """A streamed split (shards): its loader keeps its own position, as ResumableDataLoader does."""
        stream = ShardStream(split.base, split.transform, self.config.seed, train, self.config.batch_size,  # type: ignore[arg-type]
                             self.config.dataset.removeprefix("shards:"))  # fmt: skip
        kwargs = self._loader_kwargs()
        kwargs.pop("generator")
        return ShardLoader(stream, self._epoch, self._batches_done if train else (lambda: 0), **kwargs)

    def train_dataloader(self) -> ResumableDataLoader | ShardLoader:
        split = self.train_split
        if isinstance(split.base, ShardSplit):
            return self._stream(split, train=True)
        dataset = SeededTransformDataset(split.base, split.transform, self.config.seed)  # type: ignore[arg-type]
        sampler = EpochSampler(len(dataset), self.config.seed, shuffle=True)
        drop_last = drops_lone_last_batch(len(sampler), self.config.batch_size)
        return ResumableDataLoader(dataset, sampler, self._batches_done, drop_last=drop_last, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        split = self.val_split
        if isinstance(split.base, ShardSplit):
            return self._stream(split, train=False)
        dataset = SeededTransformDataset(split.base, split.transform, self.config.seed)  # type: ignore[arg-type]
        sampler = EpochSampler(len(dataset), self.config.seed, shuffle=False)
        return DataLoader(dataset, sampler=sampler, **self._loader_kwargs())
