"""Which parameters take no weight decay, asked of the modules that own them (timm's ``no_weight_decay()``).

A layer knows the role of its parameters; an optimizer built from names (``endswith("rel_h")``) misses every table
a new layer names otherwise (the 1-D layer's ``rel_l``, the 3-D layer's ``rel_d``). So each module that holds such
parameters says which of its own they are, by ``no_weight_decay() -> set[str]`` (names relative to it, as timm's
optimizer factory reads them from a model), and :func:`no_weight_decay_names` gathers them under their full names.
Norms and biases need no method: every 0-D and 1-D parameter is skipped by shape, as timm and torchvision do.
"""

from __future__ import annotations

from torch import nn


def no_weight_decay_names(module: nn.Module, include_root: bool = True) -> set[str]:
    """Full names (as ``module.named_parameters()`` gives them) of the parameters that modules under ``module`` mark
    as taking no weight decay. ``include_root=False`` leaves ``module``'s own method out: what a model's own
    ``no_weight_decay()`` calls to gather its layers' answers."""
    names: set[str] = set()
    for prefix, child in module.named_modules():
        if child is module and not include_root:
            continue
        method = getattr(child, "no_weight_decay", None)
        if callable(method):
            names |= {f"{prefix}.{name}" if prefix else name for name in method()}
    return names


def skips_weight_decay(name: str, parameter: nn.Parameter, marked: set[str]) -> bool:
    """A norm's or bias's vector (any parameter of at most one dimension), or a parameter its module marks."""
    return parameter.ndim <= 1 or name in marked
