"""A model and its configuration in one folder: ``model.safetensors`` and ``config.json``.

The layout is the one timm and the Hugging Face Hub use for timm models: ``config.json`` holds ``architecture`` (the
model's timm registry name, see ``aacn.models.timm``), ``num_classes``, ``num_features``, ``pretrained_cfg`` and
``model_args`` (the ``create_model`` overrides), so ``from_pretrained`` rebuilds exactly the model that was saved. A
folder uploaded to the Hub loads with ``aacn.from_pretrained("user/name")`` (huggingface_hub fetches it), and, once
aacn is imported, with timm: ``timm.create_model("hf-hub:user/name", pretrained=True)`` or ``"local-dir:FOLDER"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from ..utils import atomic_write_bytes, atomic_write_text
from ..utils.extras import require_extra
from .errors import PretrainedError, PretrainedNotFoundError
from .registry import create_model
from .timm import aacn_name, timm_name

WEIGHTS, CONFIG = "model.safetensors", "config.json"


def save_pretrained(model: nn.Module, folder: str | Path) -> Path:
    """Write ``model.safetensors`` and ``config.json`` of a model made by ``create_model``; returns the folder."""
    require_extra("hub", "save_pretrained")
    from safetensors.torch import save

    created = getattr(model, "create_args", None)
    if created is None:
        raise PretrainedError("save_pretrained needs a model made by aacn.create_model (it records how to rebuild it)")
    folder = Path(folder)
    config = {
        "architecture": timm_name(created["name"]),
        "num_classes": created["num_classes"],
        "num_features": getattr(model, "num_features", None),
        "model_args": created["overrides"],
        "pretrained_cfg": {**getattr(model, "pretrained_cfg", {}), "architecture": timm_name(created["name"])},
    }
    state = {key: value.detach().contiguous().cpu() for key, value in model.state_dict().items()}
    atomic_write_bytes(folder / WEIGHTS, save(state, metadata={"format": "pt", "architecture": created["name"]}))
    atomic_write_text(folder / CONFIG, json.dumps(config, indent=2) + "\n")
    return folder


def _local_folder(source: str | Path) -> Path:
    if not isinstance(source, (str, Path)):
        raise PretrainedError(f"from_pretrained takes a folder or a Hub id (user/name), got {source!r}")
    path = Path(source)
    if path.is_dir():
        return path
    if path.exists() or str(source).startswith((".", "/")) or str(source).count("/") != 1:
        raise PretrainedNotFoundError(
            f"{source} is not a folder holding {CONFIG} and {WEIGHTS}, nor a Hub id (user/name)"
        )
    require_extra("hub", "from_pretrained of a Hub id")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(source), allow_patterns=[CONFIG, WEIGHTS]))


def from_pretrained(source: str | Path, **overrides: Any) -> nn.Module:
    """The model saved by :func:`save_pretrained` in a folder, or on the Hugging Face Hub (``"user/name"``).

    ``overrides`` go to ``create_model`` on top of the saved ones (e.g. ``interpolate_rel_pos=True``).
    """
    require_extra("hub", "from_pretrained")
    from safetensors.torch import load_file

    folder = _local_folder(source)
    missing = [name for name in (CONFIG, WEIGHTS) if not (folder / name).is_file()]
    if missing:
        raise PretrainedNotFoundError(
            f"{folder} holds no {' or '.join(missing)}; it is not an aacn save_pretrained folder"
        )
    try:
        config = json.loads((folder / CONFIG).read_text())
        name, num_classes = aacn_name(config["architecture"]), config["num_classes"]
        saved_args = config.get("model_args", {})
        if not isinstance(saved_args, dict):
            raise TypeError(f"model_args must be a mapping, got {saved_args!r}")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise PretrainedError(f"{folder / CONFIG} is not an aacn model config ({error})") from None
    try:
        model = create_model(name, num_classes=num_classes, **{**saved_args, **overrides})
    except ValueError as error:
        raise PretrainedError(f"{folder / CONFIG} does not build {name}: {error}") from None
    try:
        weights = load_file(str(folder / WEIGHTS))
    except Exception as error:  # safetensors' own error type for a truncated or foreign file
        raise PretrainedError(f"{folder / WEIGHTS} is not a readable safetensors file ({error})") from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise PretrainedError(f"{folder / WEIGHTS} does not fit {name}: {first}") from None
    return model
