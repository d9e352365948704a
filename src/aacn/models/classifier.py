"""What every aacn model shares: timm's classifier API, so timm users need nothing new.

``num_features``, ``forward_features(x)``, ``forward_head(x, pre_logits=False)``, ``get_classifier()``,
``reset_classifier(num_classes)``, ``pretrained_cfg`` (input size, normalisation, crop, interpolation) and
``set_grad_checkpointing()``: activation checkpointing of every residual block (only the blocks' inputs are kept for
backward; each block runs again in backward). As in timm, batch-norm running statistics are then updated twice per
step (once in the recomputation), which changes them slightly; the gradients are those of the plain forward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def feature(channels: int, reduction: int, module: str) -> dict[str, Any]:
    """One entry of timm's ``feature_info``: a feature map's channels, its stride from the image, its module."""
    return {"num_chs": channels, "reduction": reduction, "module": module}


class Classifier(nn.Module):
    """A backbone of residual stages, global average pooling and a linear classifier ``fc``.

    Subclasses set ``num_features``, ``fc``, ``avgpool`` and ``feature_info`` (the stem's output, then each stage's;
    modules named there are children registered in forward order) and implement ``stem``, ``stages`` and ``neck``.
    """

    num_features: int
    feature_info: list[dict[str, Any]]
    fc: nn.Module
    avgpool: nn.Module
    grad_checkpointing: bool = False
    pretrained_cfg: dict[str, Any]

    def stem(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def stages(self) -> list[nn.Sequential]:
        raise NotImplementedError

    def neck(self, x: Tensor) -> Tensor:
        """What follows the last stage before pooling (identity for ResNet, BN + ReLU for a pre-activation WRN)."""
        return x

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> (B, num_features, h, w): the unpooled features of the last stage."""
        x = self.stem(x)
        remat = self.grad_checkpointing and self.training and torch.is_grad_enabled()
        for stage in self.stages():
            for block in stage:
                x = checkpoint(block, x, use_reentrant=False) if remat else block(x)
        return self.neck(x)

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """Pool and classify features; ``pre_logits``: the pooled (B, num_features) vector."""
        x = torch.flatten(self.avgpool(x), 1)
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A fresh classifier for ``num_classes`` (0: none, ``forward`` returns the pooled features)."""
        if global_pool not in (None, "avg"):
            raise ValueError(f"aacn models pool by average only; got global_pool={global_pool!r}")
        if not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an int >= 0, got {num_classes!r}")
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.pretrained_cfg = {**getattr(self, "pretrained_cfg", {}), "num_classes": num_classes}

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    def save_pretrained(self, folder: str | Path) -> Path:
        """``model.safetensors`` + ``config.json`` in ``folder``; :func:`aacn.from_pretrained` rebuilds the model."""
        from .pretrained import save_pretrained

        return save_pretrained(self, folder)
