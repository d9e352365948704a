"""``--freeze``: parts of a model that train no more, as fine-tuning users of timm and torchvision know it.

A frozen part's parameters get no gradient (and no optimizer state), and its batch norms stay in eval mode, so their
running statistics stay those of the weights it started from.
"""

from __future__ import annotations

from torch import nn

from ..config import ConfigError
from ..nn import AugmentedConvNd


def _head(model: nn.Module) -> str:
    return str(getattr(model, "pretrained_cfg", {}).get("classifier", "fc"))


def _stem(model: nn.Module) -> list[str]:
    """The top-level modules before the first stage (``feature_info[1]``'s module): conv1, bn1, ... of a ResNet."""
    first_stage = model.feature_info[1]["module"]  # type: ignore[index]
    names = []
    for name, _ in model.named_children():
        if name == first_stage:
            break
        names.append(name)
    return names


def frozen_parameters(model: nn.Module, parts: list[str]) -> list[str]:
    """The names of the parameters ``parts`` freeze; a part that names nothing is a ConfigError listing the choices."""
    head = _head(model)
    names = [name for name, _ in model.named_parameters()]
    attention = {  # an augmented layer's parameters outside its convolution branch (``conv``)
        f"{layer}.{leaf}"
        for layer, module in model.named_modules()
        if isinstance(module, AugmentedConvNd)
        for leaf, _ in module.named_parameters()
        if not leaf.startswith("conv.")
    }
    chosen: set[str] = set()
    for part in parts:
        if part == "backbone":
            picked = [n for n in names if not n.startswith(f"{head}.")]
        elif part == "conv":
            picked = [n for n in names if not n.startswith(f"{head}.") and n not in attention]
        else:
            prefixes = _stem(model) if part == "stem" else [part]
            picked = [n for n in names if any(n == p or n.startswith(f"{p}.") for p in prefixes)]
        if not picked:
            children = ", ".join(name for name, _ in model.named_children())
            raise ConfigError(
                f"--freeze {part!r} names no parameter of this model; use stem, backbone, conv or module names "
                f"such as {children}"
            )
        chosen.update(picked)
    return [n for n in names if n in chosen]


def freeze(model: nn.Module, parts: list[str]) -> list[nn.Module]:
    """Freeze ``parts`` of ``model``; returns the batch norms whose parameters are all frozen (keep them in eval)."""
    frozen = set(frozen_parameters(model, parts))
    for name, parameter in model.named_parameters():
        if name in frozen:
            parameter.requires_grad_(False)
    return [
        module
        for name, module in model.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        and all(f"{name}.{leaf}" in frozen for leaf, _ in module.named_parameters())
    ]
