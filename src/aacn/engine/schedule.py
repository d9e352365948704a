"""The learning-rate schedule of a run, from torch's schedulers, stepped once per optimizer step: a linear warm-up
(``LinearLR``), then cosine decay to zero over the remaining steps (``CosineAnnealingLR``), steps at epoch
milestones (``MultiStepLR``) or a constant rate, chained by ``SequentialLR``."""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    ConstantLR,
    CosineAnnealingLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    SequentialLR,
)

from ..config import TrainConfig


def lr_scheduler(optimizer: Optimizer, config: TrainConfig, steps_per_epoch: int) -> LRScheduler:
    """The schedule of ``config`` for ``steps_per_epoch`` optimizer steps per epoch (known before training)."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = min(total - 1, round(config.warmup_epochs * steps_per_epoch))
    if config.scheduler == "cosine":
        main: LRScheduler = CosineAnnealingLR(optimizer, T_max=max(1, total - warmup), eta_min=0.0)
    elif config.scheduler == "multistep":
        # milestones in epochs, counted from the start of training (warm-up included)
        main = MultiStepLR(optimizer, [max(1, m * steps_per_epoch - warmup) for m in config.milestones], config.gamma)
    else:
        main = ConstantLR(optimizer, factor=1.0, total_iters=0)
    if warmup <= 0:
        return main
    # factor (step + 1) / warmup over the first warmup steps: LinearLR from 1 / warmup to 1 in warmup - 1 steps
    ramp = LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=max(1, warmup - 1))
    return SequentialLR(optimizer, [ramp, main], milestones=[warmup])
