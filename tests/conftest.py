"""The tests are laid out like the package (tests/nn, tests/models, ...; tests/project for the whole project: the
wheel, the README, the notebooks); the shared helpers (the brute-force reference, fault injection) stay here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
