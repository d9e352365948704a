"""``--init-from``: torchvision's ResNet weights (or our own) into a plain and an augmented model, counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet18 as torchvision_resnet18

from aacn import create_model
from aacn.exchange import init_from
from aacn.exchange.init_from import read_state_dict
from aacn.models.errors import PretrainedError, PretrainedNotFoundError
from aacn.nn import AugmentedConvNd


def test_a_plain_model_takes_every_tensor_but_the_classifier_of_other_classes(torchvision_weights: Path) -> None:
    source = torch.load(torchvision_weights, weights_only=True)
    model = create_model("resnet18", num_classes=3)
    report = init_from(model, torchvision_weights)
    assert len(source) == 122 and len(model.state_dict()) == 122
    assert (len(report.loaded), len(report.adapted)) == (120, 0)
    assert report.fresh == ["fc.weight", "fc.bias"] and report.skipped == ["fc.weight", "fc.bias"]
    state = model.state_dict()
    assert all(torch.equal(state[key], source[key]) for key in report.loaded)
    assert model.fc.weight.shape == (3, 512), "the head is the dataset's, not ImageNet's"
    reference = torchvision_resnet18()
    reference.load_state_dict(source)
    reference.fc = model.fc
    x = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), reference.eval()(x))


def test_an_augmented_layer_takes_the_first_filters_and_starts_its_attention_fresh(torchvision_weights: Path) -> None:
    source = torch.load(torchvision_weights, weights_only=True)
    model = create_model("aa_resnet18", num_classes=1000)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = init_from(model, torchvision_weights)
    augmented = {name: m for name, m in model.named_modules() if isinstance(m, AugmentedConvNd)}
    assert len(augmented) == 6 and len(report.adapted) == 6
    attention = [
        key
        for key in model.state_dict()
        for name in augmented
        if key.startswith(f"{name}.") and not key.startswith(f"{name}.conv.")
    ]
    assert sorted(report.fresh) == sorted(attention), "only the attention branches; the 1000-class head loads"
    assert len(report.loaded) + len(report.adapted) + len(report.fresh) == len(model.state_dict())
    assert report.skipped == [], "every pretrained tensor found a place"
    state = model.state_dict()
    for name, layer in augmented.items():
        key = f"{name}.conv.weight"
        keep = layer.conv.out_channels  # out - dv
        assert key in report.adapted and torch.equal(state[key], source[f"{name}.weight"][:keep])
    for key in report.fresh:
        assert torch.equal(state[key], before[key]), f"{key} keeps its initialisation"
    assert report.as_json()["adapted"] == 6 and "6 adapted" in report.summary()
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_our_checkpoints_and_folders_are_sources_too(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = create_model("resnet18_cifar", num_classes=10)
    save_file(model.state_dict(), tmp_path / "weights.safetensors")
    torch.save({"model": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "ddp.pth")
    for name in ("weights.safetensors", "ddp.pth"):  # torchvision's references: {"model": ...}, DDP's prefix
        read = read_state_dict(tmp_path / name)
        assert read.keys() == model.state_dict().keys()
    twin = create_model("aa_resnet18_cifar", num_classes=10)
    report = init_from(twin, tmp_path / "ddp.pth")
    assert len(report.adapted) > 0 and not report.skipped


def test_weights_for_another_architecture_are_refused_in_one_line(tmp_path: Path) -> None:
    torch.save(create_model("wrn28_10").state_dict(), tmp_path / "wrn.pth")
    with pytest.raises(PretrainedError, match=r"only \d+ of the model's 122 tensors match .* another architecture"):
        init_from(create_model("resnet18"), tmp_path / "wrn.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a state_dict")
    with pytest.raises(PretrainedError, match=r"junk.pth: not a readable state_dict") as raised:
        init_from(create_model("resnet18"), tmp_path / "junk.pth")
    assert "\n" not in str(raised.value)
    with pytest.raises(PretrainedNotFoundError, match=r"no such file or folder; give a state_dict"):
        init_from(create_model("resnet18"), tmp_path / "absent.pth")
    with pytest.raises(PretrainedError, match=r"torchvision has no ImageNet weights for aa_resnet18_cifar"):
        init_from(create_model("aa_resnet18_cifar"), "torchvision", "aa_resnet18_cifar")
