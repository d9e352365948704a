"""ResNet v1.5 (stride on the 3x3 conv), laid out like torchvision's so that plain weights load as they are.

Augmented models replace the first 3x3 conv of every basic block, or the 3x3 conv of every bottleneck, of the stages
named by ``AttentionConfig.aa_stages`` with an :class:`aacn.AugmentedConv2d` (batch norm follows it, as in the paper).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..utils.normalization import CIFAR10_STATS
from .classifier import Classifier, Stage, feature
from .paper import PaperFigures
from .placement import BATCH_NORM, CONV, AttentionConfig, conv3x3, grid_of, init_conv_bn, strided
from .registry import default_attention, register_model


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        stage: int,
        grid: tuple[int, ...],
        attention: AttentionConfig | None,
        dims: int = 2,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, planes, stride, stage=stage, grid=grid, attention=attention, dims=dims)
        self.bn1 = BATCH_NORM[dims](planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = CONV[dims](planes, planes, 3, 1, padding=1, bias=False)
        self.bn2 = BATCH_NORM[dims](planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        stage: int,
        grid: tuple[int, ...],
        attention: AttentionConfig | None,
        dims: int = 2,
    ) -> None:
        super().__init__()
        self.conv1 = CONV[dims](in_channels, planes, 1, bias=False)
        self.bn1 = BATCH_NORM[dims](planes)
        self.conv2 = conv3x3(planes, planes, stride, stage=stage, grid=grid, attention=attention, dims=dims)
        self.bn2 = BATCH_NORM[dims](planes)
        self.conv3 = CONV[dims](planes, planes * self.expansion, 1, bias=False)
        self.bn3 = BATCH_NORM[dims](planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(Classifier):
    """ResNet with an ImageNet stem (7x7/2 conv + 3x3/2 max-pool) or a CIFAR stem (3x3/1 conv, no pool), on images
    (``dims=2``, torchvision's layout) or on sequences (``dims=1``: the same network with 1-D convolutions, batch
    norms and pooling, for time series).

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: number of blocks in each of the four stages.
        num_classes: outputs of the classifier.
        stem: ``"imagenet"`` or ``"cifar"``.
        attention: where and how to augment convolutions with attention; None for the plain network.
        zero_init_residual: start every residual branch's last BN at zero (as torchvision's option).
        in_chans: channels of the input image (or sequence).
        dims: spatial axes of the input: 2 (images, the default) or 1 (sequences).
    """

    stage_names = ("layer1", "layer2", "layer3", "layer4")

    def __init__(
        self,
        block: Block,
        layers: list[int],
        num_classes: int = 1000,
        *,
        stem: str = "imagenet",
        attention: AttentionConfig | None = None,
        zero_init_residual: bool = False,
        in_chans: int = 3,
        dims: int = 2,
    ) -> None:
        super().__init__()
        if dims not in CONV:
            raise ValueError(f"dims must be 1 (sequences) or 2 (images), got {dims!r}")
        self.spatial_dims = dims
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if not isinstance(zero_init_residual, bool):
            raise ValueError(f"zero_init_residual must be true or false, got {zero_init_residual!r}")
        if attention is not None:
            attention.check_stages(len(self.stage_names), "a ResNet")
        self.attention_config = attention
        input_size = attention.input_size if attention is not None else (224 if stem == "imagenet" else 32)
        grid = grid_of(input_size, dims)
        if not isinstance(in_chans, int) or isinstance(in_chans, bool) or in_chans < 1:
            raise ValueError(f"in_chans must be an int >= 1 (channels of the input image), got {in_chans!r}")
        # Children are registered in forward order: feature extractors that run them in sequence (torchvision's
        # IntermediateLayerGetter, timm's FeatureListNet) depend on it.
        imagenet = stem == "imagenet"
        self.conv1 = CONV[dims](in_chans, 64, *((7, 2, 3) if imagenet else (3, 1, 1)), bias=False)
        self.bn1 = BATCH_NORM[dims](64)
        self.relu = nn.ReLU(inplace=True)
        max_pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        self.maxpool: nn.Module = max_pool(3, 2, padding=1) if imagenet else nn.Identity()
        if imagenet:
            grid = strided(strided(grid, 2), 2)
        # timm's feature_info: channels, stride from the image and module of each feature map (stem, stages)
        self.feature_info = [feature(64, 2 if imagenet else 1, "relu")]
        reduction = 4 if imagenet else 1

        self.in_channels = 64
        stages = []
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=False)):
            stride = 1 if index == 0 else 2
            stage, grid = self._make_stage(block, planes, blocks, stride, index + 1, grid, attention, dims)
            stages.append(stage)
            reduction *= stride
            self.feature_info.append(feature(planes * block.expansion, reduction, f"layer{index + 1}"))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool1d(1) if dims == 1 else nn.AdaptiveAvgPool2d(1)
        self.num_features = 512 * block.expansion
        self.fc = nn.Linear(self.num_features, num_classes)
        self._init_weights(zero_init_residual)

    def _make_stage(
        self,
        block: Block,
        planes: int,
        blocks: int,
        stride: int,
        stage: int,
        grid: tuple[int, ...],
        attention: AttentionConfig | None,
        dims: int = 2,
    ) -> tuple[Stage, tuple[int, ...]]:
        downsample = None
        out_channels = planes * block.expansion
        if stride != 1 or self.in_channels != out_channels:
            downsample = nn.Sequential(
                CONV[dims](self.in_channels, out_channels, 1, stride, bias=False), BATCH_NORM[dims](out_channels)
            )
        layers = []
        for i in range(blocks):
            layers.append(
                block(
                    self.in_channels,
                    planes,
                    stride if i == 0 else 1,
                    downsample if i == 0 else None,
                    stage=stage,
                    grid=grid,
                    attention=attention,
                    dims=dims,
                )
            )
            if i == 0:
                grid = strided(grid, stride)
            self.in_channels = out_channels
        return Stage(*layers), grid

    def _init_weights(self, zero_init_residual: bool) -> None:
        init_conv_bn(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def stem(self, x: Tensor) -> Tensor:
        return self.relu(self.bn1(self.conv1(x)))

    def stem_pool(self, x: Tensor) -> Tensor:
        return self.maxpool(x)


DEPTHS: dict[int, tuple[Block, list[int]]] = {
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
}


def resnet(depth: int, num_classes: int, *, stem: str, attention: AttentionConfig | None, **kwargs: Any) -> ResNet:
    block, layers = DEPTHS[depth]
    return ResNet(block, layers, num_classes, stem=stem, attention=attention, **kwargs)


# ---------------------------------------------------------------- the registered models
# docs/paper.md, "Where the layer goes": bottleneck nets k = 0.2, v = 0.1; basic-block nets k = v = 0.25; at least
# 20 key dimensions per head; ImageNet models attend over a 2x-downsampled grid in the first augmented stage, the
# CIFAR ones need not (16x16 is their largest augmented grid).
BOTTLENECK_224 = AttentionConfig(0.2, 0.1, 8, 20, (2, 3, 4), (2,), True, 224)
BASIC_224 = AttentionConfig(0.25, 0.25, 8, 20, (2, 3, 4), (2,), True, 224)
BOTTLENECK_32 = AttentionConfig(0.2, 0.1, 8, 20, (2, 3, 4), (), True, 32)
BASIC_32 = AttentionConfig(0.25, 0.25, 8, 20, (2, 3, 4), (), True, 32)
IMAGENET = "ImageNet 224x224 (Table 2/3)"


def _plain(depth: int, stem: str, num_classes: int, **options: Any) -> ResNet:
    return resnet(depth, num_classes, stem=stem, attention=None, **options)


def _augmented(name: str, depth: int, stem: str, num_classes: int, attention: dict[str, Any], **options: Any) -> ResNet:
    return resnet(depth, num_classes, stem=stem, attention=default_attention(name, **attention), **options)


# ImageNet stem, 224x224: torchvision's ResNets (same layout and parameter counts) and the paper's AA-ResNets


@register_model(num_classes=1000, input_size=224)
def resnet18(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-18 (torchvision's: 11,689,512 parameters)."""
    return _plain(18, "imagenet", num_classes, zero_init_residual=zero_init_residual, in_chans=in_chans)


@register_model(num_classes=1000, input_size=224, attention=BASIC_224)
def aa_resnet18(
    *, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-18: the paper's basic-block rule (first 3x3 conv of every block of stages 2-4), k = v = 0.25."""
    return _augmented("aa_resnet18", 18, "imagenet", num_classes, attention, zero_init_residual=zero_init_residual,
                      in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, paper=PaperFigures(21.8, 7.4, 73.6, 91.5, IMAGENET))
def resnet34(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-34 (torchvision's: 21,797,672 parameters)."""
    return _plain(34, "imagenet", num_classes, zero_init_residual=zero_init_residual, in_chans=in_chans)


@register_model(num_classes=1000, input_size=224, attention=BASIC_224,
                paper=PaperFigures(20.7, 7.1, 74.7, 92.0, IMAGENET))  # fmt: skip
def aa_resnet34(
    *, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-34 (Table 3): the first 3x3 conv of every basic block of stages 2-4 augmented, k = v = 0.25."""
    return _augmented("aa_resnet34", 34, "imagenet", num_classes, attention, zero_init_residual=zero_init_residual,
                      in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, paper=PaperFigures(25.6, 8.2, 76.4, 93.1, IMAGENET))
def resnet50(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-50 v1.5 (torchvision's: 25,557,032 parameters)."""
    return _plain(50, "imagenet", num_classes, zero_init_residual=zero_init_residual, in_chans=in_chans)


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224,
                paper=PaperFigures(25.8, 8.3, 77.7, 93.8, IMAGENET))  # fmt: skip
def aa_resnet50(
    *, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-50 (Table 2): every bottleneck's 3x3 conv of stages 2-4 augmented, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet50", 50, "imagenet", num_classes, attention, zero_init_residual=zero_init_residual,
                      in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, paper=PaperFigures(44.5, 15.6, 77.9, 94.0, IMAGENET))
def resnet101(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-101 (torchvision's: 44,549,160 parameters)."""
    return _plain(101, "imagenet", num_classes, zero_init_residual=zero_init_residual, in_chans=in_chans)


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224,
                paper=PaperFigures(45.4, 16.1, 78.7, 94.4, IMAGENET))  # fmt: skip
def aa_resnet101(
    *, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-101 (Table 3): every bottleneck's 3x3 conv of stages 2-4 augmented, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet101", 101, "imagenet", num_classes, attention, zero_init_residual=zero_init_residual,
                      in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, paper=PaperFigures(60.2, 23.0, 78.4, 94.2, IMAGENET))
def resnet152(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-152 (torchvision's: 60,192,808 parameters)."""
    return _plain(152, "imagenet", num_classes, zero_init_residual=zero_init_residual, in_chans=in_chans)


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224,
                paper=PaperFigures(61.6, 23.8, 79.1, 94.6, IMAGENET))  # fmt: skip
def aa_resnet152(
    *, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-152 (Table 3): every bottleneck's 3x3 conv of stages 2-4 augmented, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet152", 152, "imagenet", num_classes, attention, zero_init_residual=zero_init_residual,
                      in_chans=in_chans)  # fmt: skip


# CIFAR stem (3x3/1 conv, no max-pool), 32x32: a project choice, the paper has no CIFAR ResNets


@register_model(num_classes=10, input_size=32, stats=CIFAR10_STATS)
def resnet18_cifar(*, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-18 with a CIFAR stem."""
    return _plain(18, "cifar", num_classes, zero_init_residual=zero_init_residual,
                  in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, attention=BASIC_32, stats=CIFAR10_STATS)
def aa_resnet18_cifar(
    *, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-18 with a CIFAR stem: the basic-block rule, k = v = 0.25, attention grids 16x16, 8x8 and 4x4."""
    return _augmented("aa_resnet18_cifar", 18, "cifar", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, stats=CIFAR10_STATS)
def resnet34_cifar(*, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-34 with a CIFAR stem."""
    return _plain(34, "cifar", num_classes, zero_init_residual=zero_init_residual,
                  in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, attention=BASIC_32, stats=CIFAR10_STATS)
def aa_resnet34_cifar(
    *, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-34 with a CIFAR stem: the basic-block rule, k = v = 0.25."""
    return _augmented("aa_resnet34_cifar", 34, "cifar", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, stats=CIFAR10_STATS)
def resnet50_cifar(*, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-50 with a CIFAR stem."""
    return _plain(50, "cifar", num_classes, zero_init_residual=zero_init_residual,
                  in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, attention=BOTTLENECK_32, stats=CIFAR10_STATS)
def aa_resnet50_cifar(
    *, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-50 with a CIFAR stem: the bottleneck rule, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet50_cifar", 50, "cifar", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, stats=CIFAR10_STATS)
def resnet101_cifar(*, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-101 with a CIFAR stem."""
    return _plain(101, "cifar", num_classes, zero_init_residual=zero_init_residual,
                  in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, attention=BOTTLENECK_32, stats=CIFAR10_STATS)
def aa_resnet101_cifar(
    *, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-101 with a CIFAR stem: the bottleneck rule, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet101_cifar", 101, "cifar", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, stats=CIFAR10_STATS)
def resnet152_cifar(*, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3) -> ResNet:
    """ResNet-152 with a CIFAR stem."""
    return _plain(152, "cifar", num_classes, zero_init_residual=zero_init_residual,
                  in_chans=in_chans)  # fmt: skip


@register_model(num_classes=10, input_size=32, attention=BOTTLENECK_32, stats=CIFAR10_STATS)
def aa_resnet152_cifar(
    *, num_classes: int = 10, zero_init_residual: bool = False, in_chans: int = 3, **attention: Any
) -> ResNet:
    """AA-ResNet-152 with a CIFAR stem: the bottleneck rule, k = 0.2, v = 0.1."""
    return _augmented("aa_resnet152_cifar", 152, "cifar", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


# ---------------------------------------------------------------- the paper's ablations on AA-ResNet-50 (ImageNet)
# The attention share (arXiv v1, k = v): every 3x3 conv of stages 2-4 augmented with k = v = r, at least 20 key
# dimensions per head. "Fully attentional" (r = 1.0) is the same rule at r = 1: dv = out_channels (no convolution
# branch) and dk = max(out_channels, 8 * 20): 19.38M parameters, the paper's 19.4M.
KV_ABLATION = "ImageNet 224x224 (arXiv v1, attention share k = v)"


def _kv(ratio: float) -> AttentionConfig:
    return BOTTLENECK_224.replace(key_ratio=ratio, value_ratio=ratio)


@register_model(num_classes=1000, input_size=224, attention=_kv(0.25),
                paper=PaperFigures(24.3, None, 77.7, None, KV_ABLATION))  # fmt: skip
def aa_resnet50_kv25(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                     **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 with k = v = 0.25 (arXiv v1's AA-ResNet-50)."""
    return _augmented("aa_resnet50_kv25", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, attention=_kv(0.5),
                paper=PaperFigures(22.3, None, 77.3, None, KV_ABLATION))  # fmt: skip
def aa_resnet50_kv50(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                     **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 with k = v = 0.5."""
    return _augmented("aa_resnet50_kv50", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, attention=_kv(0.75),
                paper=PaperFigures(20.7, None, 76.7, None, KV_ABLATION))  # fmt: skip
def aa_resnet50_kv75(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                     **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 with k = v = 0.75."""
    return _augmented("aa_resnet50_kv75", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, attention=_kv(1.0),
                paper=PaperFigures(19.4, None, 73.9, None, KV_ABLATION))  # fmt: skip
def aa_resnet50_kv100(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                      **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 fully attentional in stages 2-4 (k = v = 1.0: no convolution branch in those 3x3 convs)."""
    return _augmented("aa_resnet50_kv100", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


# Position encodings (the paper's position-encoding ablation on AA-ResNet-50: none 77.5, 2-D sine 77.5, CoordConv
# 77.5, relative 77.7 top-1); the relative one is aa_resnet50 itself.
POSITION_ABLATION = "ImageNet 224x224 (position-encoding ablation)"


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224.replace(position_encoding="none"),
                paper=PaperFigures(None, None, 77.5, None, POSITION_ABLATION))  # fmt: skip
def aa_resnet50_pe_none(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                        **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 without position encoding: content-only attention."""
    return _augmented("aa_resnet50_pe_none", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224.replace(position_encoding="sine"),
                paper=PaperFigures(None, None, 77.5, None, POSITION_ABLATION))  # fmt: skip
def aa_resnet50_pe_sine(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                        **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 with 2-D sinusoidal encodings added to the attention input."""
    return _augmented("aa_resnet50_pe_sine", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


@register_model(num_classes=1000, input_size=224, attention=BOTTLENECK_224.replace(position_encoding="coordconv"),
                paper=PaperFigures(None, None, 77.5, None, POSITION_ABLATION))  # fmt: skip
def aa_resnet50_pe_coordconv(*, num_classes: int = 1000, zero_init_residual: bool = False, in_chans: int = 3,
                             **attention: Any) -> ResNet:  # fmt: skip
    """AA-ResNet-50 with coordinate channels appended to the attention input (CoordConv)."""
    return _augmented("aa_resnet50_pe_coordconv", 50, "imagenet", num_classes, attention,
                      zero_init_residual=zero_init_residual, in_chans=in_chans)  # fmt: skip


# ---------------------------------------------------------------- on sequences: time series, audio, ECG (a project
# choice, the paper has no 1-D models): ResNet-18 with 1-D convolutions, its ImageNet-style stem (7-wide/2 conv,
# 3-wide/2 max-pool) and the basic-block rule of augmentation on stages 2-4 (k = v = 0.25), for sequences of up to
# 1,024 steps (attention over 128, 64 and 32 positions; longer with input_size or interpolate_rel_pos).
SEQUENCE_STATS = ((0.0,), (1.0,))  # generated sequences come normalised
BASIC_SEQUENCE = AttentionConfig(0.25, 0.25, 8, 20, (2, 3, 4), (), True, 1024)


@register_model(num_classes=2, input_size=1024, stats=SEQUENCE_STATS, dims=1)
def resnet18_1d(*, num_classes: int = 2, zero_init_residual: bool = False, in_chans: int = 1) -> ResNet:
    """ResNet-18 on sequences (B, C, L): the plain twin of aa_resnet18_1d."""
    return resnet(18, num_classes, stem="imagenet", attention=None, zero_init_residual=zero_init_residual,
                  in_chans=in_chans, dims=1)  # fmt: skip


@register_model(num_classes=2, input_size=1024, attention=BASIC_SEQUENCE, stats=SEQUENCE_STATS, dims=1)
def aa_resnet18_1d(
    *, num_classes: int = 2, zero_init_residual: bool = False, in_chans: int = 1, **attention: Any
) -> ResNet:
    """AA-ResNet-18 on sequences: the first 3-wide conv of every block of stages 2-4 an AugmentedConv1d."""
    return resnet(18, num_classes, stem="imagenet", attention=default_attention("aa_resnet18_1d", **attention),
                  zero_init_residual=zero_init_residual, in_chans=in_chans, dims=1)  # fmt: skip
