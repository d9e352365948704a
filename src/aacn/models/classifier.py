"""What every aacn model shares: timm's classifier API, so timm users need nothing new.

``num_features``, ``forward_features(x)``, ``forward_head(x, pre_logits=False)``, ``get_classifier()``,
``reset_classifier(num_classes)``, ``pretrained_cfg`` (input size, normalisation, crop, interpolation) and
``set_grad_checkpointing()``: activation checkpointing of every residual block (only the blocks' inputs are kept for
backward; each block runs again in backward). As in timm, batch-norm running statistics are then updated twice per
step (once in the recomputation), which changes them slightly; the gradients are those of the plain forward.

Feature maps: ``feature_info`` (the stem's map, then each stage's) and timm's ``forward_intermediates`` /
``prune_intermediate_layers``, which return and keep exactly those maps. The last map is the network's own output:
for a pre-activation Wide-ResNet, after its final BN-ReLU (the neck), whatever ``norm`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ..nn import no_weight_decay_names


def feature(channels: int, reduction: int, module: str) -> dict[str, Any]:
    """One entry of timm's ``feature_info``: a feature map's channels, its stride from the image, its module."""
    return {"num_chs": channels, "reduction": reduction, "module": module}


class Stage(nn.Sequential):
    """A residual stage: its blocks in order. With ``grad_checkpointing`` set (and training with gradients), each
    block keeps only its input for backward and runs again there. The model calls each stage as a module, so hooks on
    ``model.layer3`` fire."""

    grad_checkpointing: bool = False

    def forward(self, x: Tensor) -> Tensor:
        remat = self.grad_checkpointing and self.training and torch.is_grad_enabled()
        for block in self:
            x = checkpoint(block, x, use_reentrant=False) if remat else block(x)
        return x


class Classifier(nn.Module):
    """A backbone of residual stages, global average pooling and a linear classifier ``fc``.

    Subclasses set ``num_features``, ``fc``, ``avgpool``, ``stage_names`` (their :class:`Stage` children, in order),
    ``neck_modules`` and ``feature_info`` (the stem's map, then each stage's; modules named there are children
    registered in forward order) and implement ``stem``, and ``stem_pool`` and ``neck`` where they are not identities.
    """

    num_features: int
    feature_info: list[dict[str, Any]]
    stage_names: tuple[str, ...]
    neck_modules: tuple[str, ...] = ()  # the children ``neck`` runs (removed when the last stage is pruned)
    fc: nn.Module
    avgpool: nn.Module
    grad_checkpointing: bool = False
    pretrained_cfg: dict[str, Any]

    def no_weight_decay(self) -> set[str]:
        """timm's convention: the parameters its layers mark as taking no weight decay (the relative tables)."""
        return no_weight_decay_names(self, include_root=False)

    def stem(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> the stem's feature map (``feature_info[0]``)."""
        raise NotImplementedError

    def stem_pool(self, x: Tensor) -> Tensor:
        """What follows the stem's feature map before the first stage (ResNet: the max-pool)."""
        return x

    def stages(self) -> list[Stage]:
        return [getattr(self, name) for name in self.stage_names]

    def neck(self, x: Tensor) -> Tensor:
        """What follows the last stage before pooling (identity for ResNet, BN + ReLU for a pre-activation WRN)."""
        return x

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, num_features, h, w): the unpooled features of the last stage."""
        x = self.stem_pool(self.stem(x))
        for stage in self.stages():
            x = stage(x)
        return self.neck(x)

    def forward_intermediates(
        self,
        x: Tensor,
        indices: int | Sequence[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[Tensor] | tuple[Tensor, list[Tensor]]:
        """timm's ``forward_intermediates``: the maps of ``feature_info`` that ``indices`` names (None: all; an int
        n: the last n; a sequence: those, negative ones from the end), and the final features unless
        ``intermediates_only``. ``stop_early`` skips the stages after the last map asked for. ``norm`` changes
        nothing: the last map is always the network's output (see the module docstring)."""
        if output_fmt != "NCHW":
            raise ValueError(f"aacn models give NCHW feature maps only; got output_fmt={output_fmt!r}")
        take, last = feature_indices(len(self.feature_info), indices)
        x = self.stem(x)
        maps = {0: x}
        stages = self.stages()
        for index, stage in enumerate(stages[:last] if stop_early else stages, start=1):
            x = stage(self.stem_pool(x) if index == 1 else x)
            if index == len(stages):
                x = self.neck(x)
            maps[index] = x
        intermediates = [maps[index] for index in take]
        return intermediates if intermediates_only else (x, intermediates)

    def prune_intermediate_layers(
        self, indices: int | Sequence[int] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """timm's ``prune_intermediate_layers``: drop the stages after the last map ``indices`` names (and the neck
        with them), and the classifier if ``prune_head``; returns the kept indices, counted from the start.
        ``prune_norm`` changes nothing: the neck belongs to the last map."""
        take, last = feature_indices(len(self.feature_info), indices)
        if last < len(self.stage_names):
            for name in self.stage_names[last:]:
                setattr(self, name, Stage())
            for name in self.neck_modules:
                setattr(self, name, nn.Identity())
            self.num_features = self.feature_info[last]["num_chs"]  # what forward_features now ends with
        if prune_head:
            self.reset_classifier(0)
        return take

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
        for stage in self.stages():
            stage.grad_checkpointing = enable

    def save_pretrained(self, folder: str | Path) -> Path:
        """``model.safetensors`` + ``config.json`` in ``folder``; :func:`aacn.from_pretrained` rebuilds the model."""
        from .pretrained import save_pretrained

        return save_pretrained(self, folder)


def feature_indices(count: int, indices: int | Sequence[int] | None) -> tuple[list[int], int]:
    """timm's convention for choosing among ``count`` feature maps: (chosen indices from the start, the largest)."""
    if indices is None:
        indices = count
    if isinstance(indices, int):
        if not 0 < indices <= count:
            raise ValueError(f"indices={indices} asks for the last {indices} maps; there are {count}")
        take = list(range(count - indices, count))
    else:
        take = [index + count if index < 0 else index for index in indices]
        if not take or any(not 0 <= index < count for index in take):
            raise ValueError(f"indices {list(indices)} must name maps 0 to {count - 1} (or -{count} to -1)")
    return take, max(take)
