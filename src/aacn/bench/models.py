"""A plain model and its AA twin, side by side: one training step (forward, backward, SGD update) or one inference
batch, at a precision and batch size, in channels-last memory format as a user training on CPU or GPU would run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from ..models import create_model
from ..nn import AugmentedConvNd
from .harness import Harness, Measurement, with_ratios

PRECISIONS = ("32", "bf16-mixed", "16-mixed")  # as `aacn train --precision` names them
MODES = ("train", "eval")


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def model_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str, precision: str, compiled: bool = False
) -> Callable[[], None]:
    """One training step or one inference batch of ``model`` on (x, y)."""
    device = x.device
    forward = torch.compile(model) if compiled else model
    if mode == "eval":
        model.eval()

        def infer() -> None:
            with torch.no_grad(), _autocast(device, precision):
                forward(x)

        return infer
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train() -> None:
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, precision):
            loss = torch.nn.functional.cross_entropy(forward(x), y)
        loss.backward()
        optimizer.step()

    return train


def default_image_size(name: str) -> int:
    """32 for the CIFAR models (``*_cifar``, Wide-ResNets), 224 for the ImageNet ones."""
    return 32 if ("cifar" in name or "wrn" in name) else 224


def bench_models(
    plain: str,
    augmented: str,
    harness: Harness,
    batch: int,
    size: int,
    mode: str = "train",
    precision: str = "32",
    channels_last: bool = True,
    compiled: bool = False,
) -> list[Measurement]:
    """The plain model and its AA twin, timed in turns; uncompiled, the twin also with every layer on the eager
    attention path, to show what the automatic paths buy in a whole model."""
    layout = "channels_last" if channels_last else "contiguous"
    group = f"{mode} {plain} vs {augmented}, batch {batch}, {size}x{size}, {precision}, {layout}"
    group += ", torch.compile" if compiled else ""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, 3, size, size, device=harness.device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (batch,), device=harness.device)
    cases = [(plain, plain, None), (augmented, augmented, None)]
    if not compiled:  # compiled graphs run the eager path anyway
        cases.append((f"{augmented} eager", augmented, "eager"))
    steps: dict[str, Callable[[], None]] = {}
    for case, name, impl in cases:
        torch.manual_seed(0)
        model = create_model(name).to(harness.device, memory_format=memory_format)
        for module in model.modules():
            if impl is not None and isinstance(module, AugmentedConvNd):
                module.attention_impl = impl
        steps[case] = model_step(model, x, y, mode, precision, compiled)
    return with_ratios(harness.measure_in_turns(group, steps), plain)
