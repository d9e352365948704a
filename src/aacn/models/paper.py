"""The paper's reported figures (Bello et al., 2019, Tables 1-3), keyed by model name; each model's figures stand
beside its builder (``register_model(paper=...)``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperFigures:
    params_m: float | None  # millions of parameters (None: not reported)
    gflops: float | None  # 2 x multiply-adds, at the paper's input size (None: not reported)
    top1: float | None  # percent
    top5: float | None
    source: str


# model name -> the paper's figures: filled by register_model from each registered builder's ``paper=``
PAPER: dict[str, PaperFigures] = {}
