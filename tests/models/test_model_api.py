"""timm's model API on every aacn model, and activation checkpointing that really saves memory."""

from __future__ import annotations

import copy

import pytest
import torch

from aacn import create_model, list_models
from aacn.models.registry import get_spec


@pytest.mark.parametrize("name", list_models())
def test_every_model_speaks_the_timm_api(name: str) -> None:
    with torch.device("meta"):
        model = create_model(name, num_classes=7)
    assert model.get_classifier() is model.fc and model.fc.in_features == model.num_features
    cfg = model.pretrained_cfg
    side = 224 if "cifar" not in name and "wrn" not in name else 32
    if get_spec(name).dims == 1:  # sequences of one channel, 1,024 steps, an ImageNet-style stem
        side, channels, sides = 224, 1, (1024,)
    else:
        channels, sides = 3, (side, side)
    assert cfg["input_size"] == (channels, *sides) and cfg["num_classes"] == 7 and cfg["architecture"] == name
    assert len(cfg["mean"]) == len(cfg["std"]) == channels and cfg["first_conv"] == "conv1"
    assert cfg["classifier"] == "fc"
    assert cfg["crop_pct"] == (0.875 if sides == (224, 224) else 1.0)  # ImageNet's eval crop for its images only
    # feature_info: the stem's map then each stage's, each named by a child registered in forward order (timm's
    # FeatureListNet and torchvision's IntermediateLayerGetter run the children in registration order)
    children = [child for child, _ in model.named_children()]
    modules = [info["module"] for info in model.feature_info]
    assert modules[1:-1] == [f"layer{i}" for i in range(1, len(modules) - 1)]
    assert [children.index(m) for m in modules] == sorted(children.index(m) for m in modules)
    assert children[-2:] == ["avgpool", "fc"] and children.index("conv1") <= children.index(modules[0])
    reductions = [info["reduction"] for info in model.feature_info]
    assert reductions[-1] == (32 if side == 224 else 2 ** (len(reductions) - 2)) and reductions == sorted(reductions)
    assert model.feature_info[-1]["num_chs"] == model.num_features


def test_features_head_and_classifier_reset() -> None:
    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=10).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape == (2, 512, 4, 4)
        torch.testing.assert_close(model.forward_head(features), model(x))
        pooled = model.forward_head(features, pre_logits=True)
        torch.testing.assert_close(pooled, features.mean((2, 3)))
        model.reset_classifier(3)
        assert model(x).shape == (2, 3) and model.pretrained_cfg["num_classes"] == 3
        model.reset_classifier(0)
        torch.testing.assert_close(model(x), pooled, msg="no classifier: forward gives the pooled features")
    with pytest.raises(ValueError, match="aacn models pool by average only"):
        model.reset_classifier(3, global_pool="max")
    wrn = create_model("wrn28_10", num_classes=100)
    assert wrn.num_features == 640 and wrn.pretrained_cfg["mean"][0] == pytest.approx(0.5071)


def _saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """Bytes autograd keeps for backward during one forward, and the loss."""
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).square().mean()
    return total, loss


@pytest.mark.parametrize("name", ["aa_resnet18_cifar"])  # WRN shares the same Classifier code
def test_grad_checkpointing_keeps_less_and_computes_the_same_gradients(name: str) -> None:
    torch.manual_seed(0)
    plain = create_model(name, num_classes=5).double().train()
    remat = copy.deepcopy(plain)
    remat.set_grad_checkpointing()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    kept_plain, loss_plain = _saved_bytes(plain, x)
    kept_remat, loss_remat = _saved_bytes(remat, x)
    assert kept_remat * 4 < kept_plain, f"checkpointing kept {kept_remat} of {kept_plain} bytes"
    loss_plain.backward()
    loss_remat.backward()
    torch.testing.assert_close(loss_remat, loss_plain)
    for (key, p), q in zip(plain.named_parameters(), remat.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-8, atol=1e-10, msg=key)
    remat.eval()
    assert _saved_bytes(remat, x)[0] == _saved_bytes(plain.eval(), x)[0], "checkpointing only while training"
