"""torchvision's RetinaNet on a ResNet or AA-ResNet FPN backbone: the paper's COCO detection setting (docs/paper.md).

``retinanet_resnet50_fpn`` is torchvision's model of that name, built on aacn's ResNet-50: its state_dict has
torchvision's keys and shapes, so torchvision's weights load into it. ``retinanet_aa_resnet50_fpn`` swaps in
AA-ResNet-50 and changes nothing else (FPN on stages 3-5 (C3-C5), P6 and P7 from P5, torchvision's anchors, head and
losses). The 101-layer pair of the paper's table is here too.

Image size. RetinaNet's transform scales each image so its short side is ``min_size`` without its long side passing
``max_size``, then pads the batch to a multiple of 32. A batch of one portrait and one landscape image is therefore
padded up to ``max_size`` (rounded up to 32) on both sides, and that square is what the augmented backbone's relative
tables are made for: any image up to it works, of any aspect ratio. A larger ``max_size`` at inference needs a
backbone built for it, or ``interpolate_rel_pos=True`` (tables resampled, which the paper does not do).

The attention memory and compute grow with the square of the feature map's area: at 800x1333, stage 3 of
AA-ResNet-50 attends over 50x84 positions. On CPU the layer's ``auto`` path (``chunked``) keeps the memory linear in
the area; no GPU has run these sizes yet.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..utils.extras import require_extra
from .registry import create_model, get_spec, list_models, register_model

SIZE_DIVISIBLE = 32  # GeneralizedRCNNTransform pads batches to a multiple of this
FPN_CHANNELS = 256
FPN_STAGES = (2, 3, 4)  # torchvision's layer2-4 (the paper's C3-C5); P2 is skipped for its many anchors

# Bello et al. 2019, Table 5: COCO mAP of RetinaNet with each backbone
PAPER_COCO_MAP: dict[str, float] = {
    "retinanet_resnet50_fpn": 36.8,
    "retinanet_aa_resnet50_fpn": 38.2,
    "retinanet_resnet101_fpn": 38.5,
    "retinanet_aa_resnet101_fpn": 39.2,
}


def padded_size(max_size: int) -> int:
    """The largest side RetinaNet's transform can hand the backbone for images of at most ``max_size`` pixels."""
    return math.ceil(max_size / SIZE_DIVISIBLE) * SIZE_DIVISIBLE


def _check_tables(backbone: nn.Module, side: int) -> None:
    """An augmented backbone must take ``side`` x ``side`` images: its tables cover them, or it interpolates."""
    attention = getattr(backbone, "attention_config", None)
    if attention is None or attention.interpolate_rel_pos:
        return
    size = attention.input_size
    height, width = (size, size) if isinstance(size, int) else size
    if height < side or width < side:
        raise ValueError(
            f"the backbone's relative tables are made for {height}x{width} images, but RetinaNet pads batches up to "
            f"{side}x{side} for this max_size; build the backbone with input_size={side}, pass a smaller max_size, "
            "or build it with interpolate_rel_pos=True"
        )


def _freeze(backbone: nn.Module, trainable_layers: int) -> None:
    """torchvision's convention: train the last ``trainable_layers`` of layer4, layer3, layer2, layer1, the stem."""
    if not isinstance(trainable_layers, int) or not 0 <= trainable_layers <= 5:
        raise ValueError(f"trainable_layers must be an int from 0 to 5, got {trainable_layers!r}")
    trained = ["layer4", "layer3", "layer2", "layer1", "conv1"][:trainable_layers]
    if trainable_layers == 5:
        trained.append("bn1")
    for name, parameter in backbone.named_parameters():
        if not any(name.startswith(prefix) for prefix in trained):
            parameter.requires_grad_(False)


def _frozen_batch_norm(module: nn.Module) -> nn.Module:
    """Every BatchNorm2d of ``module`` replaced by torchvision's FrozenBatchNorm2d holding the same statistics."""
    from torchvision.ops import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                for key in ("weight", "bias", "running_mean", "running_var"):
                    getattr(frozen, key).copy_(getattr(child, key))
            setattr(module, name, frozen)
        else:
            _frozen_batch_norm(child)
    return module


def retinanet(
    backbone: str | nn.Module = "aa_resnet50",
    num_classes: int = 91,
    *,
    min_size: int = 800,
    max_size: int = 1333,
    trainable_layers: int | None = None,
    frozen_batch_norm: bool | None = None,
    backbone_overrides: dict[str, Any] | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's RetinaNet on an aacn ResNet-family backbone with an FPN.

    Args:
        backbone: a model name (``"resnet50"``, ``"aa_resnet50"``, ...; built fresh, its tables sized for
            ``max_size``) or a model made by aacn (e.g. ``aacn.from_pretrained(...)``; its classifier is dropped).
        num_classes: object classes including the background (COCO: 91).
        min_size, max_size: RetinaNet's resizing (see the module docstring for what the tables cover).
        trainable_layers: backbone stages trained, counted from the last (5: all, with the stem). Default: 5 for a
            fresh backbone, 3 for a given one (torchvision's defaults without and with pretrained weights).
        frozen_batch_norm: replace the backbone's batch norms by frozen ones. Default: only for a given backbone.
        backbone_overrides: ``create_model`` overrides for a backbone given by name (e.g. ``{"key_ratio": 0.25}``).
        kwargs: passed to ``torchvision.models.detection.RetinaNet`` (``anchor_generator``, ``score_thresh``, ...).
    """
    for name, value in (("min_size", min_size), ("max_size", max_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int (pixels), got {value!r}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an int >= 2 (the object classes and the background), got {num_classes!r}"
        )
    require_extra("detection", "aacn.models.detection")
    from torchvision.models.detection import RetinaNet
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    side = padded_size(max_size)
    given = isinstance(backbone, nn.Module)
    if not given:
        overrides = dict(backbone_overrides or {})
        if get_spec(backbone).attention is not None:
            overrides.setdefault("input_size", side)
        backbone = create_model(backbone, **overrides)
    elif backbone_overrides:
        raise ValueError("backbone_overrides apply to a backbone given by name; this one is already built")
    if not hasattr(backbone, "feature_info") or len(backbone.feature_info) != 5:
        raise ValueError("the backbone must be one of aacn's ResNet models (resnet*, aa_resnet*), built by aacn")
    _check_tables(backbone, side)
    _freeze(backbone, trainable_layers if trainable_layers is not None else (3 if given else 5))
    if frozen_batch_norm if frozen_batch_norm is not None else given:
        _frozen_batch_norm(backbone)

    features = {info["module"]: info for info in backbone.feature_info}
    return_layers = {f"layer{stage}": str(index) for index, stage in enumerate(FPN_STAGES)}
    body = BackboneWithFPN(
        backbone,
        return_layers=return_layers,  # IntermediateLayerGetter drops what follows layer4 (avgpool, fc)
        in_channels_list=[features[layer]["num_chs"] for layer in return_layers],
        out_channels=FPN_CHANNELS,
        extra_blocks=LastLevelP6P7(FPN_CHANNELS, FPN_CHANNELS),
    )
    return RetinaNet(body, num_classes, min_size=min_size, max_size=max_size, **kwargs)


# ---------------------------------------------------------------- the registered detectors (aacn's registry, task
# "detection"); keywords as :func:`retinanet`


@register_model(num_classes=91, input_size=1333, task="detection", backbone="resnet50")
def retinanet_resnet50_fpn(*, num_classes: int = 91, **kwargs: Any) -> nn.Module:
    """torchvision's retinanet_resnet50_fpn on aacn's ResNet-50 (its state_dict keys and shapes)."""
    return retinanet("resnet50", num_classes, **kwargs)


@register_model(num_classes=91, input_size=1333, task="detection", backbone="aa_resnet50")
def retinanet_aa_resnet50_fpn(*, num_classes: int = 91, **kwargs: Any) -> nn.Module:
    """RetinaNet with an FPN on AA-ResNet-50 (Table 5: 38.2 COCO mAP against 36.8)."""
    return retinanet("aa_resnet50", num_classes, **kwargs)


@register_model(num_classes=91, input_size=1333, task="detection", backbone="resnet101")
def retinanet_resnet101_fpn(*, num_classes: int = 91, **kwargs: Any) -> nn.Module:
    """RetinaNet with an FPN on aacn's ResNet-101."""
    return retinanet("resnet101", num_classes, **kwargs)


@register_model(num_classes=91, input_size=1333, task="detection", backbone="aa_resnet101")
def retinanet_aa_resnet101_fpn(*, num_classes: int = 91, **kwargs: Any) -> nn.Module:
    """RetinaNet with an FPN on AA-ResNet-101 (Table 5: 39.2 COCO mAP against 38.5)."""
    return retinanet("aa_resnet101", num_classes, **kwargs)


# detector name -> backbone model name, read off the registry
DETECTION_MODELS: dict[str, str] = {name: get_spec(name).backbone for name in list_models("detection")}  # type: ignore[misc]


def create_detection_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a detection model by name (one of :data:`DETECTION_MODELS`): ``create_model`` for the detectors."""
    if name not in DETECTION_MODELS:
        raise ValueError(f"unknown detection model {name!r}; choose one of: {', '.join(DETECTION_MODELS)}")
    return create_model(name, **kwargs)
