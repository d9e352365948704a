"""A fuzz test of the whole command line (hypothesis): argument lists drawn from every command's own grammar (the
flag names and choices are read off the parser), with good values, wrong types, empty, negative, zero, huge and
non-ASCII ones, and paths that are files, folders, missing or unwritable. Each ends, in-process and quickly, in
success or in one line with exit status 2 or 3: never a traceback, never exit 1, never a partial file left behind.

The slow insides (training, benchmarks, figures, ONNX) are replaced by stand-ins that keep their checks of the
settings, so hundreds of cases fit in CI; what they stand in for has tests of its own.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aacn import create_model
from aacn.cli import build_parser, main

COMMANDS = ("models", "train", "eval", "compare", "attention-maps", "bench", "export")
COUNTER = itertools.count()


def _grammar() -> dict[str, list[argparse.Action]]:
    """Every command's optional flags, read off the real parser."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    skipped = ("help", "debug", "memory_only")  # --debug shows tracebacks on purpose; --memory-only is bench's child's
    return {
        name: [a for a in sub._actions if a.option_strings and a.dest not in skipped]
        for name, sub in subparsers.choices.items()
        if name in COMMANDS
    }


GRAMMAR = _grammar()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files and folders the cases may name: a real small checkpoint of an AA model, an image, a plain file, a
    folder, a read-only folder, a missing path."""
    root = tmp_path_factory.mktemp("fuzz")
    model = create_model("aa_resnet18_cifar", num_classes=10, input_size=16)
    meta = {"model": "aa_resnet18_cifar", "num_classes": 10, "model_args": {"input_size": 16}, "image_size": 16}
    checkpoint = root / "best.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "aacn": meta}, checkpoint)
    from PIL import Image

    Image.new("RGB", (20, 24), (120, 30, 200)).save(root / "image.png")
    (root / "notes.txt").write_text("mine")
    (root / "folder").mkdir()
    # unwritable whoever runs the tests (root too): a path through a plain file
    return {"root": root, "checkpoint": checkpoint, "image": root / "image.png", "file": root / "notes.txt",
            "folder": root / "folder", "unwritable": root / "notes.txt" / "x",
            "missing": root / "missing" / "x"}  # fmt: skip


JUNK = ["", "0", "-1", "-3.5", "1e12", "99999999999999999999", "nan", "inf", "abc", "é", "日本", "1,1", ",", "[", "a=b",
        "key_ratio=abc", "num_heads=0", "input_size=[0,8]"]  # fmt: skip
GOOD = {
    "--dataset": ["digits", "svrt2", "fake", "cifar10"], "--model": ["resnet18_cifar", "aa_resnet18_cifar"],
    "--models": ["resnet18_cifar,aa_resnet18_cifar", "resnet18_cifar"], "--seeds": ["0", "0,1"],
    "--train-sizes": ["32,64", "32"], "--epochs": ["1", "2"], "--batch-size": ["8", "32"], "-b": ["8", "32,128"],
    "--lr": ["0.1"], "--precision": ["32", "bf16-mixed"], "--mode": ["train", "eval", "train,eval"],
    "--queries": ["4,4"], "--layer": ["layer2.0.conv1"], "--model-arg": ["key_ratio=0.25"], "--devices": ["1", "auto"],
    "--image-size": ["16"], "--repeats": ["1"], "--filter": ["resnet18", "aa_"], "--format": ["pretrained", "onnx"],
}  # fmt: skip
PATH_FLAGS = ("--output", "--checkpoint", "--image", "--data-dir", "--recipe", "--protocol", "--plot")


def _good(action: argparse.Action, paths: dict[str, Path]) -> str:
    flag = action.option_strings[-1]
    if flag in ("--output", "--plot"):
        return str(paths["output"])
    if flag in ("--checkpoint", "--image"):
        return str(paths[flag[2:]])
    if action.choices:
        return str(next(iter(action.choices)))
    return next(iter(GOOD.get(flag, GOOD.get(action.option_strings[0], ["1"]))))


@st.composite
def argv_of(draw: st.DrawFn, world: dict[str, Path]) -> list[str]:
    """One command with its required flags, a few more set to good values, and one flag (usually) given something
    odd: one bad thing at a time, so that each reaches the check meant for it."""
    command = draw(st.sampled_from(COMMANDS))
    actions = GRAMMAR[command]
    case_dir = world["root"] / f"case{next(COUNTER)}"
    paths = {"output": case_dir / "out", **{k: v for k, v in world.items() if k != "root"}}
    target = draw(st.sampled_from(actions))
    others = draw(st.lists(st.sampled_from(actions), max_size=2, unique_by=id))
    required = [a for a in actions if a.required] if draw(st.integers(0, 9)) > 0 else []
    argv = [command]
    for action in dict.fromkeys([*required, *others, target]):  # in order, no repeats
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
            continue
        if action is not target:
            value = _good(action, paths)
        elif flag in PATH_FLAGS:
            value = str(paths[draw(st.sampled_from(sorted(paths)))])
        elif action.choices:
            value = draw(st.sampled_from([*map(str, action.choices), *JUNK[:4]]))
        else:
            value = draw(st.sampled_from(GOOD.get(flag, []) + JUNK))
        argv += [flag, value] if action.nargs in (None, "?") else [flag, value, value]
    return argv


def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    import aacn.bench.measure as bench
    import aacn.engine as engine
    import aacn.exchange.onnx as onnx
    import aacn.experiments.compare as compare
    import aacn.report.attention_maps as maps
    import aacn.report.models_plot as plot
    import aacn.report.models_table as table
    from aacn.checkpoints import model_from_checkpoint
    from aacn.data import dataset_info

    def train(config: Any, resume: bool = False) -> dict[str, Any]:
        config.validate()
        return {"model": config.model, "dataset": config.dataset, "top1": 0.5, "epochs": config.epochs,
                "wall_time_s": 0.0}  # fmt: skip

    def evaluate(checkpoint: Any, dataset: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        model_from_checkpoint(checkpoint)
        dataset_info(dataset)
        return {"model": "m", "dataset": dataset, "images": 1, "top1": 0.5, "top5": 1.0, "loss": 0.7,
                "images_per_sec": 1.0}  # fmt: skip

    def export_onnx(checkpoint: Any, output: Any = None, **kwargs: Any) -> dict[str, Any]:
        model_from_checkpoint(checkpoint)
        return {"onnx": str(output), "image_size": 16, "max_difference": 0.0}

    monkeypatch.setattr(engine, "train", train)
    monkeypatch.setattr(engine, "evaluate", evaluate)
    monkeypatch.setattr(onnx, "export_onnx", export_onnx)
    run = {"top1": 0.5, "top5": 1.0, "loss": 0.7, "params": 1, "gflops": 0.1, "epochs": 1, "wall_time_s": 1.0,
           "train_images_per_sec": 1.0, "eval_images_per_sec": 1.0, "peak_memory_mb": 1.0}  # fmt: skip
    monkeypatch.setattr(compare, "_train_one", lambda options, model, seed, *rest: {**run, "seed": seed})
    written = type("Written", (), {"table": "", "verdict": None, "written": [], "rows": []})()
    monkeypatch.setattr(compare, "write_comparison", lambda *args, **kwargs: written)
    monkeypatch.setattr(compare, "read_curves", lambda path: {})
    monkeypatch.setattr(maps, "plot_attention_maps", lambda *a, **k: None)
    monkeypatch.setattr(plot, "plot_models", lambda rows, path: None)
    monkeypatch.setattr(table, "model_rows", lambda names: [])
    monkeypatch.setattr(table, "detection_rows", lambda names: [])
    monkeypatch.setattr(bench, "run_benchmarks", lambda selection, memory_only=False: [])


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own usage errors
        code = stop.code if isinstance(stop.code, int) else 2
    return code, capsys.readouterr().err


def _partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (".tmp" in p.name or p.name.startswith("tmp"))]


@pytest.mark.slow
def test_every_command_ends_in_success_or_one_line(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stand_ins(monkeypatch)
    monkeypatch.setenv("AACN_DEBUG", "0")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    seen: dict[int, int] = {}

    @settings(max_examples=300, deadline=10_000, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(argv_of(world))
    def case(argv: list[str]) -> None:
        code, err = _run(argv, capsys)
        seen[code] = seen.get(code, 0) + 1
        assert "Traceback" not in err, f"{argv}: {err[-2000:]}"
        assert code in (0, 2, 3), f"{argv} exited {code}: {err[-1000:]}"
        if code != 0:
            errors = [line for line in err.splitlines() if "error:" in line]
            assert len(errors) == 1, f"{argv}: {err}"
        assert not _partial_files(world["root"]), f"{argv} left {_partial_files(world['root'])}"

    monkeypatch.setenv("MPLBACKEND", "Agg")  # monkeypatch: a later child (the notebook's kernel) keeps its own backend
    case()
    assert seen.get(0, 0) > 20 and seen.get(2, 0) > 20, f"the cases reach both ends: {seen}"
