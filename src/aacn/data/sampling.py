"""Deterministic, resumable data order and augmentation.

The order of an epoch is a permutation seeded by (seed, epoch), sharded over distributed ranks; the augmentation of
a sample is seeded by (seed, epoch, index). Neither depends on the global RNG, on worker processes or on
prefetching, so a run resumed from a checkpoint, even one saved in the middle of an epoch, sees exactly the batches
and augmentations an uninterrupted run sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

SampleKey = tuple[int, int]  # (epoch, index)


def _rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochSampler(Sampler[SampleKey]):
    """Yields (epoch, index) keys: a (seed, epoch)-seeded permutation (or the identity), this rank's shard of it.

    Shards are padded by wrapping around so every rank gets ``ceil(N / world)`` samples, as DistributedSampler does.
    ``skip`` samples at the start of the next pass are left out once (mid-epoch resume).
    """

    def __init__(self, size: int, seed: int, shuffle: bool) -> None:
        self.size = size
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.skip = 0  # a skip belongs to the epoch it was restored for
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.size / _rank_and_world()[1])

    def __iter__(self) -> Iterator[SampleKey]:
        rank, world = _rank_and_world()
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        per_rank = math.ceil(self.size / world)
        order = (order * math.ceil(per_rank * world / max(len(order), 1)))[: per_rank * world]
        shard = order[rank::world]
        skip, self.skip = self.skip, 0
        for index in shard[skip:]:
            yield self.epoch, index


class SeededTransformDataset(Dataset):
    """Applies ``transform`` to ``base[index]`` under a torch RNG seeded by (seed, epoch, index).

    ``base[index]`` returns (image, label); items are fetched with (epoch, index) keys from :class:`EpochSampler`.
    """

    def __init__(self, base: Dataset, transform: Callable[[Any], torch.Tensor], seed: int) -> None:
        self.base = base
        self.transform = transform
        self.seed = seed

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, key: SampleKey) -> tuple[torch.Tensor, int]:
        epoch, index = key
        image, label = self.base[index]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 1_000_003 + epoch) * 10_000_019 + index)
            return self.transform(image), int(label)


def drops_lone_last_batch(per_rank: int, batch_size: int) -> bool:
    """Whether an epoch's last training batch would hold one sample, which training drops: batch norm cannot
    normalise one sample whose map is 1x1 (the last stage of a small image), and one sample's step is mostly noise."""
    return per_rank > batch_size and per_rank % batch_size == 1


class ResumableDataLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` whose position Lightning saves in checkpoints.

    ``batches_done`` reports how many batches of the current epoch the training loop has consumed (prefetched
    batches do not count); restoring skips exactly those.
    """

    def __init__(self, dataset: Dataset, sampler: EpochSampler, batches_done: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(dataset, sampler=sampler, **kwargs)
        self._batches_done = batches_done

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches_done": int(self._batches_done())}  # type: ignore[attr-defined]

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler: EpochSampler = self.sampler  # type: ignore[assignment]
        sampler.epoch = int(state["epoch"])
        done = int(state["batches_done"])
        sampler.skip = done * self.batch_size if done < len(self) else 0  # type: ignore[operator]
