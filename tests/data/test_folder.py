"""``--dataset folder``: a user's class folders, in either layout, split the same way for every run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aacn.data import build_split
from aacn.data.archives import DatasetError, DatasetNotFoundError
from aacn.data.folder import class_folders, folder_split, split_indices
from image_folders import write_classes


def test_the_split_is_disjoint_covers_every_image_and_keeps_each_class_on_both_sides() -> None:
    targets = [0] * 10 + [1] * 7 + [2] * 2 + [3] * 1
    train, val = split_indices(targets, 0.3)
    assert not set(train) & set(val) and sorted(train + val) == list(range(len(targets)))
    val_counts = np.bincount([targets[i] for i in val], minlength=4).tolist()
    assert val_counts == [3, 2, 1, 0], "round(0.3 n) per class; >= 1 each side from two images; one image trains"
    assert split_indices(targets, 0.3) == (train, val), "the permutation is fixed, not drawn per run"
    assert split_indices(targets, 0.3) != split_indices(targets, 0.5)


def test_one_tree_is_split_by_the_fraction_with_sorted_class_names(tmp_path: Path) -> None:
    write_classes(tmp_path, {"owl": 5, "cat": 10, "dog": 4})
    train, classes = folder_split(tmp_path, True, 0.2)
    val, _ = folder_split(tmp_path, False, 0.2)
    assert classes == ["cat", "dog", "owl"] == class_folders(tmp_path)
    assert (len(train), len(val)) == (19 - 4, 4), "cat 2, dog 1, owl 1 held out"
    samples = train.dataset.samples
    train_paths = {samples[i][0] for i in train.indices}
    val_paths = {samples[i][0] for i in val.indices}
    assert not train_paths & val_paths and len(train_paths | val_paths) == 19
    split = build_split("folder", False, tmp_path, download=False, image_size=24, val_fraction=0.2)
    image, target = split.base[0]
    assert split.classes == classes and split.num_classes == 3
    assert split.transform(image).shape == (3, 24, 24) and target in (0, 1, 2)


def test_train_and_val_folders_are_taken_as_given(tmp_path: Path) -> None:
    write_classes(tmp_path / "train", {"b": 3, "a": 2})
    write_classes(tmp_path / "val", {"b": 1, "a": 1}, suffix=".jpg")
    train = build_split("folder", True, tmp_path, download=False, image_size=16)
    val = build_split("folder", False, tmp_path, download=False, image_size=16)
    assert (len(train.base), len(val.base)) == (5, 2) and train.classes == val.classes == ["a", "b"]


def test_normalisation_statistics_are_the_users_or_imagenets(tmp_path: Path) -> None:
    write_classes(tmp_path, {"a": 2, "b": 2})
    grey = Image.new("RGB", (16, 16), (128, 128, 128))
    imagenet = build_split("folder", False, tmp_path, download=False, image_size=16).transform(grey)
    own = build_split("folder", False, tmp_path, False, 16, stats=((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))).transform(grey)
    assert imagenet[0, 0, 0].item() == pytest.approx((128 / 255 - 0.485) / 0.229, abs=1e-4)
    assert own[:, 0, 0].tolist() == pytest.approx([(128 / 255 - 0.5) / 0.25] * 3, abs=1e-4)


@pytest.mark.parametrize(
    ("layout", "fraction", "error", "message"),
    [
        ("empty_class", None, DatasetError, r"class folder .*/owl holds no image .*add images or remove it"),
        ("train_only", None, DatasetNotFoundError, r"has train/ but no val/; give both"),
        ("both", 0.2, DatasetError, r"--val-fraction splits one tree .* already has train/ and val/; drop it"),
        ("mismatched", None, DatasetError, r"name different classes \(only in one: owl\)"),
        ("nothing", None, DatasetNotFoundError, r"holds no class folder; expected .*/<class>/<image>"),
        ("missing", None, DatasetNotFoundError, r"image folder .*missing does not exist"),
    ],
)
def test_bad_folders_are_named_in_one_line(
    tmp_path: Path, layout: str, fraction: float | None, error: type[Exception], message: str
) -> None:
    root = tmp_path / layout
    if layout == "empty_class":
        write_classes(root, {"cat": 2})
        (root / "owl").mkdir()
        (root / "owl" / "notes.txt").write_text("no image here")
    elif layout == "train_only":
        write_classes(root / "train", {"cat": 2})
    elif layout in ("both", "mismatched"):
        write_classes(root / "train", {"cat": 2, "owl": 1} if layout == "mismatched" else {"cat": 2})
        write_classes(root / "val", {"cat": 1})
    elif layout == "nothing":
        root.mkdir()
    with pytest.raises(error, match=message) as raised:
        folder_split(root, True, fraction)
    assert "\n" not in str(raised.value)
