"""``aacn shards`` and ``--dataset shards:DIR``: WebDataset tar shards written from a folder, streamed disjointly over
(rank, worker) streams that cover the data, epochs of equal whole batches, and an exact resume, in the loader and
through a killed ``aacn train``."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import torch

from aacn.checkpoints import load_checkpoint_file
from aacn.cli import main
from aacn.data import build_split
from aacn.data import shards as shards_module
from aacn.data.archives import DatasetError, DatasetNotFoundError
from aacn.data.folder import folder_split
from aacn.data.shards import ShardLoader, ShardStream, read_index
from image_folders import write_classes

CLASSES = {"cat": 10, "dog": 10, "owl": 10}  # 30 images; val 2 per class


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    write_classes(root / "pets", CLASSES)
    assert main(["shards", "--data-dir", str(root / "pets"), "--output", str(root / "sh"), "--shard-size", "4"]) == 0
    return root


def _keys(stream: ShardStream, index: int, streams: int, count: int | None = None) -> list[str]:
    keys = []
    for key, _ in stream._keys(index, streams):
        keys.append(key)
        if count is not None and len(keys) == count:
            break
    return keys


def test_shards_hold_the_folders_split_in_webdatasets_naming(shard_dir: Path) -> None:
    index = json.loads((shard_dir / "sh" / "dataset.json").read_text())
    assert index["classes"] == ["cat", "dog", "owl"] and index["format"] == "webdataset"
    assert [sum(index["splits"][s]["counts"]) for s in ("train", "val")] == [24, 6]
    assert len(index["splits"]["train"]["shards"]) == 6 and index["splits"]["train"]["counts"] == [4] * 6
    with tarfile.open(shard_dir / "sh" / "train-000000.tar") as tar:
        names = tar.getnames()
    assert names[:2] == ["000000000.png", "000000000.cls"] and len(names) == 8
    val, _ = folder_split(shard_dir / "pets", False, None)
    splits, _ = read_index(shard_dir / "sh")
    stream = ShardStream(splits["val"], lambda image: image, 0, train=False)
    labels = [label for _, label in stream]
    assert sorted(labels) == sorted(val.dataset.samples[i][1] for i in val.indices), "the folder dataset's val split"
    (shard_dir / "bare").mkdir()
    for shard in (shard_dir / "sh").glob("*.tar"):
        (shard_dir / "bare" / shard.name).symlink_to(shard)
    bare, classes = read_index(shard_dir / "bare")  # shards without dataset.json: counted from their headers
    assert bare["train"].counts == [4] * 6 and classes == ["0", "1", "2"]


@pytest.mark.parametrize("streams", [1, 2, 3, 4, 5, 6, 8])
def test_streams_are_disjoint_and_cover_every_sample(shard_dir: Path, streams: int) -> None:
    """World x workers streams: by shard when there are enough shards (6), by sample when there are not."""
    splits, _ = read_index(shard_dir / "sh")
    for name, train in (("val", False), ("train", True)):
        stream = ShardStream(splits[name], lambda image: image, 0, train=train)
        total = splits[name].samples
        if train and 6 % streams and streams < 6:
            continue  # uneven shards per stream: a training pass is not one epoch's share (validation covers it)
        share = total // streams if train else None  # training streams run on: take one pass each
        seen = [_keys(stream, s, streams, share) for s in range(streams)]
        flat = [key for keys in seen for key in keys]
        assert len(flat) == len(set(flat)) == total - (total % streams if train else 0), (name, streams)


@pytest.mark.parametrize("workers", [0, 2])
def test_an_epoch_is_whole_batches_and_a_resumed_loader_continues_exactly(shard_dir: Path, workers: int) -> None:
    splits, _ = read_index(shard_dir / "sh")
    stream = ShardStream(splits["train"], lambda image: torch.tensor(image.size), 7, train=True, batch_size=4)

    def epoch(number: int, done: int = 0) -> list[tuple[list[int], list[int]]]:
        loader = ShardLoader(stream, lambda: number, lambda: done, batch_size=4, num_workers=workers)
        if done:
            loader.load_state_dict({"epoch": number, "batches_done": done})
        return [(images.sum(1).tolist(), labels.tolist()) for images, labels in loader]

    first = epoch(0)
    loader = ShardLoader(stream, lambda: 0, lambda: 0, batch_size=4, num_workers=workers)
    assert len(first) == len(loader) == (24 // (4 * max(1, workers))) * max(1, workers) == 6
    assert all(len(labels) == 4 for _, labels in first)
    assert epoch(0) == first, "an epoch's order is fixed by (seed, epoch)"
    assert epoch(1) != first, "the next epoch reads the shards in another order"
    for done in (1, 3, 5):
        assert epoch(0, done) == first[done:], f"resumed after {done} batches"


def test_bad_shard_folders_are_named(tmp_path: Path, shard_dir: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"shards:.*absent: no such folder; write shards with `aacn shards`"):
        read_index(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"has no train shards \(train-000000.tar, ...\)"):
        read_index(tmp_path / "empty")
    with pytest.raises(DatasetError, match=r"shards hold their splits; drop --val-fraction"):
        build_split(f"shards:{shard_dir / 'sh'}", True, None, False, 16, val_fraction=0.1)
    assert main(["shards", "--data-dir", str(shard_dir / "pets"), "--output", str(shard_dir / "sh")]) == 3
    splits, _ = read_index(shard_dir / "sh")
    stream = ShardStream(splits["train"], lambda image: image, 0, train=True, batch_size=32, source="sh")
    with pytest.raises(DatasetError, match=r"24 training samples make no batch of 32 .*lower --batch-size"):
        stream.stream_quota()


def test_a_rank_sees_its_own_streams(shard_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two DDP ranks (simulated): equal whole-batch epochs, disjoint samples, every validation sample once."""
    splits, _ = read_index(shard_dir / "sh")
    seen: dict[str, list[list[int]]] = {"train": [], "val": []}
    for rank in (0, 1):
        monkeypatch.setattr(shards_module, "_rank_and_world", lambda rank=rank: (rank, 2))
        for name in seen:
            stream = ShardStream(splits[name], lambda image: image, 0, train=name == "train", batch_size=4)
            keys = [key for key, _ in itertools.islice(stream._keys(rank, 2), 12)]  # training streams run on
            seen[name].append(keys)
            assert len(stream) == (12 if name == "train" else 3)
    for name, total in (("train", 24), ("val", 6)):
        flat = [key for keys in seen[name] for key in keys]
        assert len(flat) == len(set(flat)) == total, name


RUN = ["--model", "resnet18_cifar", "--image-size", "16", "--epochs", "3", "-b", "2", "-j", "0",
       "--accelerator", "cpu", "--seed", "3"]  # fmt: skip


def _train(shards: Path, output: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aacn", "train", "--dataset", f"shards:{shards}", *RUN, "--output", str(output), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"}, text=True,
    )  # fmt: skip


@pytest.mark.process
@pytest.mark.slow
def test_a_streamed_run_killed_mid_epoch_resumes_to_the_same_weights(shard_dir: Path, tmp_path: Path) -> None:
    shards = shard_dir / "sh"
    reference = _train(shards, tmp_path / "whole")
    assert reference.wait() == 0, reference.stderr.read()[-2000:]
    process = _train(shards, tmp_path / "cut")
    deadline = time.monotonic() + 240
    while not (tmp_path / "cut" / "last.ckpt").exists():  # the end of the first epoch
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()[-2000:]
        time.sleep(0.02)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait() == 128 + signal.SIGTERM
    step = load_checkpoint_file(tmp_path / "cut" / "last.ckpt")["global_step"]
    assert 12 <= step < 36, f"saved at step {step}, within the run"
    resumed = _train(shards, tmp_path / "cut", "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()[-2000:]
    whole = load_checkpoint_file(tmp_path / "whole" / "last.ckpt")
    cut = load_checkpoint_file(tmp_path / "cut" / "last.ckpt")
    assert whole["global_step"] == cut["global_step"] == 36
    different = [k for k in whole["state_dict"] if not torch.equal(whole["state_dict"][k], cut["state_dict"][k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def test_shards_emptied_after_indexing_end_in_an_error_not_an_endless_pass(shard_dir: Path, tmp_path: Path) -> None:
    """Training streams pass over their shards forever; shards replaced by empty tars would make each pass find
    nothing, and the loader would wait for a batch for ever. It stops with one line naming the shards instead."""
    import shutil

    copy = tmp_path / "sh"
    shutil.copytree(shard_dir / "sh", copy)
    for shard in copy.glob("train-*.tar"):
        with tarfile.open(shard, "w"):
            pass
    splits, _ = read_index(copy)
    stream = ShardStream(splits["train"], lambda image: image, 0, train=True, batch_size=4, source=str(copy))
    with pytest.raises(DatasetError, match=r"hold no samples, though dataset.json counts 24; write the shards again"):
        _keys(stream, 0, 1, count=5)
