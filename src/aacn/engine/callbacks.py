"""Callbacks for what Lightning does not do itself: RNG state in checkpoints, NaN stops, signal saves, throughput."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import OnExceptionCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

from ..utils.divergence import write_divergence


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""

    exit_code = 3  # the command's exit status: data or training failure


class RNGStateCallback(L.Callback):
    """Saves and restores the torch (CPU and CUDA), numpy and python RNG states with every checkpoint.

    Stored as tensors and ints so that checkpoints load with ``weights_only=True``.
    """

    def state_dict(self) -> dict[str, Any]:
        _, keys, pos, has_gauss, cached = np.random.get_state()
        version, internal, gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": {
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": pos,
                "has_gauss": has_gauss,
                "cached": cached,
            },
            "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        n = state["numpy"]
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
        p = state["python"]
        random.setstate((p["version"], tuple(p["internal"].tolist()), p["gauss"]))


class NonFiniteLossCallback(L.Callback):
    """Stops the run at the first NaN/Inf loss, before the optimizer state or a checkpoint can absorb it, and
    records where in ``diverged.json`` beside the checkpoints."""

    def __init__(self, last_checkpoint: Path) -> None:
        self.last_checkpoint = last_checkpoint

    def on_before_backward(self, trainer: L.Trainer, module: L.LightningModule, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss).all():
            kept = (
                f"the last good checkpoint {self.last_checkpoint} is intact"
                if self.last_checkpoint.is_file()
                else "no checkpoint was written yet"
            )
            value, epoch, step = loss.item(), trainer.current_epoch, trainer.global_step
            message = (
                f"loss became {value} at epoch {epoch}, step {step}; {kept}. "
                f"Lower --lr, add --warmup-epochs or --grad-clip, or use --precision 32"
            )
            if trainer.is_global_zero:
                write_divergence(self.last_checkpoint.parent, epoch, step, value, message)
            raise NonFiniteLossError(message)


class SignalCheckpoint(OnExceptionCheckpoint):
    """SIGTERM and SIGINT stop training at the end of the current batch and save ``last.ckpt``.

    SIGTERM is Lightning's own graceful stop: its handler marks the trainer, the loop raises ``SIGTERMException``
    after the batch, and this callback (Lightning's ``OnExceptionCheckpoint``, for that exception only) saves the
    checkpoint. SIGINT (Ctrl+C) is handed to that same SIGTERM handler, so both stop alike; a second SIGINT
    interrupts at once. ``signal`` records a SIGINT (None: SIGTERM), for the exit code 128 + N.
    """

    def __init__(self, last_checkpoint: Path) -> None:
        super().__init__(str(last_checkpoint.parent), filename=last_checkpoint.stem)
        self.signal: int | None = None

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        lightning_sigterm = signal.getsignal(signal.SIGTERM)  # installed by the Trainer before training starts

        def on_sigint(signum: int, frame: Any) -> None:
            self.signal = signum
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if not callable(lightning_sigterm):
                raise KeyboardInterrupt  # no graceful stop to hand it to (training outside the main thread)
            lightning_sigterm(signal.SIGTERM, frame)

        self._previous_sigint = signal.signal(signal.SIGINT, on_sigint)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        signal.signal(signal.SIGINT, self._previous_sigint)

    def on_exception(self, trainer: L.Trainer, module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):  # not a crash or a NaN: last.ckpt keeps the last good state
            super().on_exception(trainer, module, exception)

    def teardown(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
        """Keep the checkpoint: it is the run's last.ckpt (Lightning's callback deletes its file here)."""


class ThroughputCallback(L.Callback):
    """Training and validation images per second, over whole epochs (the first training epoch is warm-up).

    Lightning's ``ThroughputMonitor`` does not give this number: it logs rates over a sliding window of batches
    (one window size for training and validation, no rate until a window fills, so none for short validation
    passes) and keeps no whole-run figure for results.json.
    """

    def __init__(self) -> None:
        self.train_images = 0
        self.train_seconds = 0.0
        self.val_images = 0
        self.val_seconds = 0.0
        self._epochs_seen = 0
        self._epoch_images = 0
        self._epoch_start = time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()  # a run resumed mid-epoch gets no on_train_epoch_start

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._epoch_images = 0
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        self._epoch_images += len(batch[1])

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._epochs_seen += 1
        seconds = time.perf_counter() - self._epoch_start
        if self._epochs_seen == 1 and trainer.max_epochs and trainer.max_epochs > 1:
            return  # compile, allocator and data warm-up
        self.train_images += self._epoch_images * trainer.world_size
        self.train_seconds += seconds

    def on_validation_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._val_start = time.perf_counter()
        self._val_images = 0

    def on_validation_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, idx: int, dataloader_idx: int = 0
    ) -> None:
        self._val_images += len(batch[1])

    def on_validation_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self.val_images += self._val_images * trainer.world_size
        self.val_seconds += time.perf_counter() - self._val_start

    @property
    def train_images_per_sec(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds else 0.0

    @property
    def val_images_per_sec(self) -> float:
        return self.val_images / self.val_seconds if self.val_seconds else 0.0
