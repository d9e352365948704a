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
