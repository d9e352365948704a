"""``aacn export``: the bare model weights as safetensors, with a JSON that says how to rebuild the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..checkpoints import model_from_checkpoint
from ..utils import atomic_write_bytes, atomic_write_text


def export_safetensors(checkpoint: str | Path, output: str | Path | None = None, ema: bool = False) -> dict[str, Any]:
    """Write ``<output>.safetensors`` and ``<output>.json`` (model name, classes, overrides, image size)."""
    from safetensors.torch import save

    model, meta = model_from_checkpoint(checkpoint, ema=ema)
    base = Path(output) if output else Path(checkpoint).with_suffix("")
    base = base.with_suffix("") if base.suffix == ".safetensors" else base
    weights = base.with_name(base.name + ".safetensors")
    config = base.with_name(base.name + ".json")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(weights, save(state, metadata={"model": meta["model"]}))
    description = {
        "model": meta["model"],
        "num_classes": meta["num_classes"],
        "model_args": meta.get("model_args", {}),
        "image_size": meta["image_size"],
        "ema": ema,
        "weights": weights.name,
    }
    atomic_write_text(config, json.dumps(description, indent=2) + "\n")
    return {"weights": str(weights), "config": str(config)}
