"""The paper's reported figures (Bello et al., 2019, Tables 1-3 and the CIFAR-100 table), keyed by model name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperFigures:
    params_m: float  # millions of parameters
    gflops: float  # 2 x multiply-adds, at the paper's input size
    top1: float | None  # percent
    top5: float | None
    source: str


_IMAGENET = "ImageNet 224x224 (Table 2/3)"
_CIFAR100 = "CIFAR-100 (Table 1)"

PAPER: dict[str, PaperFigures] = {
    "resnet34": PaperFigures(21.8, 7.4, 73.6, 91.5, _IMAGENET),
    "aa_resnet34": PaperFigures(20.7, 7.1, 74.7, 92.0, _IMAGENET),
    "resnet50": PaperFigures(25.6, 8.2, 76.4, 93.1, _IMAGENET),
    "aa_resnet50": PaperFigures(25.8, 8.3, 77.7, 93.8, _IMAGENET),
    "resnet101": PaperFigures(44.5, 15.6, 77.9, 94.0, _IMAGENET),
    "aa_resnet101": PaperFigures(45.4, 16.1, 78.7, 94.4, _IMAGENET),
    "resnet152": PaperFigures(60.2, 23.0, 78.4, 94.2, _IMAGENET),
    "aa_resnet152": PaperFigures(61.6, 23.8, 79.1, 94.6, _IMAGENET),
    "wrn28_10": PaperFigures(36.3, 10.4, 80.3, 95.0, _CIFAR100),
    "aa_wrn28_10": PaperFigures(36.2, 10.9, 81.6, 95.2, _CIFAR100),
}
