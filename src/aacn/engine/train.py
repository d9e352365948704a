"""``aacn train``: one run on Lightning, writing last.ckpt, best.ckpt, metrics.csv, config.yaml, results.json.

:func:`train` is three steps: :func:`build_run` (data, model, callbacks, loggers, trainer), :func:`fit_run` (the
fit, with signals turned into a saved checkpoint) and :func:`report_run` (the final metrics into results.json).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch import nn

from ..checkpoints import CheckpointError, load_checkpoint_file
from ..config import ConfigError, TrainConfig, save_config
from ..data import dataset_info
from ..data.sampling import drops_lone_last_batch
from ..data.shards import ShardSplit
from ..exchange.init_from import init_from
from ..models import Profile, create_model, get_spec, profile
from ..utils import atomic_write_text, writable_folder
from ..utils.divergence import DIVERGED
from .callbacks import NonFiniteLossCallback, RNGStateCallback, SignalCheckpoint, ThroughputCallback
from .checkpoint_io import SafeCheckpointIO
from .csv_log import ResumableCSVLogger
from .datamodule import ImageDataModule
from .freeze import freeze
from .module import ClassificationModule
from .quiet import quiet_lightning

LAST = "last.ckpt"
BEST = "best.ckpt"


class TrainingInterrupted(Exception):
    """SIGTERM or SIGINT stopped training after saving last.ckpt; ``exit_code`` is 128 + the signal number."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def image_size_for(config: TrainConfig) -> int:
    """The training image side: the flag, else the dataset's, else (fake data) the model's design size."""
    if config.image_size:
        return config.image_size
    return dataset_info(config.dataset).image_size or get_spec(config.model).input_size


def model_args_for(config: TrainConfig, image_size: int) -> dict[str, Any]:
    """create_model's overrides for a run: the config's, and for an AA model relative tables made for the training
    image size (``input_size``) unless the config sets it: any image the tables cover works, larger ones need it."""
    model_args = dict(config.model_args)
    if get_spec(config.model).attention is not None:
        model_args.setdefault("input_size", image_size)
    return model_args


def steps_per_epoch(train_size: int, world_size: int, config: TrainConfig, streamed: bool = False) -> int:
    """Optimizer steps in one epoch on each rank, with Lightning's reading of limit_train_batches. A streamed split
    (shards) gives every (rank, worker) stream the same whole number of batches (aacn.data.shards)."""
    per_rank = math.ceil(train_size / world_size)
    steps = math.ceil(per_rank / config.batch_size) - drops_lone_last_batch(per_rank, config.batch_size)
    if streamed:
        workers = max(1, config.num_workers)
        steps = (train_size // world_size) // (config.batch_size * workers) * workers
    limit = config.limit_train_batches
    limited = int(steps * limit) if limit <= 1 else min(steps, int(limit))
    return max(1, limited)


def parse_devices(devices: str) -> Any:
    if devices == "auto":
        return "auto"
    if "," in devices:
        return [int(d) for d in devices.split(",") if d.strip()]
    try:
        return int(devices)
    except ValueError:
        raise ConfigError(f"devices must be 'auto', a count or a list such as 0,1; got {devices!r}") from None


def _check_resume(config: TrainConfig, last: Path) -> int:
    """Refuse to resume a run of other settings; return the checkpoint's global step."""
    checkpoint = load_checkpoint_file(last)
    saved = checkpoint.get("aacn", {}).get("config", {})
    for key in ("model", "dataset", "model_args", "batch_size", "seed"):
        if key in saved and saved[key] != getattr(config, key):
            raise ConfigError(
                f"--resume: {last} was trained with {key}={saved[key]!r} but this run asks for "
                f"{getattr(config, key)!r}; use the same settings or another --output"
            )
    return int(checkpoint["global_step"])


def expected_world_size(config: TrainConfig) -> int:
    """The processes the run will train in, from the launcher's environment (torchrun, SLURM) or the settings,
    known before the trainer exists, so that the steps per epoch (and with them the schedule) are too."""
    launched = os.environ.get("WORLD_SIZE")
    if launched:
        return int(launched)
    devices = parse_devices(config.devices)
    if isinstance(devices, list):
        count = len(devices)
    elif isinstance(devices, int):
        count = devices if devices > 0 else max(1, torch.cuda.device_count())  # -1: every GPU
    else:  # "auto": every GPU when training on GPUs, else one process
        gpus = config.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        count = torch.cuda.device_count() if gpus else 1
    return count * config.num_nodes


def check_machine(config: TrainConfig, world_size: int) -> None:
    """Refuse, in one line saying what is there, what this machine cannot do: an accelerator it lacks, more GPUs or
    processes than it has."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if config.accelerator in ("gpu", "cuda") and gpus == 0:
        raise ConfigError(
            f"--accelerator {config.accelerator}: this machine has no CUDA GPU (torch {torch.__version__}, "
            f"torch.cuda.is_available() is False); use --accelerator cpu or auto"
        )
    mps = getattr(torch.backends, "mps", None)
    if config.accelerator == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError("--accelerator mps: this machine has no Apple GPU; use --accelerator cpu or auto")
    devices = parse_devices(config.devices)
    on_gpu = config.accelerator in ("gpu", "cuda") or (config.accelerator == "auto" and gpus > 0)
    if os.environ.get("WORLD_SIZE"):  # a launcher (torchrun) started the processes: one device each
        return
    if on_gpu:
        wanted = devices if isinstance(devices, list) else ([] if devices in ("auto", -1) else list(range(devices)))
        if wanted and max(wanted) >= gpus:
            raise ConfigError(f"--devices {config.devices}: this machine has {gpus} GPU(s) (indices 0-{gpus - 1})")
    else:
        cores = os.cpu_count() or 1
        if isinstance(devices, list):
            raise ConfigError(f"--devices {config.devices}: a list of devices names GPUs; on CPU give a count")
        if world_size > cores:
            raise ConfigError(
                f"--devices {config.devices}: {world_size} training processes on a CPU with {cores} core(s); "
                f"use at most {cores}"
            )


def build_trainer(
    config: TrainConfig, output: Path, callbacks: list[L.Callback], loggers: Any, steps_per_epoch: int
) -> L.Trainer:
    return L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=parse_devices(config.devices),
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=config.precision,  # type: ignore[arg-type]
        gradient_clip_val=config.grad_clip or None,
        deterministic=config.deterministic,
        callbacks=callbacks,
        logger=loggers,
        default_root_dir=str(output),
        plugins=[SafeCheckpointIO()],
        use_distributed_sampler=False,  # aacn.data.EpochSampler shards by rank itself
        num_sanity_val_steps=0,
        limit_train_batches=config.limit_train_batches,
        limit_val_batches=config.limit_val_batches,
        check_val_every_n_epoch=config.val_every_n_epochs,
        log_every_n_steps=min(10, steps_per_epoch),  # short epochs still log steps
        enable_model_summary=False,
        enable_progress_bar=True,
    )


@dataclass
class Run:
    """Everything one training run is made of, built before anything trains, in one pass: the settings (resolved and
    checked once, epochs included), then the data, the model, the callbacks, loggers and trainer."""

    config: TrainConfig
    output: Path
    resume: bool
    image_size: int
    num_classes: int
    model_args: dict[str, Any]  # what create_model was given: the config's, plus an AA model's input_size
    steps_per_epoch: int
    datamodule: ImageDataModule
    module: ClassificationModule
    trainer: L.Trainer
    best: ModelCheckpoint
    signals: SignalCheckpoint
    throughput: ThroughputCallback
    started: float

    @property
    def last(self) -> Path:
        return self.output / LAST


def _checkpoints(output: Path) -> tuple[ModelCheckpoint, ModelCheckpoint]:
    """best.ckpt (best validation top-1) and last.ckpt (every epoch, after validation, best or not)."""
    best = ModelCheckpoint(
        dirpath=str(output),
        filename="best",
        monitor="val/top1",
        mode="max",
        save_top_k=1,
        enable_version_counter=False,
        auto_insert_metric_name=False,
    )
    # save_last=True would only copy new bests: this one saves every epoch.
    last = ModelCheckpoint(
        dirpath=str(output),
        filename="last",
        monitor=None,
        save_top_k=1,
        every_n_epochs=1,
        save_on_train_epoch_end=False,
        enable_version_counter=False,
    )
    return best, last


def build_run(config: TrainConfig, resume: bool = False) -> Run:
    """Check the output folder, seed, and build the data, model, callbacks, loggers and trainer of a run, in that
    order and once each: nothing is changed after it is built."""
    config.validate()
    world_size = expected_world_size(config)
    check_machine(config, world_size)  # before anything is written or read
    output = writable_folder(config.output)
    last = output / LAST
    if last.exists() and not resume:
        raise ConfigError(f"{output} already holds a run ({last}); pass --resume to continue it, or another --output")
    if resume and not last.exists():
        raise ConfigError(
            f"--resume: nothing to resume in {output} (no {LAST} there); drop --resume to start a new run in it"
        )
    resume_step = _check_resume(config, last) if resume else None
    started = time.perf_counter()
    L.seed_everything(config.seed, workers=True, verbose=False)
    image_size = image_size_for(config)
    probe = ImageDataModule(config, image_size)  # builds the splits; the run's data module gets them
    train_split, val_split = probe.train_split, probe.val_split
    train_images = len(train_split.base)  # type: ignore[arg-type]
    if config.sample_budget:  # the one setting derived from the data: epochs from the budget
        epochs = math.ceil(config.sample_budget / train_images)
        source = f"derived: ceil(sample_budget {config.sample_budget} / {train_images} images)"
        config = dataclasses.replace(config, epochs=epochs, sources={**config.sources, "epochs": source})
    steps = steps_per_epoch(train_images, world_size, config, isinstance(train_split.base, ShardSplit))
    datamodule = ImageDataModule(config, image_size, train_split, val_split)
    num_classes = datamodule.num_classes
    model_args = model_args_for(config, image_size)
    model = create_model(config.model, num_classes=num_classes, **model_args)
    meta: dict[str, Any] = {"model": config.model, "num_classes": num_classes, "model_args": model_args}
    classes = val_split.classes
    if classes is not None:
        meta["classes"] = classes  # eval, export and predict name the classes
    if config.mean:
        meta["stats"] = [list(config.mean), list(config.std)]
    if config.init_from and not resume:  # a resumed run takes its weights from last.ckpt
        report = init_from(model, config.init_from, config.model)
        meta["init_from"] = report.as_json()
        if int(os.environ.get("RANK", "0")) == 0:
            print(report.summary(), flush=True)
    frozen_norms = freeze(model, config.freeze) if config.freeze else []
    module = ClassificationModule(model, config, num_classes, {**meta, "image_size": image_size}, steps, frozen_norms)

    best, last_checkpoint = _checkpoints(output)
    signals = SignalCheckpoint(last)
    throughput = ThroughputCallback()
    callbacks: list[L.Callback] = [
        best,
        last_checkpoint,
        RNGStateCallback(),
        NonFiniteLossCallback(last),
        signals,
        throughput,
        LearningRateMonitor(logging_interval="epoch"),
        RichProgressBar(),
    ]
    loggers = [
        ResumableCSVLogger(output, resume_step),
        TensorBoardLogger(str(output), name="tensorboard", version=""),
    ]
    with quiet_lightning(config.verbose):
        trainer = build_trainer(config, output, callbacks, loggers, steps)
    if trainer.world_size != world_size:
        raise ConfigError(
            f"the run expected {world_size} process(es) from its settings and launcher but Lightning started "
            f"{trainer.world_size}; give --devices and --num-nodes explicitly"
        )
    return Run(
        config, output, resume, image_size, num_classes, model_args, steps, datamodule, module, trainer, best,
        signals, throughput, started,
    )  # fmt: skip


def fit_run(run: Run) -> None:
    """Train; a SIGTERM or SIGINT ends in a saved last.ckpt and :class:`TrainingInterrupted`."""
    trainer = run.trainer
    if trainer.is_global_zero:
        run.output.mkdir(parents=True, exist_ok=True)
        save_config(run.config, run.output / "config.yaml")
        (run.output / DIVERGED).unlink(missing_ok=True)  # an earlier try's record; this try writes its own
    with quiet_lightning(run.config.verbose):
        try:
            trainer.fit(run.module, datamodule=run.datamodule, ckpt_path=str(run.last) if run.resume else None)
        except SIGTERMException:
            number = int(run.signals.signal or signal.SIGTERM)
            raise TrainingInterrupted(
                f"stopped by signal {number} at epoch {trainer.current_epoch}, step {trainer.global_step}; "
                f"saved {run.last}; continue with --resume",
                128 + number,
            ) from None


def report_run(run: Run) -> dict[str, Any]:
    """The run's final metrics, params, FLOPs, speed and memory; rank 0 writes them to results.json."""
    trainer, config = run.trainer, run.config
    unvalidated_end = config.epochs % config.val_every_n_epochs != 0
    if unvalidated_end or "val/top1" not in trainer.callback_metrics:  # (or resumed from a final checkpoint)
        with quiet_lightning(config.verbose):
            trainer.validate(run.module, datamodule=run.datamodule, verbose=False)
        if unvalidated_end:  # the loop saves last.ckpt after validating; the last epoch was not validated in it
            trainer.save_checkpoint(run.last)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.is_tensor(v) and v.numel() == 1}
    counted = profile_trained(run.module.model, run.image_size)
    best = run.best.best_model_score
    results = {
        "model": config.model,
        "dataset": config.dataset,
        "epochs": trainer.current_epoch,
        "top1": metrics.get("val/top1"),
        "top5": metrics.get("val/top5"),
        "loss": metrics.get("val/loss"),
        "best_top1": float(best) if best is not None else None,
        "ema_top1": metrics.get("val_ema/top1"),
        "ema_top5": metrics.get("val_ema/top5"),
        "params": counted.params,
        "gflops": round(counted.gflops, 4),
        "image_size": run.image_size,
        "train_images_per_sec": round(run.throughput.train_images_per_sec, 2),
        "eval_images_per_sec": round(run.throughput.val_images_per_sec, 2),
        "peak_memory_mb": _peak_memory_mb(),
        "wall_time_s": round(time.perf_counter() - run.started, 2),
        "world_size": trainer.world_size,
        "seed": config.seed,
    }
    for key in ("classes", "init_from"):
        if key in run.module.meta:
            results[key] = run.module.meta[key]
    if trainer.is_global_zero:
        atomic_write_text(run.output / "results.json", json.dumps(results, indent=2) + "\n")
    return results


def profile_trained(model: nn.Module, image_size: int) -> Profile:
    """Parameters and FLOPs of the trained model itself (a compiled one counted on its eager forward)."""
    stance = getattr(torch.compiler, "set_stance", None)
    if stance is None:  # torch < 2.6: no way to run a compiled module eagerly; count a copy built on meta
        with torch.device("meta"):
            return profile(create_model(model.create_args["name"], model.create_args["num_classes"],
                                        **model.create_args["overrides"]), image_size)  # fmt: skip
    with stance("force_eager"):
        return profile(model, image_size)


def train(config: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train ``config.model`` on ``config.dataset``; returns what results.json holds (rank 0 writes it)."""
    with quiet_lightning(config.verbose):  # the whole run: Lightning also notes things while it reports
        run = build_run(config, resume)
        fit_run(run)
        return report_run(run)


def _peak_memory_mb() -> float:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


__all__ = [
    "BEST",
    "LAST",
    "CheckpointError",
    "Run",
    "TrainingInterrupted",
    "build_run",
    "fit_run",
    "report_run",
    "train",
]
