"""Start a model from weights trained elsewhere: every tensor that fits is copied, the rest is reported.

Sources: a state_dict file in torchvision's format (``.pth`` / ``.pt`` / ``.bin``, read with ``weights_only=True``,
or ``.safetensors``), a ``save_pretrained`` folder, an aacn training checkpoint (``.ckpt``), or ``"torchvision"``:
torchvision's own ImageNet weights of the model's plain twin (``aa_resnet50`` -> ``resnet50``; needs the network).

An augmented layer replaces a pretrained convolution of the same shape, and its output is ``[conv (out - dv) |
attention (dv)]``: its convolution branch takes the pretrained convolution's first ``out - dv`` filters, the attention
branch (q, k, v, output projection, relative tables) starts fresh. A classifier of another class count starts fresh
too, so a model built for the user's classes keeps its own head.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from ..checkpoints import CheckpointError, load_checkpoint_file
from ..models.errors import PretrainedError, PretrainedNotFoundError
from ..nn import AugmentedConvNd

TORCHVISION = "torchvision"
# A source must fill at least this share of the model's tensors, else it is weights for another architecture.
MIN_MATCHED_SHARE = 0.5


@dataclass
class InitReport:
    """What ``init_from`` did, by state_dict key of the model (``skipped``: keys of the source)."""

    source: str
    loaded: list[str] = field(default_factory=list)  # copied whole
    adapted: list[str] = field(default_factory=list)  # an augmented layer's conv branch, from part of a conv
    fresh: list[str] = field(default_factory=list)  # left as initialised: attention branches, a new classifier
    skipped: list[str] = field(default_factory=list)  # source tensors nothing took

    def summary(self) -> str:
        return (
            f"initialised from {self.source}: {len(self.loaded)} tensors loaded, {len(self.adapted)} adapted "
            f"(augmented layers' conv branches), {len(self.fresh)} fresh, {len(self.skipped)} skipped from the source"
        )

    def as_json(self) -> dict[str, object]:
        return {"source": self.source, "loaded": len(self.loaded), "adapted": len(self.adapted),
                "fresh": self.fresh, "skipped": self.skipped}  # fmt: skip


def plain_twin(model_name: str) -> str:
    """The plain model an augmented one is built on: ``aa_resnet50`` -> ``resnet50``; ablations -> ``resnet50``."""
    name = model_name.removeprefix("aa_")
    for suffix in ("_kv25", "_kv50", "_kv75", "_kv100", "_pe_none", "_pe_sine", "_pe_coordconv"):
        name = name.removesuffix(suffix)
    return name


def torchvision_state_dict(model_name: str) -> dict[str, Tensor]:
    """torchvision's ImageNet weights (``DEFAULT``) of the model's plain twin, downloaded into torch's hub cache."""
    import torchvision

    twin = plain_twin(model_name)
    if twin not in torchvision.models.list_models(module=torchvision.models) or twin.endswith("_cifar"):
        raise PretrainedError(
            f"--init-from torchvision: torchvision has no ImageNet weights for {model_name} (its plain twin {twin!r} "
            f"is not a torchvision model); give a weights file or folder instead"
        )
    try:
        weights = torchvision.models.get_model_weights(twin).DEFAULT
        return weights.get_state_dict(progress=False)
    except (OSError, RuntimeError) as error:  # URLError is an OSError
        raise PretrainedError(
            f"--init-from torchvision: could not fetch torchvision's {twin} weights ({error}); download them where "
            f"the network allows and pass the .pth file"
        ) from None


def read_state_dict(source: str | Path) -> dict[str, Tensor]:
    """The tensors of a state_dict file, a save_pretrained folder or an aacn checkpoint (its model's weights)."""
    path = Path(source)
    if path.is_dir():
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise PretrainedNotFoundError(f"--init-from {path}: a folder, but without model.safetensors")
        path = weights
    if not path.is_file():
        raise PretrainedNotFoundError(
            f"--init-from {source}: no such file or folder; give a state_dict (.pth), a save_pretrained folder, an "
            f"aacn checkpoint (.ckpt) or 'torchvision'"
        )
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise PretrainedError(f"--init-from {path}: not readable as safetensors ({error})") from None
    if path.suffix == ".ckpt":
        try:
            checkpoint = load_checkpoint_file(path)
        except CheckpointError as error:
            raise PretrainedError(f"--init-from: {error}") from None
        return {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PretrainedError(f"--init-from {path}: not a readable state_dict ({first})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a training script's {"state_dict": ..., "optimizer": ...}
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # torchvision's references save {"model": ..., "optimizer": ...}
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise PretrainedError(f"--init-from {path}: holds no state_dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}  # DDP's prefix


def init_from(model: nn.Module, source: str | Path, model_name: str | None = None) -> InitReport:
    """Copy into ``model`` every tensor of ``source`` that fits (see the module docstring); returns the report.

    Raises PretrainedError when fewer than half of the model's tensors find a match: weights for another
    architecture, named with a few of their keys.
    """
    label = str(source)
    if label == TORCHVISION:
        if model_name is None:
            raise PretrainedError("--init-from torchvision needs the model's name to pick torchvision's weights")
        state = torchvision_state_dict(model_name)
        label = f"torchvision's {plain_twin(model_name)} ImageNet weights"
    else:
        state = read_state_dict(source)
    augmented = {name for name, module in model.named_modules() if isinstance(module, AugmentedConvNd)}
    report = InitReport(label)
    used: set[str] = set()
    target = model.state_dict()
    updates: dict[str, Tensor] = {}
    for key, tensor in target.items():
        given = state.get(key)
        if given is not None and given.shape == tensor.shape:
            updates[key] = given
            used.add(key)
            report.loaded.append(key)
            continue
        layer, _, leaf = key.rpartition(".conv.")
        whole = f"{layer}.{leaf}"  # layer2.0.conv2.conv.weight <- layer2.0.conv2.weight
        given = state.get(whole) if layer in augmented and leaf == "weight" else None
        if given is not None and given.shape[1:] == tensor.shape[1:] and given.shape[0] >= tensor.shape[0]:
            updates[key] = given[: tensor.shape[0]]
            used.add(whole)
            report.adapted.append(key)
            continue
        report.fresh.append(key)
    report.skipped = [key for key in state if key not in used]
    matched = len(report.loaded) + len(report.adapted)
    if matched < MIN_MATCHED_SHARE * len(target):
        examples = ", ".join(list(state)[:3])
        raise PretrainedError(
            f"--init-from {label}: only {matched} of the model's {len(target)} tensors match (source keys such as "
            f"{examples}); these look like weights for another architecture"
        )
    with torch.no_grad():
        for key, value in updates.items():
            target[key].copy_(value.to(target[key].dtype))
    return report
