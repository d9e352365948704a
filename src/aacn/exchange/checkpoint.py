"""``aacn export``: a training checkpoint's model as a save_pretrained folder, the one weights format aacn writes
(``model.safetensors`` + ``config.json``; ``aacn.from_pretrained``, timm's ``local-dir:`` and the Hub read it)."""

from __future__ import annotations

from pathlib import Path

from ..checkpoints import model_from_checkpoint
from ..models.pretrained import save_pretrained


def export_pretrained(checkpoint: str | Path, output: str | Path | None = None, ema: bool = False) -> Path:
    """Write the folder ``output`` (default: beside the checkpoint, named after it) and return it. The image size
    the model was trained at goes into ``pretrained_cfg``, so that users of the weights see it, with the class names
    (``label_names``) and normalisation of a run on a folder of images."""
    model, meta = model_from_checkpoint(checkpoint, ema=ema)
    size = int(meta["image_size"])
    channels = model.pretrained_cfg["input_size"][0]
    cfg = {**model.pretrained_cfg, "input_size": (channels, size, size)}
    if meta.get("classes"):
        cfg["label_names"] = list(meta["classes"])  # timm's key for the class names
    if meta.get("stats"):
        cfg["mean"], cfg["std"] = (tuple(values) for values in meta["stats"])
    model.pretrained_cfg = cfg
    folder = Path(output) if output else Path(checkpoint).with_suffix("")
    return save_pretrained(model, folder)
