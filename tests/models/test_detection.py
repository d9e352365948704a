"""RetinaNet on aacn backbones: torchvision's layout, tables sized for the largest padded image, training works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from torchvision.ops import FrozenBatchNorm2d

import aacn
from aacn.cli import main
from aacn.models.detection import (
    DETECTION_MODELS,
    create_detection_model,
    padded_size,
    retinanet,
    retinanet_aa_resnet50_fpn,
    retinanet_resnet50_fpn,
)
from aacn.nn import AugmentedConv2d


def test_plain_retinanet_is_torchvisions_and_takes_its_weights() -> None:
    torch.manual_seed(0)
    reference = torchvision.models.detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None).eval()
    ours = retinanet_resnet50_fpn().eval()
    shapes = {key: value.shape for key, value in ours.state_dict().items()}
    assert shapes == {key: value.shape for key, value in reference.state_dict().items()}
    ours.load_state_dict(reference.state_dict())
    images = torch.rand(2, 3, 96, 128)
    with torch.no_grad():
        expected, got = reference.backbone(images), ours.backbone(images)
        assert list(got) == ["0", "1", "2", "p6", "p7"]
        for level in expected:
            torch.testing.assert_close(got[level], expected[level], msg=level)
        heads = ours.head(list(got.values())), reference.head(list(expected.values()))
    for key in ("cls_logits", "bbox_regression"):
        torch.testing.assert_close(heads[0][key], heads[1][key])


def test_augmented_backbone_covers_the_largest_padded_image() -> None:
    assert padded_size(1333) == 1344 and padded_size(128) == 128 and padded_size(100) == 128
    with torch.device("meta"):
        model = retinanet_aa_resnet50_fpn()
    assert model.backbone.body.conv1.weight.shape == (64, 3, 7, 7)
    layers = [m for m in model.backbone.modules() if isinstance(m, AugmentedConv2d)]
    assert len(layers) == 4 + 6 + 3  # the 3x3 conv of every bottleneck of stages 2-4
    # stage 2 attends at stride 16 (downsampled), stages 3 and 4 at 16 and 32: tables for 1344 / 16 and 1344 / 32
    assert {tuple(layer.max_size) for layer in layers} == {(84, 84), (42, 42)}

    small = retinanet_aa_resnet50_fpn(num_classes=3, min_size=64, max_size=100).eval()
    with torch.no_grad():  # portrait and landscape at the limit: the batch is padded to 128 x 128
        detections = small([torch.rand(3, 64, 100), torch.rand(3, 100, 64)])
    assert len(detections) == 2 and detections[0]["boxes"].shape[1] == 4


def test_a_backbone_too_small_for_max_size_is_refused() -> None:
    backbone = aacn.create_model("aa_resnet18", input_size=64)
    with pytest.raises(ValueError, match=r"made for 64x64 images, but RetinaNet pads batches up to 128x128"):
        retinanet(backbone, 3, min_size=64, max_size=100)
    interpolating = aacn.create_model("aa_resnet18", input_size=64, interpolate_rel_pos=True)
    model = retinanet(interpolating, 3, min_size=64, max_size=100).eval()
    with torch.no_grad():
        assert len(model([torch.rand(3, 100, 64)])) == 1
    with pytest.raises(ValueError, match="aacn's ResNet models"):
        retinanet(aacn.create_model("wrn28_10"), 3)
    with pytest.raises(ValueError, match="unknown detection model 'retinanet_vit'"):
        create_detection_model("retinanet_vit")
    with pytest.raises(ValueError, match="trainable_layers must be an int from 0 to 5, got 6"):
        retinanet("resnet18", 3, trainable_layers=6)


def test_a_given_backbone_is_frozen_as_torchvision_freezes_a_pretrained_one() -> None:
    backbone = aacn.create_model("resnet18")
    with torch.no_grad():
        backbone.bn1.running_mean.fill_(0.5)
    model = retinanet(backbone, 3, min_size=64, max_size=96)
    body = model.backbone.body
    assert isinstance(body.bn1, FrozenBatchNorm2d) and torch.all(body.bn1.running_mean == 0.5)
    trained = {name.split(".")[0] for name, p in body.named_parameters() if p.requires_grad}
    assert trained == {"layer2", "layer3", "layer4"}  # torchvision's default for pretrained backbones: 3
    fresh = retinanet("resnet18", 3, trainable_layers=1)
    assert isinstance(fresh.backbone.body.bn1, torch.nn.BatchNorm2d)
    assert {n.split(".")[0] for n, p in fresh.backbone.body.named_parameters() if p.requires_grad} == {"layer4"}


def _scene(generator: torch.Generator, height: int, width: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """A bright rectangle on dim noise, and its box."""
    image = torch.rand(3, height, width, generator=generator) * 0.2
    top, left = (int(torch.randint(0, side - 40, (1,), generator=generator)) for side in (height, width))
    box_h, box_w = (int(torch.randint(24, 40, (1,), generator=generator)) for _ in range(2))
    image[:, top : top + box_h, left : left + box_w] = 0.9
    box = torch.tensor([[left, top, left + box_w, top + box_h]], dtype=torch.float32)
    return image, {"boxes": box, "labels": torch.tensor([1])}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["retinanet_resnet50_fpn", "retinanet_aa_resnet50_fpn"])
def test_a_few_training_steps_lower_the_loss(name: str) -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    scenes = [_scene(generator, 96, 128) for _ in range(2)] + [_scene(generator, 128, 96) for _ in range(2)]
    images, targets = [s[0] for s in scenes], [s[1] for s in scenes]
    model = create_detection_model(name, num_classes=2, min_size=96, max_size=128).train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    losses = []
    for _ in range(12):
        parts = model(images, targets)
        loss = parts["classification"] + parts["bbox_regression"]
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if name == "retinanet_aa_resnet50_fpn" and len(losses) == 1:  # the attention trains, tables included
            layer = next(m for m in model.modules() if isinstance(m, AugmentedConv2d))
            assert layer.rel_h.grad is not None and layer.rel_h.grad.abs().sum() > 0
    # focal-loss training of a fresh RetinaNet oscillates once the background is learned; the trend is down
    assert losses[-1] < 0.75 * losses[0] and min(losses[-4:]) < 0.5 * losses[0], losses


def test_aacn_models_lists_the_detection_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--filter", "retinanet", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    rows = {row["model"]: row for row in listing["detection"]}
    assert listing["models"] == [] and set(rows) == set(DETECTION_MODELS)
    assert rows["retinanet_resnet50_fpn"]["params"] == 34_068_119  # torchvision's retinanet_resnet50_fpn
    assert rows["retinanet_aa_resnet50_fpn"]["paper_coco_map"] == 38.2
    assert main(["models", "--filter", "aa_resnet50"]) == 0
    out = capsys.readouterr().out
    assert "| aa_resnet50 | 224x224 | 1000 | 25.81 |" in out
    assert "| retinanet_aa_resnet50_fpn | aa_resnet50 | 1333 | 91 | 34.38 | 38.2 |" in out


@pytest.mark.process
def test_aacn_models_without_torchvision_says_what_detection_needs(tmp_path: Path) -> None:
    script = (
        "import sys\nsys.modules['torchvision'] = None\nfrom aacn.cli import main\n"
        "sys.exit(main(['models', '--filter', 'aa_resnet50']))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert "| aa_resnet50 | 224x224 |" in done.stdout
    assert "the detection models (retinanet_*) need torchvision: pip install 'aacn[detection]'" in done.stdout
    assert "| retinanet_" not in done.stdout


def test_detector_sizes_and_classes_are_checked() -> None:
    pytest.importorskip("torchvision")
    from aacn.models.detection import retinanet

    for kwargs, message in (
        ({"max_size": 0}, r"max_size must be a positive int \(pixels\), got 0"),
        ({"min_size": "big"}, r"min_size must be a positive int"),
    ):
        with pytest.raises(ValueError, match=message):
            retinanet("resnet50", 3, **kwargs)
    with pytest.raises(ValueError, match=r"num_classes must be an int >= 2"):
        retinanet("resnet50", 1)
