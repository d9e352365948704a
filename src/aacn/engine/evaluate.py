"""``aacn eval``: top-1, top-5, loss and images/s of a checkpoint on a dataset's validation split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L

from ..checkpoints import CheckpointError, model_from_checkpoint
from ..config import USER_DATA_SETTINGS, TrainConfig, config_from_dict
from ..data import is_user_data
from .datamodule import ImageDataModule
from .module import ClassificationModule
from .quiet import quiet_lightning


def evaluate(
    checkpoint: str | Path,
    dataset: str,
    data_dir: str | None = None,
    batch_size: int = 256,
    num_workers: int = 2,
    accelerator: str = "auto",
    ema: bool = False,
) -> dict[str, Any]:
    """Evaluate on the validation split; accuracies are fractions."""
    model, meta = model_from_checkpoint(checkpoint, ema=ema)
    saved = config_from_dict(meta.get("config", {}))
    config = TrainConfig(
        model=meta["model"],
        dataset=dataset,
        data_dir=data_dir,
        batch_size=batch_size,
        num_workers=num_workers,
        channels_last=saved.channels_last,
        seed=saved.seed,
    )
    if dataset == saved.dataset and is_user_data(dataset):  # the same split, columns and normalisation as in training
        for name in USER_DATA_SETTINGS:
            setattr(config, name, getattr(saved, name))
    datamodule = ImageDataModule(config, meta["image_size"])
    if datamodule.num_classes != meta["num_classes"]:
        raise CheckpointError(
            f"checkpoint {checkpoint} predicts {meta['num_classes']} classes but dataset {dataset} has "
            f"{datamodule.num_classes}"
        )
    classes = datamodule.val_split.classes
    if classes is not None and meta.get("classes") not in (None, classes):
        raise CheckpointError(
            f"checkpoint {checkpoint} was trained on the classes {', '.join(meta['classes'][:5])}... but "
            f"{data_dir or dataset} holds {', '.join(classes[:5])}...; evaluate on data of the same classes"
        )
    module = ClassificationModule(model, config, meta["num_classes"], meta)
    with quiet_lightning():
        trainer = L.Trainer(
            accelerator=accelerator, devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False
        )
        started = time.perf_counter()
        (metrics,) = trainer.validate(module, datamodule=datamodule, verbose=False)
        seconds = time.perf_counter() - started
    images = len(datamodule.val_split.base)  # type: ignore[arg-type]
    return {
        "checkpoint": str(checkpoint),
        "model": meta["model"],
        "dataset": dataset,
        "top1": float(metrics["val/top1"]),
        "top5": float(metrics["val/top5"]),
        "loss": float(metrics["val/loss"]),
        "images": images,
        "images_per_sec": round(images / seconds, 2),
        "ema": ema,
    }
