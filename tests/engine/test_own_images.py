"""A user's own images end to end, through the commands users run: train from torchvision weights with parts
frozen, evaluate, export and predict; and what each --freeze part leaves training."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from aacn import create_model
from aacn.checkpoints import load_checkpoint_file
from aacn.cli import main
from aacn.config import ConfigError
from aacn.engine.freeze import freeze, frozen_parameters
from image_folders import write_classes

CLASSES = {"cat": 5, "dog": 5, "owl": 5}


def test_each_freeze_part_leaves_the_expected_parameters_training() -> None:
    model = create_model("aa_resnet18_cifar", num_classes=3)
    names = [name for name, _ in model.named_parameters()]
    stem = frozen_parameters(model, ["stem", "layer1"])
    assert stem == [n for n in names if n.startswith(("conv1.", "bn1.", "layer1."))]
    assert frozen_parameters(model, ["backbone"]) == [n for n in names if not n.startswith("fc.")]
    trained = set(names) - set(frozen_parameters(model, ["conv"]))
    assert {n.rsplit(".", 1)[-1] for n in trained if not n.startswith("fc.")} >= {"rel_h", "rel_w"}
    assert all(n.startswith("fc.") or ".qkv." in n or ".proj." in n or n.endswith(("rel_h", "rel_w")) for n in trained)
    norms = freeze(model, ["stem"])
    assert norms == [model.bn1] and not model.conv1.weight.requires_grad and model.layer1[0].conv1.weight.requires_grad
    with pytest.raises(ConfigError, match=r"--freeze 'layer9' names no parameter .* such as conv1, bn1"):
        frozen_parameters(model, ["layer9"])


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images") / "pets"
    write_classes(root, CLASSES)
    (root / "dog" / "broken.jpg").write_bytes(b"not an image")  # named and skipped, never fatal
    return root


@pytest.fixture(scope="module")
def run(images: Path, torchvision_weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("run") / "aa"
    argv = ["train", "--dataset", "folder", "--data-dir", str(images), "--model", "aa_resnet18", "--image-size", "32",
            "--epochs", "1", "-b", "4", "-j", "0", "--accelerator", "cpu", "--init-from", str(torchvision_weights),
            "--freeze", "stem,layer1", "--output", str(output)]  # fmt: skip
    with pytest.warns(RuntimeWarning, match=r"skipping unreadable image .*broken.jpg"):
        assert main(argv) == 0
    return output


def test_a_run_on_a_folder_records_its_classes_and_what_it_started_from(run: Path, torchvision_weights: Path) -> None:
    results = json.loads((run / "results.json").read_text())
    assert results["classes"] == ["cat", "dog", "owl"]
    assert (results["init_from"]["loaded"], results["init_from"]["adapted"]) == (114, 6)
    assert results["init_from"]["skipped"] == ["fc.weight", "fc.bias"], "ImageNet's head; the run has 3 classes"
    state = load_checkpoint_file(run / "last.ckpt")["state_dict"]
    weights = torch.load(torchvision_weights, weights_only=True)
    for key in ("conv1.weight", "bn1.running_mean", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.bias"):
        assert torch.equal(state[f"model.{key}"], weights[key]), f"{key} is frozen: weights and BN statistics"
    assert not torch.equal(state["model.layer2.0.bn1.running_mean"], weights["layer2.0.bn1.running_mean"])
    assert not torch.equal(state["model.fc.bias"], torch.zeros(3)) and state["model.fc.weight"].shape == (3, 512)


def test_eval_export_and_predict_name_the_classes(
    run: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = json.loads((run / "results.json").read_text())
    assert main(["eval", "--checkpoint", str(run / "last.ckpt"), "--dataset", "folder", "--data-dir", str(images),
                 "-j", "0", "--json"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["top1"] == pytest.approx(results["top1"], abs=1e-6)

    assert main(["export", "--checkpoint", str(run / "last.ckpt"), "--output", str(tmp_path / "model")]) == 0
    cfg = json.loads((tmp_path / "model" / "config.json").read_text())["pretrained_cfg"]
    assert cfg["label_names"] == ["cat", "dog", "owl"] and cfg["input_size"] == [3, 32, 32]

    table = tmp_path / "predictions.csv"
    for model in (run / "last.ckpt", tmp_path / "model"):
        assert main(["predict", str(images), "--model", str(model), "--output", str(table), "--top-k", "2"]) == 0
        rows = list(csv.DictReader(table.open()))
        assert len(rows) == sum(CLASSES.values()), "every readable image, one row each"
        assert {row["class"] for row in rows} <= set(CLASSES)
        first = rows[0]["top2"].split(";")
        assert first[0] == f"{rows[0]['class']}:{rows[0]['probability']}" and len(first) == 2
        printed = capsys.readouterr()
        assert "skipping unreadable image" in printed.err and "broken.jpg" in printed.err
        assert "skipped 1 unreadable" in printed.out
    assert main(["predict", str(images), "--model", str(tmp_path / "absent"), "--output", str(table)]) == 3
    assert "--model" in capsys.readouterr().err
