"""Optional dependencies, grouped as the package's extras: a missing one is one line naming what to install.

The core (``import aacn``, the layer, the models, ``profile``) needs torch alone. Training, datasets and the
comparison need ``aacn[train]``; figures need ``aacn[report]``; ``aacn[all]`` brings both.
"""

from __future__ import annotations

import importlib.util

# extra -> the importable modules it provides (pyproject.toml's optional-dependencies list their distributions)
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("lightning", "torchmetrics", "torchvision", "numpy", "PIL", "yaml", "sklearn", "safetensors", "rich"),
    "report": ("matplotlib", "numpy"),
    "onnx": ("onnx", "onnxscript", "onnxruntime"),
    "hub": ("safetensors", "huggingface_hub"),
    "timm": ("timm",),
    "detection": ("torchvision",),
    "datasets": ("datasets",),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the feature and the pip command."""


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` when a module of ``extra`` is missing; ``feature`` says what needs it."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtraError(
            f"{feature} needs the optional package(s) {', '.join(missing)}: pip install 'aacn[{extra}]'",
            name=missing[0],
        )
