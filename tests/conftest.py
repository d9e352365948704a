"""The tests are laid out like the package (tests/nn, tests/models, ...; tests/project for the whole project: the
wheel, the README, the notebooks); the shared helpers (the brute-force reference, fault injection) stay here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest


@pytest.fixture(scope="session")
def torchvision_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision resnet18 state_dict as torchvision saves it (random weights: no network here), for the tests
    that start a model from torchvision's weights."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(resnet18().state_dict(), path)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that hold a slow test run first, each kept whole (module fixtures such as the built wheel are made
    once), the rest after them in their usual order. pytest-xdist hands out the last tests one or two at a time:
    when those are short, neither worker waits long for the other's last minute-long test at the end of the run."""
    slow_modules = {_module(item) for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: _module(item) not in slow_modules)  # stable: the order within each group stays


def _module(item: pytest.Item) -> object:
    """The module an item was collected from (its file for items of other plugins, which have no module)."""
    return getattr(item, "module", None) or item.path
