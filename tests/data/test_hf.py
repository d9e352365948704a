"""``--dataset hf:SOURCE``: Hugging Face datasets from a save_to_disk folder, a parquet file and a folder of parquet
files, written here (no network); splits, columns, class names, undecodable rows and one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")

from PIL import Image  # noqa: E402

from aacn.cli import main  # noqa: E402
from aacn.data import build_split  # noqa: E402
from aacn.data.archives import DatasetError, DatasetNotFoundError  # noqa: E402
from aacn.data.hf import HFOptions, hf_split  # noqa: E402

NAMES = ["ant", "bee", "cow"]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """datasets converts parquet files into its cache: keep it out of the user's home."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.getbasetemp() / "hf_cache")


def _images(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (20 + i % 4, 24, 3), dtype=np.uint8)) for i in range(count)]


def _png(image: Image.Image) -> bytes:
    data = io.BytesIO()
    image.save(data, format="PNG")
    return data.getvalue()


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DatasetDict (train 15, test 6) with an Image column and a ClassLabel, as save_to_disk writes it."""
    features = datasets.Features({"img": datasets.Image(), "fine": datasets.ClassLabel(names=NAMES)})
    images = _images(21)
    splits = {"train": (images[:15], [i % 3 for i in range(15)]), "test": (images[15:], [i % 3 for i in range(6)])}
    whole = datasets.DatasetDict(
        {name: datasets.Dataset.from_dict({"img": x, "fine": y}, features=features) for name, (x, y) in splits.items()}
    )
    folder = tmp_path_factory.mktemp("hf") / "disk"
    whole.save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One parquet file: images as PNG bytes, string labels, row 3 not an image; no validation split."""
    cells = [{"bytes": _png(image), "path": None} for image in _images(20)]
    cells[3] = {"bytes": b"not an image", "path": None}
    features = datasets.Features({"picture": datasets.Image(), "kind": datasets.Value("string")})
    rows = {"picture": cells, "kind": ["yes" if i % 2 else "no" for i in range(20)]}
    path = tmp_path_factory.mktemp("hf") / "pairs.parquet"
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
    return path


def test_a_save_to_disk_folder_gives_its_class_names_and_its_test_split(on_disk: Path) -> None:
    train, classes = hf_split(f"hf:{on_disk}", True, None, HFOptions())
    val, _ = hf_split(f"hf:{on_disk}", False, None, HFOptions())
    assert classes == NAMES and (len(train), len(val)) == (15, 6)
    image, target = val[4]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and target == 1
    split = build_split(f"hf:{on_disk}", True, None, False, 24, hf=HFOptions())
    assert split.classes == NAMES and split.num_classes == 3 and split.transform(split.base[0][0]).shape == (3, 24, 24)


def test_a_parquet_file_is_split_by_the_fraction_and_skips_an_undecodable_row(parquet: Path) -> None:
    train, classes = hf_split(f"hf:{parquet}", True, 0.25, HFOptions())
    val, _ = hf_split(f"hf:{parquet}", False, 0.25, HFOptions())
    assert classes == ["no", "yes"], "the sorted distinct labels; 'kind' is the one column besides the images"
    assert not set(train.indices) & set(val.indices) and len(train) + len(val) == 20 and len(val) == 4
    whole = train.dataset
    assert whole.targets == [i % 2 for i in range(20)]
    with pytest.warns(RuntimeWarning, match=r"skipping unreadable image in row 3 of hf:.*pairs.parquet"):
        image, target = whole[3]
    assert isinstance(image, Image.Image) and target == whole.targets[4], "the next readable row instead"


def test_a_folder_of_parquet_files_is_split_by_their_names(tmp_path: Path) -> None:
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=NAMES)})
    for split, count in (("train", 9), ("validation", 3)):
        rows = {"image": [{"bytes": _png(i), "path": None} for i in _images(count)], "label": [0, 1, 2] * (count // 3)}
        datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / f"{split}-00000.parquet"))
    train, classes = hf_split(f"hf:{tmp_path}", True, None, HFOptions())
    val, _ = hf_split(f"hf:{tmp_path}", False, None, HFOptions())
    assert (len(train), len(val)) == (9, 3) and classes == NAMES


@pytest.mark.parametrize(
    ("options", "fraction", "message"),
    [
        (HFOptions(label_column="nope"), None, r"has no column 'nope' \(columns: img, fine\); pass --hf-label-column"),
        (HFOptions(image_column="photo"), None, r"has no column 'photo' \(columns: img, fine\); pass --hf-image-col"),
        (HFOptions(train_split="fit"), None, r"has no split 'fit' \(splits: train, test\); pass --hf-train-split"),
        (HFOptions(val_split="dev"), None, r"has no split 'dev' \(splits: train, test\); pass --hf-val-split"),
        (HFOptions(), 0.2, r"--val-fraction splits a training split, but .* has a validation split; drop it"),
    ],
)
def test_bad_columns_and_splits_are_named_in_one_line(
    on_disk: Path, options: HFOptions, fraction: float | None, message: str
) -> None:
    with pytest.raises(DatasetError, match=message) as raised:
        hf_split(f"hf:{on_disk}", True, fraction, options)
    assert "\n" not in str(raised.value)


def test_a_source_that_is_not_there_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a dataset")
    with pytest.raises(DatasetError, match=r"a file, but not .parquet or .arrow"):
        hf_split(f"hf:{tmp_path / 'notes.txt'}", True, None, HFOptions())
    with pytest.raises(DatasetNotFoundError, match=r"hf:.*absent.*"):
        hf_split(f"hf:{tmp_path / 'absent'}", True, None, HFOptions())
    with pytest.raises(DatasetError, match=r"hf: needs a source"):
        hf_split("hf:", True, None, HFOptions())


def test_training_and_evaluating_on_a_hf_dataset(on_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    argv = ["train", "--dataset", f"hf:{on_disk}", "--hf-label-column", "fine", "--model", "resnet18",
            "--image-size", "32", "--epochs", "1", "-b", "4", "-j", "0", "--accelerator", "cpu",
            "--output", str(run)]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((run / "results.json").read_text())
    assert results["classes"] == NAMES and results["epochs"] == 1
    checkpoint = str(run / "last.ckpt")
    assert main(["eval", "--checkpoint", checkpoint, "--dataset", f"hf:{on_disk}", "-j", "0", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["top1"] == pytest.approx(results["top1"], abs=1e-6)
    assert main(["train", "--dataset", "cifar10", "--hf-label-column", "x", "--output", str(tmp_path / "r")]) == 2
    assert "the hf_* settings are for --dataset hf:SOURCE, not cifar10" in capsys.readouterr().err
