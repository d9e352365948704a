"""Training checkpoints read safely, and the model they hold rebuilt: what ``engine`` and ``report`` both need.

Checkpoints load with ``torch.load(weights_only=True)``: a tampered file cannot run code. Every failure is one
:class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .models import create_model

# Types a Lightning checkpoint of ours may hold besides tensors and plain containers.
torch.serialization.add_safe_globals([Counter])


class CheckpointError(ValueError):
    """A checkpoint file that is missing, corrupted, truncated, unsafe or does not fit; names the file."""

    exit_code = 3  # the command's exit status: data or training failure


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)``, with every failure turned into one CheckpointError naming the file."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.ckpt"))
        hint = f"e.g. {path / found[0]}" if found else "it holds no .ckpt file"
        raise CheckpointError(f"checkpoint {path} is a folder; name the checkpoint file in it ({hint})")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} holds objects that are not plain weights ({first})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(
            f"checkpoint {path} is corrupted or truncated ({error}); use another checkpoint"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint {path} is not an aacn training checkpoint (no state_dict)")
    return checkpoint


def model_from_checkpoint(path: str | Path, ema: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a training checkpoint holds and load its weights (or its EMA weights).

    Returns the model and the checkpoint's ``aacn`` description (model name, classes, overrides, image size,
    the resolved training config).
    """
    checkpoint = load_checkpoint_file(path)
    meta = checkpoint.get("aacn")
    if not isinstance(meta, dict) or "model" not in meta:
        raise CheckpointError(f"checkpoint {path} has no aacn model description; was it written by `aacn train`?")
    prefix = "ema.module." if ema else "model."
    state = {k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(f"checkpoint {path} holds no {'EMA ' if ema else ''}weights (no '{prefix}*' entries)")
    try:
        model = create_model(meta["model"], num_classes=meta["num_classes"], **meta.get("model_args", {}))
        model.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not fit model {meta.get('model')!r}: {first}") from None
    return model, meta
