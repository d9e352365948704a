"""save_pretrained / from_pretrained, aacn export --format hf, and torch.hub entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import aacn
from aacn import create_model, from_pretrained, list_models
from aacn.cli import main
from aacn.models import PretrainedError
from aacn.models.detection import DETECTION_MODELS

REPO = Path(__file__).resolve().parents[2]


def test_a_saved_model_comes_back_with_its_configuration(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=4, key_ratio=0.5, aa_stages=(3, 4), input_size=16).eval()
    folder = model.save_pretrained(tmp_path / "mine")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == "aa_resnet18_cifar" and config["num_classes"] == 4
    assert config["model_args"] == {"key_ratio": 0.5, "aa_stages": [3, 4], "input_size": 16}
    assert config["num_features"] == 512 and config["pretrained_cfg"]["input_size"] == [3, 16, 16]
    loaded = from_pretrained(folder).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert loaded.layer3[0].conv1.dk == model.layer3[0].conv1.dk and not hasattr(loaded.layer2[0].conv1, "dk")


def test_from_pretrained_errors_name_the_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PretrainedError, match=r"holds no config.json or model.safetensors"):
        from_pretrained(tmp_path / "empty")
    with pytest.raises(PretrainedError, match=r"is not a folder holding config.json and model.safetensors"):
        from_pretrained(tmp_path / "missing" / "deeper")
    model = create_model("resnet18_cifar")
    folder = model.save_pretrained(tmp_path / "plain")
    (folder / "config.json").write_text(json.dumps({"architecture": "resnet34_cifar", "num_classes": 10}))
    with pytest.raises(PretrainedError, match=r"model.safetensors does not fit resnet34_cifar"):
        from_pretrained(folder)
    with pytest.raises(PretrainedError, match=r"needs a model made by aacn.create_model"):
        aacn.models.save_pretrained(torch.nn.Linear(2, 2), tmp_path / "x")


def test_export_hf_from_a_training_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = create_model("aa_resnet18_cifar", num_classes=3, input_size=16).eval()
    meta = {"model": "aa_resnet18_cifar", "num_classes": 3, "model_args": {"input_size": 16}, "image_size": 16}
    checkpoint = tmp_path / "best.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "aacn": meta}, checkpoint)
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "hf", "--output", str(tmp_path / "hf")]) == 0
    assert "load with aacn.from_pretrained" in capsys.readouterr().out
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(from_pretrained(tmp_path / "hf").eval()(x), model(x), rtol=0, atol=0)


def test_torch_hub_has_an_entry_for_every_model_and_loads_them_from_the_checkout() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("hubconf", REPO / "hubconf.py")
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)  # as torch.hub imports it
    entries = [name for name in dir(hubconf) if callable(getattr(hubconf, name)) and not name.startswith("_")]
    assert sorted(entries) == sorted([*list_models(), *DETECTION_MODELS]) and hubconf.dependencies == ["torch"]
    detector = torch.hub.load(str(REPO), "retinanet_aa_resnet50_fpn", source="local", num_classes=3, max_size=96)
    assert detector.head.classification_head.num_classes == 3 and detector.transform.max_size == 96
    assert hubconf.aa_wrn28_10.__doc__.startswith("aacn's aa_wrn28_10")
    model = torch.hub.load(str(REPO), "aa_resnet18_cifar", source="local", num_classes=10, key_ratio=0.5)
    assert model.fc.out_features == 10 and model.create_args["overrides"] == {"key_ratio": 0.5}
    with pytest.raises(ValueError, match="publishes no trained weights"):
        torch.hub.load(str(REPO), "resnet50", source="local", pretrained=True)
