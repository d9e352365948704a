"""The LightningModule: loss, metrics, optimizer, schedule and EMA weights around any aacn model."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torchmetrics.classification import MulticlassAccuracy

from ..config import TrainConfig
from ..nn import no_weight_decay_names, skips_weight_decay
from .schedule import lr_scheduler


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on conv and linear weights only: not on norms, biases, or what a module marks by its
    ``no_weight_decay()`` (the relative tables of every augmented layer, 1-D, 2-D and 3-D; aacn/nn/weight_decay.py)."""
    marked = no_weight_decay_names(model)
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if skips_weight_decay(name, parameter, marked) else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class ClassificationModule(L.LightningModule):
    def __init__(
        self, model: nn.Module, config: TrainConfig, num_classes: int, meta: dict[str, Any], steps_per_epoch: int = 1,
        frozen_norms: list[nn.Module] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.model = model
        self.frozen_norms = frozen_norms or []  # batch norms of frozen parts: kept in eval mode in training
        self.config = config
        self.meta = meta  # what rebuilds the model from a checkpoint: name, num_classes, model_args, image size
        self.steps_per_epoch = steps_per_epoch  # optimizer steps per epoch on each rank: what the schedule counts
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.ema: AveragedModel | None = None
        if config.ema_decay > 0:
            self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)
            self.ema.requires_grad_(False)
        if config.compile:
            # nn.Module.compile compiles the model's forward in place: the state_dict keeps its keys (no
            # "_orig_mod." prefix, no second copy of the weights), and the EMA copy above stays eager.
            self.model.compile()
        top5 = min(5, num_classes)
        self.train_top1 = MulticlassAccuracy(num_classes, top_k=1, average="micro")
        self.val_top1 = MulticlassAccuracy(num_classes, top_k=1, average="micro")
        self.val_top5 = MulticlassAccuracy(num_classes, top_k=top5, average="micro")
        if self.ema is not None:
            self.ema_top1 = MulticlassAccuracy(num_classes, top_k=1, average="micro")
            self.ema_top5 = MulticlassAccuracy(num_classes, top_k=top5, average="micro")

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Frozen batch norms keep the statistics they started with. Lightning sets each module's mode itself
        (it restores the modes it saw around validation), so ``train()`` alone cannot hold them: set them here."""
        for norm in self.frozen_norms:
            norm.eval()

    def _prepare(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.config.channels_last else x

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self._prepare(x))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.config.label_smoothing)
        self.train_top1(logits, y)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("train/top1", self.train_top1, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.val_top1(logits, y)
        self.val_top5(logits, y)
        self.log("val/loss", loss, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)
        self.log("val/top1", self.val_top1, on_epoch=True, prog_bar=True, batch_size=len(y))
        self.log("val/top5", self.val_top5, on_epoch=True, batch_size=len(y))
        if self.ema is not None:
            ema_logits = self.ema(self._prepare(x))
            self.ema_top1(ema_logits, y)
            self.ema_top5(ema_logits, y)
            self.log("val_ema/loss", F.cross_entropy(ema_logits, y), on_epoch=True, batch_size=len(y), sync_dist=True)
            self.log("val_ema/top1", self.ema_top1, on_epoch=True, batch_size=len(y))
            self.log("val_ema/top5", self.ema_top5, on_epoch=True, batch_size=len(y))

    def configure_optimizers(self) -> Any:
        config = self.config
        groups = parameter_groups(self.model, config.weight_decay)
        if config.optimizer == "sgd":
            optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
        else:
            optimizer = torch.optim.AdamW(groups, lr=config.lr)
        # Not trainer.estimated_stepping_batches: it builds the train loader before a checkpoint is restored,
        # and Lightning then never hands that loader its saved position. The steps are known before the module.
        schedule = lr_scheduler(optimizer, config, self.steps_per_epoch)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["aacn"] = {"config": self.config.to_dict(), **self.meta}
