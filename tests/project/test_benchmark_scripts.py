"""The scripts behind docs/benchmarks.md still run: each prints one table row per case it measures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _rows(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| grid")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_small_grid_floor_prints_every_case_and_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _load("small_grid_floor")
    # one grid that recomputes the softmax in backward (16x16 = 256 tokens) and one that keeps it (4x4)
    monkeypatch.setattr(script, "CASES", ((16, 32, 1), (4, 64, 2)))
    monkeypatch.setattr(sys, "argv", ["small_grid_floor.py", "--repeats", "1"])
    script.main()
    rows = _rows(capsys.readouterr().out)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (grid, batch, dtype, step)
        for grid, batch in (("16x16", "1"), ("4x4", "2"))
        for dtype in ("bfloat16", "float32")
        for step in ("fwd", "fwd+bwd")
    ]
    for row in rows:
        times = [float(cell) for cell in row[4:9]]
        assert times[0] > 0 and min(times) >= 0, row  # (a 4x4 floor can print as 0.0 ms)
        assert row[9].endswith("x") and float(row[9][:-1]) >= 0


def test_chunked_forms_prints_every_form_and_tile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _load("chunked_forms")
    monkeypatch.setattr(script, "CASES", ((4, 2, 4),))
    monkeypatch.setattr(script, "TILES", (1 << 8, 1 << 10))
    monkeypatch.setattr(sys, "argv", ["chunked_forms.py", "--repeats", "1"])
    script.main()
    rows = _rows(capsys.readouterr().out)
    assert {(r[2], r[3], r[4]) for r in rows} == {
        (dtype, form, tile) for dtype in ("bfloat16", "float32") for form in ("bias", "columns")
        for tile in ("2^8", "2^10")
    }  # fmt: skip
    assert all(float(r[5]) > 0 for r in rows)
