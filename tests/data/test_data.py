"""Datasets read from files the tests write in the official formats, safe extraction, and the data order."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aacn.data import (
    DatasetError,
    DatasetNotFoundError,
    EpochSampler,
    ResumableDataLoader,
    SeededTransformDataset,
    build_split,
    safe_extract,
)
from aacn.data.cifar import CIFAR10, CIFAR100, load_cifar
from aacn.data.digits import load_digits_split


def _batch(n: int, label_key: str, num_classes: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "batch_label": "testing batch",
        "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        label_key: rng.integers(0, num_classes, size=n).tolist(),
    }


def write_cifar_archive(root: Path, layout, n: int = 6) -> dict[str, dict]:
    """A tar.gz laid out like the official one: <folder>/<batch files> of pickled dicts."""
    batches = {
        name: _batch(n, layout.label_key, layout.num_classes, i)
        for i, name in enumerate(layout.train_files + layout.test_files)
    }
    with tarfile.open(root / layout.archive, "w:gz") as tar:
        for name, batch in batches.items():
            payload = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"{layout.folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return batches


@pytest.mark.parametrize("layout", [CIFAR10, CIFAR100], ids=["cifar10", "cifar100"])
def test_cifar_from_the_official_archive(tmp_path: Path, layout) -> None:
    batches = write_cifar_archive(tmp_path, layout)
    images, labels = load_cifar(layout, tmp_path, train=True)
    assert (tmp_path / layout.folder).is_dir(), "the archive is extracted beside itself"
    train_files = layout.train_files
    assert images.shape == (6 * len(train_files), 32, 32, 3) and images.dtype == np.uint8
    first = batches[train_files[0]]
    # row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major over 32x32
    assert images[0, 0, 0, 0] == first["data"][0, 0]
    assert images[0, 0, 0, 1] == first["data"][0, 1024]
    assert images[0, 0, 0, 2] == first["data"][0, 2048]
    assert images[0, 1, 2, 0] == first["data"][0, 32 + 2]
    assert labels[:6].tolist() == first[layout.label_key]
    test_images, _ = load_cifar(layout, tmp_path, train=False)  # second call reads the extracted folder
    assert len(test_images) == 6


def test_cifar_split_goes_through_the_user_code_path(tmp_path: Path) -> None:
    write_cifar_archive(tmp_path, CIFAR10)
    split = build_split("cifar10", True, tmp_path, download=False, image_size=32)
    image, _ = split.base[0]
    out = split.transform(image)
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32 and split.num_classes == 10


def test_missing_cifar_names_files_and_download(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar(CIFAR10, tmp_path, train=True)
    message = str(info.value)
    assert f"{tmp_path}/cifar-10-batches-py/" in message and "data_batch_1" in message and "test_batch" in message
    assert "cifar-10-python.tar.gz" in message and "--download" in message


def test_malicious_cifar_pickle_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / CIFAR10.folder
    folder.mkdir()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name in CIFAR10.train_files + CIFAR10.test_files:
        (folder / name).write_bytes(pickle.dumps({"data": Exploit(), "labels": []}))
    with pytest.raises(DatasetError, match=r"not a valid CIFAR batch .*posix.system is not allowed|os.system"):
        load_cifar(CIFAR10, tmp_path, train=False)
    assert not marker.exists()


def _tar_with(path: Path, member: tarfile.TarInfo, payload: bytes = b"x") -> None:
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(payload) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(payload) if member.isfile() else None)


@pytest.mark.parametrize("name", ["../escape.txt", "cifar/../../escape.txt", "/tmp/aacn-escape-abs.txt"])
def test_tar_traversal_is_refused(tmp_path: Path, name: str) -> None:
    archive, target = tmp_path / "evil.tar.gz", tmp_path / "data"
    _tar_with(archive, tarfile.TarInfo(name))
    with pytest.raises(DatasetError, match=r"refusing to extract .*evil.tar.gz"):
        safe_extract(archive, target)
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/aacn-escape-abs.txt").exists()


def test_tar_link_outside_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.tar.gz"
    link = tarfile.TarInfo("cifar/passwd")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    _tar_with(archive, link)
    with pytest.raises(DatasetError, match="refusing to extract"):
        safe_extract(archive, tmp_path / "data")
    assert not (tmp_path / "data" / "cifar" / "passwd").exists()


def test_truncated_archive_is_a_clear_error(tmp_path: Path) -> None:
    write_cifar_archive(tmp_path, CIFAR10)
    archive = tmp_path / CIFAR10.archive
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"cannot read archive .*delete it and download it again"):
        load_cifar(CIFAR10, tmp_path, train=True)


def write_image_folder(root: Path, classes=("ant", "bee"), per_class: int = 3) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for name in classes:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.JPEG", format="JPEG")


def test_image_folder_skips_unreadable_images_with_a_warning(tmp_path: Path) -> None:
    write_image_folder(tmp_path)
    broken = tmp_path / "val" / "bee" / "1.JPEG"
    broken.write_bytes(b"not a jpeg")
    split = build_split("imagenet", False, tmp_path, download=False, image_size=32)
    assert split.num_classes == 2 and len(split.base) == 6
    with pytest.warns(RuntimeWarning, match=r"skipping unreadable image .*bee/1.JPEG"):
        items = [split.base[i] for i in range(len(split.base))]
    assert all(isinstance(image, Image.Image) for image, _ in items)
    assert split.transform(items[0][0]).shape == (3, 32, 32)


def test_image_folder_missing_split_is_clear(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"image folder not found: expected .*/train/<class>/<image>"):
        build_split("imagenet", True, tmp_path, download=False, image_size=224)


def test_digits_split_is_fixed_and_stratified() -> None:
    train_images, _ = load_digits_split(True)
    test_images, test_labels = load_digits_split(False)
    assert train_images.shape == (1437, 16, 16, 3) and test_images.shape == (360, 16, 16, 3)
    assert np.array_equal(train_images[..., 0], train_images[..., 2]), "grey digits in 3 channels"
    assert np.bincount(test_labels).min() >= 35, "every class in the test split"
    again, _ = load_digits_split(True)
    assert np.array_equal(again, train_images)


def test_unknown_dataset() -> None:
    with pytest.raises(DatasetError, match=r"unknown dataset 'mnist'; choose one of: cifar10, cifar100"):
        build_split("mnist", True, None, False, 32)


def test_epoch_sampler_order() -> None:
    sampler = EpochSampler(10, seed=3, shuffle=True)
    first = list(sampler)
    assert sorted(i for _, i in first) == list(range(10)) and all(e == 0 for e, _ in first)
    assert list(sampler) == first, "same seed and epoch, same order"
    sampler.set_epoch(1)
    second = list(sampler)
    assert [i for _, i in second] != [i for _, i in first] and all(e == 1 for e, _ in second)
    sampler.skip = 4
    assert list(sampler) == second[4:]
    assert list(sampler) == second, "a skip applies once"


def test_epoch_sampler_shards_over_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    import aacn.data.sampling as sampling

    shards = []
    for rank in (0, 1):
        monkeypatch.setattr(sampling, "_rank_and_world", lambda rank=rank: (rank, 2))
        sampler = EpochSampler(7, seed=0, shuffle=True)
        assert len(sampler) == 4
        shards.append([i for _, i in sampler])
    assert set(shards[0]) | set(shards[1]) == set(range(7)) and len(shards[0]) == len(shards[1]) == 4


class _Constant(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int):
        return torch.zeros(1), index


def test_seeded_augmentation_depends_only_on_epoch_and_index() -> None:
    dataset = SeededTransformDataset(_Constant(), lambda x: x + torch.rand(1), seed=0)
    a = dataset[(0, 3)][0]
    torch.manual_seed(123)  # the global RNG must not matter
    assert torch.equal(dataset[(0, 3)][0], a)
    assert not torch.equal(dataset[(1, 3)][0], a) and not torch.equal(dataset[(0, 4)][0], a)


def test_resumable_loader_skips_consumed_batches() -> None:
    dataset = SeededTransformDataset(_Constant(), lambda x: x, seed=0)
    done = {"n": 0}
    loader = ResumableDataLoader(dataset, EpochSampler(8, 0, True), lambda: done["n"], batch_size=2)
    loader.sampler.set_epoch(2)
    full = [batch[1].tolist() for batch in loader]
    done["n"] = 3
    state = loader.state_dict()
    assert state == {"epoch": 2, "batches_done": 3}
    fresh = ResumableDataLoader(dataset, EpochSampler(8, 0, True), lambda: 0, batch_size=2)
    fresh.load_state_dict(state)
    fresh.sampler.set_epoch(2)
    assert [batch[1].tolist() for batch in fresh] == full[3:]
    fresh.load_state_dict({"epoch": 2, "batches_done": 4})  # an end-of-epoch state skips nothing
    fresh.sampler.set_epoch(3)
    assert len([b for b in fresh]) == 4


def test_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.utils as tv_utils

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(tv_utils, "download_url", offline)
    with pytest.raises(DatasetError, match=r"could not download https://.*cifar-100-python.tar.gz .*place cifar-100"):
        load_cifar(CIFAR100, tmp_path, train=True, download=True)
