"""Wide-ResNet (Zagoruyko & Komodakis, 2016) for 32x32 inputs, with pre-activation wide basic blocks.

The augmented variant replaces the FIRST 3x3 conv of every residual block (docs/paper.md, the CIFAR-100 model).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.normalization import CIFAR100_STATS
from .classifier import Classifier, Stage, feature
from .paper import PaperFigures
from .placement import AttentionConfig, conv3x3, grid_of, init_conv_bn, strided
from .registry import default_attention, register_model


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3(stride)-BN-ReLU-(dropout)-conv3x3, plus a 1x1 projection shortcut when the shape changes."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        drop_rate: float,
        *,
        stage: int,
        grid: tuple[int, int],
        attention: AttentionConfig | None,
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride, stage=stage, grid=grid, attention=attention)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.drop_rate = drop_rate
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        preact = F.relu(self.bn1(x))
        # A projection shortcut sees the pre-activated input, as in the reference implementation.
        identity = x if self.shortcut is None else self.shortcut(preact)
        out = self.conv1(preact)
        out = F.relu(self.bn2(out))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return self.conv2(out) + identity


class WideResNet(Classifier):
    """WRN-depth-widen_factor: three stages of (depth - 4) / 6 wide basic blocks at 16k, 32k and 64k channels."""

    stage_names = ("layer1", "layer2", "layer3")
    neck_modules = ("bn", "relu")

    def __init__(
        self,
        depth: int = 28,
        widen_factor: int = 10,
        num_classes: int = 100,
        *,
        drop_rate: float = 0.0,
        attention: AttentionConfig | None = None,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        if not isinstance(in_chans, int) or isinstance(in_chans, bool) or in_chans < 1:
            raise ValueError(f"in_chans must be an int >= 1 (channels of the input image), got {in_chans!r}")
        if not isinstance(drop_rate, (int, float)) or isinstance(drop_rate, bool) or not 0 <= drop_rate < 1:
            raise ValueError(f"drop_rate must be a number in [0, 1), got {drop_rate!r}")
        if attention is not None:
            attention.check_stages(len(self.stage_names), "a Wide-ResNet")
        if (depth - 4) % 6:
            raise ValueError(f"Wide-ResNet depth must be 6n + 4 (e.g. 16, 22, 28, 40), got {depth}")
        blocks = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.attention_config = attention
        input_size = attention.input_size if attention is not None else 32
        grid = grid_of(input_size, 2)

        self.conv1 = nn.Conv2d(in_chans, 16, 3, 1, padding=1, bias=False)
        in_channels = 16
        # timm's feature_info: the stem, then each stage; the last stage's map is taken after the final BN-ReLU,
        # the pre-activation network's own output (as timm does for its pre-activation ResNets)
        self.feature_info = [feature(16, 1, "conv1")]
        stages = []
        for index, width in enumerate(widths):
            stage_stride = 1 if index == 0 else 2
            layers = []
            for i in range(blocks):
                stride = stage_stride if i == 0 else 1
                layers.append(
                    WideBasicBlock(
                        in_channels, width, stride, drop_rate, stage=index + 1, grid=grid, attention=attention
                    )
                )
                grid = strided(grid, stride)
                in_channels = width
            stages.append(Stage(*layers))
            self.feature_info.append(feature(width, 2**index, f"layer{index + 1}"))
        self.layer1, self.layer2, self.layer3 = stages
        self.bn = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.feature_info[-1]["module"] = "relu"
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = in_channels
        self.fc = nn.Linear(in_channels, num_classes)
        init_conv_bn(self)
        nn.init.zeros_(self.fc.bias)

    def stem(self, x: Tensor) -> Tensor:
        return self.conv1(x)

    def neck(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(x))


# ---------------------------------------------------------------- the registered models (CIFAR-100, Table 1)
CIFAR100 = "CIFAR-100 (Table 1)"
# docs/paper.md: the first conv of every residual block, k = 0.2, v = 0.1, 8 heads, at least 20 key dims per head,
# the 32x32 stage attending over a 2x-downsampled grid (the paper's 10.9 GFLOPs imply it)
WRN_ATTENTION = AttentionConfig(0.2, 0.1, 8, 20, (1, 2, 3), (1,), True, 32)


@register_model(num_classes=100, input_size=32, stages=3, stats=CIFAR100_STATS,
                paper=PaperFigures(36.3, 10.4, 80.3, 95.0, CIFAR100))  # fmt: skip
def wrn28_10(*, num_classes: int = 100, drop_rate: float = 0.0, in_chans: int = 3) -> WideResNet:
    """Wide-ResNet-28-10 (Zagoruyko & Komodakis 2016)."""
    return WideResNet(28, 10, num_classes, drop_rate=drop_rate, in_chans=in_chans)


@register_model(num_classes=100, input_size=32, stages=3, stats=CIFAR100_STATS, attention=WRN_ATTENTION,
                paper=PaperFigures(36.2, 10.9, 81.6, 95.2, CIFAR100))  # fmt: skip
def aa_wrn28_10(*, num_classes: int = 100, drop_rate: float = 0.0, in_chans: int = 3, **attention: Any) -> WideResNet:
    """AA-Wide-ResNet-28-10 (Table 1): the first conv of every residual block augmented."""
    return WideResNet(28, 10, num_classes, drop_rate=drop_rate, attention=default_attention("aa_wrn28_10", **attention),
                      in_chans=in_chans)  # fmt: skip
