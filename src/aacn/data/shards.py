"""``--dataset shards:DIR``: images streamed from WebDataset tar shards, for data that does not fit one disk or one
machine's memory; ``aacn shards`` writes them from a folder of images.

The format is WebDataset's: each shard is a plain POSIX tar whose members are grouped by key, ``KEY.png`` (or
``.jpg``, ...: the image file's own bytes) beside ``KEY.cls`` (the class index as text), so any tar tool and any
WebDataset reader reads them. ``DIR/dataset.json`` lists the splits' shards with their sample counts and the class
names; without it, the ``train-*.tar`` and ``val-*.tar`` shards are counted by reading their headers and the classes
are the indices found.

How a stream is cut (``ShardStream``): every (rank, loader worker) pair is one stream. With at least as many shards as
streams, each stream reads its own shards, shard by shard, in an order seeded by (seed, epoch), shuffling within a
buffer; with fewer, every stream reads all shards and keeps every n-th sample. Streams are disjoint and together
cover the split (``stream_samples`` is that plan). A training epoch gives every stream the same number of samples, a
whole number of batches, ``(N // world) // (batch x workers) x batch`` each: ranks step in lockstep under DDP, and
the last few samples of an epoch (fewer than batch x workers per rank) wait for the next one, whose shard order
differs. A stream that runs out of its shards before its quota reads them again. Validation reads every sample once
(ranks pad by repeating their first samples, as DistributedSampler does, when there are several).

Resume is exact: a loader's state is (epoch, batches done); the workers' batches interleave round-robin and all
hold the same number of batches, so each worker knows how many of its own batches were consumed and skips their
samples without decoding them.
"""

from __future__ import annotations

import io
import json
import math
import random
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..utils import atomic_write_text
from .archives import DatasetError, DatasetNotFoundError
from .folder import IMAGE_EXTENSIONS, folder_split
from .sampling import _rank_and_world

PREFIX = "shards:"
INDEX = "dataset.json"
SHUFFLE_BUFFER = 256  # samples held to shuffle within a shard stream
DEFAULT_SHARD_SIZE = 1000


@dataclass(frozen=True)
class ShardSplit:
    """One split's shards (paths) and how many samples each holds."""

    shards: list[Path]
    counts: list[int]

    @property
    def samples(self) -> int:
        return sum(self.counts)

    def __len__(self) -> int:
        return self.samples


def _count(shard: Path) -> tuple[int, set[int]]:
    """Samples (keys with an image) and class indices of a shard, from its headers and .cls members."""
    keys, labels = set(), set()
    with tarfile.open(shard, "r|") as tar:
        for member in tar:
            key, _, ext = member.name.rpartition("/")[-1].partition(".")
            if f".{ext.lower()}" in IMAGE_EXTENSIONS:
                keys.add(key)
            elif ext == "cls":
                labels.add(int(tar.extractfile(member).read()))  # type: ignore[union-attr]
    return len(keys), labels


def read_index(root: Path) -> tuple[dict[str, ShardSplit], list[str]]:
    """The splits (``train``, ``val``) and class names of a shard folder."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"--dataset shards:{root}: no such folder; write shards with `aacn shards`")
    index = root / INDEX
    if index.is_file():
        meta = json.loads(index.read_text())
        splits = {
            name: ShardSplit([root / s for s in split["shards"]], [int(c) for c in split["counts"]])
            for name, split in meta["splits"].items()
        }
        classes = list(meta["classes"])
    else:
        splits, found = {}, set()
        for name in ("train", "val"):
            shards = sorted(root.glob(f"{name}-*.tar"))
            counted = [_count(s) for s in shards]
            splits[name] = ShardSplit(shards, [c for c, _ in counted])
            found |= {label for _, labels in counted for label in labels}
        classes = [str(i) for i in range(max(found) + 1)] if found else []
    for name in ("train", "val"):
        if name not in splits or not splits[name].shards:
            raise DatasetNotFoundError(
                f"--dataset shards:{root} has no {name} shards ({name}-000000.tar, ...); write them with `aacn shards`"
            )
        missing = [s.name for s in splits[name].shards if not s.is_file()]
        if missing:
            raise DatasetNotFoundError(
                f"--dataset shards:{root}: {INDEX} lists shards that are not there: {missing[0]}"
            )
    return splits, classes


def stream_plan(split: ShardSplit, order: list[int], stream: int, streams: int) -> tuple[list[int], int, int]:
    """(shard indices to read, keep every n-th sample, offset): stream ``stream`` of ``streams``'s share."""
    if len(order) >= streams:
        return order[stream::streams], 1, 0
    return order, streams, stream


def _samples(shard: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) of a shard, in tar order, read as a stream."""
    key, parts = None, {}
    with tarfile.open(shard, "r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name, _, ext = member.name.partition(".")
            if name != key and key is not None:
                yield key, parts
                parts = {}
            key = name
            parts[ext.lower()] = tar.extractfile(member).read()  # type: ignore[union-attr]
    if key is not None:
        yield key, parts


class ShardStream(IterableDataset):
    """(image tensor, label) of one split, streamed as the module docstring says; ``set_state`` before iterating."""

    def __init__(self, split: ShardSplit, transform: Callable[[Any], torch.Tensor], seed: int, train: bool,
                 batch_size: int = 1, source: str = "") -> None:  # fmt: skip
        self.split, self.transform, self.seed, self.train = split, transform, seed, train
        self.batch_size, self.source = batch_size, source
        self.epoch, self.skip_batches, self.workers = 0, 0, 1

    def set_state(self, epoch: int, skip_batches: int, workers: int) -> None:
        self.epoch, self.skip_batches, self.workers = epoch, skip_batches, max(1, workers)

    def stream_quota(self) -> int:
        """Samples each (rank, worker) stream yields in a training epoch: the same for all, whole batches."""
        _, world = _rank_and_world()
        batches = (self.split.samples // world) // (self.batch_size * self.workers)
        if batches == 0:
            raise DatasetError(
                f"shards:{self.source}: {self.split.samples} training samples make no batch of {self.batch_size} for "
                f"each of {world} rank(s) x {self.workers} loader worker(s); lower --batch-size or --workers"
            )
        return batches * self.batch_size

    def __len__(self) -> int:
        """Samples of this rank in one epoch."""
        _, world = _rank_and_world()
        if self.train:
            return self.stream_quota() * self.workers
        return math.ceil(self.split.samples / world) if world > 1 else self.split.samples

    def _keys(self, stream: int, streams: int) -> Iterator[tuple[str, dict[str, bytes]]]:
        """This stream's samples in order, forever for training (passes over its shards), once for validation."""
        shards = list(range(len(self.split.shards)))
        passes = 0
        while True:
            order = shards[:]
            if self.train:
                random.Random(self.seed * 1_000_003 + self.epoch * 7919 + passes).shuffle(order)
            mine, every, offset = stream_plan(self.split, order, stream, streams)
            position = 0
            buffer: list[tuple[str, dict[str, bytes]]] = []
            shuffler = random.Random(((self.seed * 1_000_003 + self.epoch) * 10_007 + stream) * 101 + passes)
            found = 0
            for shard in mine:
                for sample in _samples(self.split.shards[shard]):
                    position += 1
                    found += 1
                    if (position - 1) % every != offset:
                        continue
                    if not self.train:
                        yield sample
                        continue
                    buffer.append(sample)
                    if len(buffer) >= SHUFFLE_BUFFER:
                        yield buffer.pop(shuffler.randrange(len(buffer)))
            while buffer:
                yield buffer.pop(shuffler.randrange(len(buffer)))
            if not self.train:
                return
            if found == 0:  # another pass would find nothing either: training would wait forever for a batch
                raise DatasetError(
                    f"shards:{self.source}: the shards {', '.join(self.split.shards[s].name for s in mine)} hold no "
                    f"samples, though {INDEX} counts {self.split.samples}; write the shards again with `aacn shards`"
                )
            passes += 1

    def _decode(self, key: str, parts: dict[str, bytes]) -> tuple[Any, int] | None:
        from PIL import Image, UnidentifiedImageError

        image = next((parts[e[1:]] for e in IMAGE_EXTENSIONS if e[1:] in parts), None)
        try:
            if image is None or "cls" not in parts:
                raise ValueError(f"no image or no .cls member (members: {', '.join(sorted(parts))})")
            with Image.open(io.BytesIO(image)) as opened:
                return opened.convert("RGB"), int(parts["cls"])
        except (OSError, UnidentifiedImageError, ValueError) as error:
            warnings.warn(f"skipping unreadable sample {key} of shards:{self.source}: {error}", RuntimeWarning,
                          stacklevel=2)  # fmt: skip
            return None

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        rank, world = _rank_and_world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if self.train:
            # Batches interleave round-robin over workers: stream w made the k-th ones with k % workers == w. A
            # resumed loader starts with worker 0, so worker i takes the role of stream (i + done) % workers and
            # skips what that stream made before the checkpoint.
            worker = (worker + self.skip_batches) % workers
        stream, streams = rank * workers + worker, world * workers
        if self.train:
            quota = self.stream_quota()
            skip = max(0, (self.skip_batches - worker + workers - 1) // workers) * self.batch_size
        else:
            quota = math.ceil(self.split.samples / world) if world > 1 else None
            quota = None if quota is None else quota // workers + (worker < quota % workers)
            skip = 0
        yielded, owed = 0, 0
        first: tuple[Any, int] | None = None
        for index, (key, parts) in enumerate(self._keys(stream, streams)):
            if quota is not None and yielded >= quota:
                break
            yielded += 1
            if index < skip:
                continue  # consumed before the checkpoint: not decoded
            item = self._decode(key, parts) or first  # an unreadable sample: the first good one stands in
            if item is None:
                owed += 1  # none yet: stand-ins follow the first good one, so the count holds
                continue
            first = first or item
            for _ in range(1 + owed):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed((self.seed * 1_000_003 + self.epoch) * 10_000_019 + zlib.crc32(key.encode()))
                    yield self.transform(item[0]), item[1]
            owed = 0
        while quota is not None and yielded < quota and first is not None:  # validation padding under DDP
            yielded += 1
            yield self.transform(first[0]), first[1]


class ShardLoader(DataLoader):
    """A DataLoader over a ShardStream whose position (epoch, batches done) Lightning saves in checkpoints."""

    def __init__(self, dataset: ShardStream, epoch: Callable[[], int], batches_done: Callable[[], int],
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(dataset, **kwargs)
        dataset.workers = max(1, self.num_workers)  # the stream's epoch length depends on it
        self._epoch, self._batches_done, self._resume_at = epoch, batches_done, 0

    def __iter__(self) -> Any:
        stream: ShardStream = self.dataset  # type: ignore[assignment]
        stream.set_state(self._epoch(), self._resume_at, self.num_workers)
        self._resume_at = 0
        return super().__iter__()

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)  # type: ignore[arg-type, operator]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self._epoch()), "batches_done": int(self._batches_done())}

    def load_state_dict(self, state: dict[str, int]) -> None:
        done = int(state["batches_done"])
        self._resume_at = done if done < len(self) else 0


def write_shards(data_dir: Path, output: Path, val_fraction: float | None = None,
                 shard_size: int = DEFAULT_SHARD_SIZE) -> dict[str, Any]:  # fmt: skip
    """Shards of a folder of images (either layout of ``--dataset folder``, the same split): training samples in a
    fixed shuffled order (seed 0), so every shard mixes the classes. Returns the index written to dataset.json."""
    if shard_size < 1:
        raise DatasetError(f"--shard-size must be >= 1, got {shard_size}")
    if output.exists() and any(output.iterdir()):
        raise DatasetError(f"{output} exists and is not empty; name a new folder for the shards")
    output.mkdir(parents=True, exist_ok=True)
    splits: dict[str, Any] = {}
    classes: list[str] = []
    for name, train in (("train", True), ("val", False)):
        subset, classes = folder_split(data_dir, train, val_fraction)
        base = getattr(subset, "dataset", subset)
        indices = list(getattr(subset, "indices", range(len(subset))))
        samples = [base.samples[i] for i in indices]
        if train:
            random.Random(0).shuffle(samples)
        shards, counts = [], []
        for start in range(0, len(samples), shard_size):
            shard = f"{name}-{len(shards):06d}.tar"
            partial = output / f".{shard}.partial"
            with tarfile.open(partial, "w") as tar:
                for offset, (path, target) in enumerate(samples[start : start + shard_size]):
                    key = f"{start + offset:09d}"
                    tar.add(str(path), arcname=f"{key}{Path(path).suffix.lower()}")
                    label = str(target).encode()
                    member = tarfile.TarInfo(f"{key}.cls")
                    member.size = len(label)
                    tar.addfile(member, io.BytesIO(label))
            partial.rename(output / shard)
            shards.append(shard)
            counts.append(len(samples[start : start + shard_size]))
        splits[name] = {"shards": shards, "counts": counts}
    index = {"format": "webdataset", "classes": classes, "splits": splits}
    atomic_write_text(output / INDEX, json.dumps(index, indent=2) + "\n")
    return index


__all__ = ["PREFIX", "ShardLoader", "ShardSplit", "ShardStream", "read_index", "stream_plan", "write_shards"]
