"""A run prints aacn's progress bar, its one-line summaries and real warnings, not Lightning's tips and notes about
its own configuration (the LitLogger advertisement, "GPU available", "limit_train_batches=1.0 was configured",
"Checkpoint directory ... exists and is not empty", deprecations inside Lightning). ``--verbose`` shows them."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning_fabric")
# Warnings that say nothing about a run of aacn's, with why
CHATTER = (
    # our run folders hold the run's own files (config.yaml, metrics.csv) before the first checkpoint
    r"Checkpoint directory .* exists and is not empty",
    r"Experiment logs directory .* exists and is not empty",
    # aacn's loaders choose their workers (--workers); few workers on a 2-core machine is the point
    r".*does not have many workers.*",
    # With an OnExceptionCheckpoint among the callbacks, Lightning reads fit(ckpt_path=None) as "last" and warns
    # when there is none: a fresh run never has one (build_run refuses an output holding last.ckpt) and a resumed
    # run names its checkpoint.
    r".*fit\(ckpt_path=None\)` was called without a model.*",
    r".*fit\(ckpt_path=\"last\"\) is set, but there is no last.*",
    # deprecations inside Lightning's own code, not in what aacn calls
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
)


@contextlib.contextmanager
def quiet_lightning(verbose: bool = False) -> Iterator[None]:
    """Within the block, Lightning logs warnings and errors only and its chatter warnings are dropped (unless
    ``verbose``); every other warning still shows."""
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        for pattern in CHATTER:
            warnings.filterwarnings("ignore", message=pattern)
        try:
            for logger in loggers:
                logger.setLevel(logging.WARNING)
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
