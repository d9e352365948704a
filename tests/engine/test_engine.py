"""The training engine: config resolution, schedules, a real run, eval/export, checkpoints, resume and signals."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from aacn import AugmentedConv1d, AugmentedConv2d, AugmentedConv3d, create_model, list_models
from aacn.cli import main
from aacn.config import RECIPES, recipe_names
from aacn.engine import (
    CheckpointError,
    ConfigError,
    TrainConfig,
    evaluate,
    export_safetensors,
    load_checkpoint_file,
    model_from_checkpoint,
    resolve_config,
    train,
)
from aacn.engine.callbacks import NonFiniteLossError
from aacn.engine.checkpoint_io import SafeCheckpointIO
from aacn.engine.module import parameter_groups
from aacn.engine.schedule import lr_scheduler

FAST = dict(epochs=2, batch_size=32, limit_train_batches=3, limit_val_batches=2, num_workers=0, accelerator="cpu")


# ---------------------------------------------------------------- configuration


def test_flags_override_recipe_override_defaults(tmp_path: Path) -> None:
    config = resolve_config("digits", epochs=7, lr=None, output=str(tmp_path))
    assert config.epochs == 7, "a flag wins"
    assert config.lr == 0.05 and config.batch_size == 64, "the recipe wins over defaults"
    assert config.label_smoothing == 0.0 and config.recipe == "digits"


def test_explicit_epochs_win_over_a_recipes_sample_budget(tmp_path: Path) -> None:
    """The svrt recipes' old sample budget set the epochs and silently dropped an explicit --epochs; now the explicit
    setting wins, and two explicit settings that contradict each other are one error naming both."""
    path = tmp_path / "budget.yaml"
    path.write_text("dataset: digits\nsample_budget: 4000\n")
    assert resolve_config(str(path)).sample_budget == 4000
    config = resolve_config(str(path), epochs=1)
    assert (config.epochs, config.sample_budget) == (1, None)
    assert resolve_config(str(path), sample_budget=64).sample_budget == 64
    with pytest.raises(ValueError, match=r"epochs=1 and sample_budget=64 contradict each other.*--epochs and --samp"):
        resolve_config(str(path), epochs=1, sample_budget=64)


def test_every_recipe_resolves_and_names_its_source() -> None:
    names = recipe_names()
    assert len(names) >= 13 and "digits" in names
    for name in names:
        values = yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
        assert values.get("source"), f"{name} must name its source"
        config = resolve_config(name)
        assert config.model and config.dataset and config.recipe == name


def test_the_ablation_recipes_differ_from_aa_resnet50s_in_the_model_alone() -> None:
    """The paper's ablations are run with AA-ResNet-50's recipe unchanged: only the variable under study differs."""
    base = dataclasses.asdict(resolve_config("imagenet_aa_resnet50"))
    ablations = [name for name in recipe_names() if name.startswith("imagenet_aa_resnet50_")]
    expected = {
        f"imagenet_aa_resnet50_{v}" for v in ("kv25", "kv50", "kv75", "kv100", "pe_none", "pe_sine", "pe_coordconv")
    }
    assert set(ablations) == expected
    for name in ablations:
        values = dataclasses.asdict(resolve_config(name))
        differing = {key for key in base if values[key] != base[key]} - {"sources"}  # sources name the recipe
        assert differing == {"model", "recipe"}, f"{name} differs in {differing - {'model', 'recipe'}}"
        assert values["model"] == name.removeprefix("imagenet_") and values["model"] in list_models()


def test_recipes_are_found_by_name_by_file_and_by_their_old_checkout_path(tmp_path: Path) -> None:
    copy = tmp_path / "mine.yaml"
    copy.write_text((RECIPES / "digits.yaml").read_text().replace("epochs: 5", "epochs: 3"))
    assert resolve_config(str(copy)).epochs == 3, "a file path is read as it is"
    assert resolve_config("recipes/digits.yaml").epochs == 5, "the pre-package spelling still names the recipe"
    assert resolve_config("digits.yaml").epochs == 5
    with pytest.raises(ConfigError, match=r"packaged: .*digits"):
        resolve_config("elsewhere/digits.yaml")


def test_config_errors_name_the_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"optimizer must be one of sgd, adamw, got 'adam'"):
        resolve_config(None, optimizer="adam")
    with pytest.raises(ConfigError, match=r"scheduler multistep needs milestones"):
        resolve_config(None, scheduler="multistep")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"recipe .*bad.yaml has unknown setting\(s\) learning_rate"):
        resolve_config(str(bad))
    with pytest.raises(ConfigError, match=r"recipe 'nope' not found"):
        resolve_config("nope")
    with pytest.raises(ValueError, match=r"unknown model 'resnet5'"):
        resolve_config(None, model="resnet5")


def test_every_setting_is_a_flag_and_the_flags_round_trip() -> None:
    import argparse

    from aacn.config import SETTINGS, add_setting_flags, setting_flags, setting_overrides
    from aacn.engine import TrainConfig

    settable = {f.name for f in dataclasses.fields(TrainConfig)} - {"recipe", "source", "sources"}
    assert {f.name for f in SETTINGS} == settable
    parser = argparse.ArgumentParser()
    add_setting_flags(parser)
    chosen = {
        "model": "aa_resnet50", "epochs": 3, "batch_size": 16, "lr": 0.25, "nesterov": False, "compile": True,
        "milestones": [2, 5], "model_args": {"key_ratio": 0.25, "aa_stages": [3, 4]}, "precision": "bf16-mixed",
        "num_workers": 0, "weight_decay": 0.0, "image_size": 64, "devices": "0,1",
    }  # fmt: skip
    flags = setting_flags(chosen)
    assert "--no-nesterov" in flags and "--workers" in flags and "--weight-decay" in flags
    overrides = setting_overrides(parser.parse_args(flags))
    assert {k: v for k, v in overrides.items() if v is not None} == chosen
    assert setting_overrides(parser.parse_args(["-b", "8", "--wd", "0.1", "-j", "1"]))["batch_size"] == 8
    assert setting_overrides(parser.parse_args([]))["model_args"] is None, "an absent flag keeps the recipe's value"


def test_recipe_values_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    for line, message in (
        ("epochs: '5'", r"epochs must be int, got '5' \(str\)"),
        ("lr: fast", r"lr must be float, got 'fast'"),
        ("nesterov: 1", r"nesterov must be bool, got 1"),
        ("milestones: 60", r"milestones must be list, got 60"),
        ("epochs: 2.5", r"epochs must be int, got 2.5"),
    ):
        recipe = tmp_path / "r.yaml"
        recipe.write_text(f"dataset: digits\n{line}\n")
        with pytest.raises(ConfigError, match=message):
            resolve_config(str(recipe))
    assert resolve_config(None, lr=1).lr == 1, "an int is a valid float"


def _learning_rates(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    """The learning rate (base 1.0) at every optimizer step of a run of ``config``."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    schedule = lr_scheduler(optimizer, config, steps_per_epoch)
    rates = []
    for _ in range(config.epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return rates


def test_lr_schedule_warmup_cosine_multistep() -> None:
    """torch's schedulers, chained: warm-up factor (step + 1) / warmup steps, then cosine over the remaining steps
    (0.5 (1 + cos(pi t / T))), or steps at epoch milestones, or a constant rate."""
    rates = _learning_rates(TrainConfig(epochs=10, warmup_epochs=1, scheduler="cosine"), 100)
    assert rates[0] == pytest.approx(0.01) and rates[99] == pytest.approx(1.0)
    assert rates[550] == pytest.approx(0.5 * (1 + math.cos(math.pi * 450 / 900)))
    assert rates[999] == pytest.approx(0.5 * (1 + math.cos(math.pi * 899 / 900)), abs=1e-12)
    steps = _learning_rates(TrainConfig(epochs=10, scheduler="multistep", milestones=[3, 6], gamma=0.1), 10)
    assert [steps[e * 10] for e in (0, 2, 3, 6, 9)] == pytest.approx([1.0, 1.0, 0.1, 0.01, 0.01])
    assert set(_learning_rates(TrainConfig(epochs=2, scheduler="constant"), 5)) == {1.0}


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_weight_decay_skips_norms_biases_and_every_table_by_role_not_name(dims: int) -> None:
    """The layers say which of their parameters take no decay (no_weight_decay()); a name is no role: a user's
    weight matrix called rel_w is decayed, the 1-D layer's rel_l and the 3-D layer's rel_d are not."""
    layer = (AugmentedConv1d, AugmentedConv2d, AugmentedConv3d)[dims - 1]
    norm = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[dims - 1]
    model = nn.Sequential(layer(4, 16, 3, dk=8, dv=8, num_heads=2, max_size=(5,) * dims, bias=True), norm(16))
    model.head = nn.Linear(16, 3)
    model.head.register_parameter("rel_w", nn.Parameter(torch.zeros(3, 3)))  # named like a table, a weight in role
    decay, no_decay = parameter_groups(model, 5e-4)
    names = {id(p): n for n, p in model.named_parameters()}
    tables = {"1": ("rel_l",), "2": ("rel_h", "rel_w"), "3": ("rel_d", "rel_h", "rel_w")}[str(dims)]
    skipped = {names[id(p)] for p in no_decay["params"]}
    assert skipped == {*(f"0.{t}" for t in tables), "0.conv.bias", "0.qkv.bias", "0.proj.bias", "1.weight", "1.bias",
                       "head.bias"}  # fmt: skip
    assert {names[id(p)] for p in decay["params"]} == {"0.conv.weight", "0.qkv.weight", "0.proj.weight",
                                                      "head.weight", "head.rel_w"}  # fmt: skip
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 5e-4


@pytest.mark.parametrize("name", ["aa_resnet18_cifar", "aa_resnet18_1d"])
def test_a_models_no_weight_decay_names_its_tables_for_timms_optimizer(name: str) -> None:
    """timm's optimizer factory asks the model itself: model.no_weight_decay() lists every table, full names."""
    model = create_model(name)
    tables = {n for n, p in model.named_parameters() if n.rsplit(".", 1)[-1].startswith("rel_")}
    assert tables and model.no_weight_decay() == tables
    decay, _ = parameter_groups(model, 5e-4)
    assert not {id(p) for p in decay["params"]} & {id(p) for n, p in model.named_parameters() if n in tables}


# ---------------------------------------------------------------- a real run, eval and export


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("run")
    full_val = {**FAST, "limit_val_batches": 1.0}  # eval below reads the whole split too
    config = resolve_config("digits", model="aa_resnet18_cifar", output=str(output), ema_decay=0.9, **full_val)
    train(config)
    return output


def test_training_writes_every_file(trained: Path) -> None:
    for name in ("last.ckpt", "best.ckpt", "metrics.csv", "config.yaml", "results.json"):
        assert (trained / name).is_file(), name
    results = json.loads((trained / "results.json").read_text())
    for key in ("top1", "top5", "loss", "params", "gflops", "train_images_per_sec", "wall_time_s"):
        assert results[key] is not None, key
    assert 0.0 <= results["top1"] <= results["top5"] <= 1.0
    # relative tables made for the training images (digits: 16x16), not the model's 32x32 design size
    expected = create_model("aa_resnet18_cifar", num_classes=10, input_size=16)
    assert results["params"] == sum(p.numel() for p in expected.parameters())
    assert results["params"] < sum(p.numel() for p in create_model("aa_resnet18_cifar").parameters())
    assert load_checkpoint_file(trained / "last.ckpt")["aacn"]["model_args"] == {"input_size": 16}
    assert results["epochs"] == 2 and results["ema_top1"] is not None
    last = load_checkpoint_file(trained / "last.ckpt")
    prefixes = {key.split(".", 1)[0] for key in last["state_dict"]}
    assert prefixes <= {"model", "ema", "train_top1", "val_top1", "val_top5", "ema_top1", "ema_top5"}, prefixes
    assert (last["epoch"], last["global_step"]) == (1, 6), "last.ckpt is the final epoch's, best or not"
    config = yaml.safe_load((trained / "config.yaml").read_text())
    assert config["epochs"] == 2 and config["ema_decay"] == 0.9 and config["source"]
    header = (trained / "metrics.csv").read_text().splitlines()[0]
    assert "val/top1" in header and "train/loss_step" in header


def test_eval_agrees_with_training(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--checkpoint", str(trained / "last.ckpt"), "--dataset", "digits", "--json", "-j", "0"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    results = json.loads((trained / "results.json").read_text())
    assert printed["top1"] == pytest.approx(results["top1"], abs=1e-6)
    assert printed["loss"] == pytest.approx(results["loss"], rel=1e-4)
    assert set(printed) >= {"top1", "top5", "loss", "images_per_sec"}
    ema = evaluate(trained / "last.ckpt", "digits", num_workers=0, ema=True)
    assert ema["top1"] == pytest.approx(results["ema_top1"], abs=1e-6)


def test_export_writes_the_one_weights_format(trained: Path, tmp_path: Path) -> None:
    """A checkpoint becomes a save_pretrained folder that rebuilds the same model, its image size recorded; the old
    safetensors pair's function writes the folder too, with a deprecation warning."""
    from aacn import from_pretrained
    from aacn.exchange import export_pretrained

    folder = export_pretrained(trained / "best.ckpt", tmp_path / "weights")
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == "aa_resnet18_cifar" and config["num_classes"] == 10
    assert config["model_args"] == {"input_size": 16} and config["pretrained_cfg"]["input_size"] == [3, 16, 16]
    model = from_pretrained(folder).eval()
    reference, _ = model_from_checkpoint(trained / "best.ckpt")
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(model(x), reference.eval()(x))
    with pytest.warns(DeprecationWarning, match="export_safetensors is deprecated: it now writes a save_pretrained"):
        written = export_safetensors(trained / "best.ckpt", tmp_path / "old.safetensors")
    assert written["folder"] == str(tmp_path / "old") and Path(written["weights"]).is_file()


@pytest.mark.process
@pytest.mark.slow
def test_a_run_prints_aacns_output_not_lightnings_chatter(tmp_path: Path) -> None:
    """No LitLogger tip, accelerator notes, limit_* notes, 'directory exists' or Lightning-internal deprecations;
    --verbose brings Lightning's notes back."""
    command = [sys.executable, "-m", "aacn", "train", "--dataset", "digits", "--model", "resnet18_cifar", "--epochs",
               "1", "--limit-train-batches", "2", "--limit-val-batches", "1", "--workers", "0"]  # fmt: skip
    quiet = subprocess.run([*command, "--output", str(tmp_path / "quiet")], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    printed = quiet.stdout + quiet.stderr
    chatters = ("Tip:", "GPU available", "was configured so", "exists and is not empty", "LeafSpec", "stopped:",
                "weights_only")  # fmt: skip
    for chatter in chatters:
        assert chatter not in printed, f"{chatter!r} printed"
    assert "resnet18_cifar on digits: top-1" in printed, "our own summary line"
    loud = subprocess.run([*command, "--verbose", "--output", str(tmp_path / "loud")], capture_output=True, text=True)
    assert loud.returncode == 0 and "GPU available" in loud.stdout + loud.stderr


def test_existing_run_is_never_overwritten(trained: Path) -> None:
    before = hashlib.sha256((trained / "last.ckpt").read_bytes()).hexdigest()
    with pytest.raises(ConfigError, match=r"already holds a run .*pass --resume"):
        train(resolve_config("digits", output=str(trained), **FAST))
    assert hashlib.sha256((trained / "last.ckpt").read_bytes()).hexdigest() == before


# ---------------------------------------------------------------- checkpoints


def test_atomic_save_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    io = SafeCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(2)}, "bad": lambda: None}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"], "no temporary file left behind"
    assert torch.equal(io.load_checkpoint(path)["state_dict"]["w"], torch.ones(2))


def test_bad_checkpoints_give_one_clear_error(trained: Path, tmp_path: Path) -> None:
    good = (trained / "last.ckpt").read_bytes()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"truncated.ckpt is corrupted or truncated"):
        load_checkpoint_file(truncated)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match=r"garbage\.ckpt"):
        load_checkpoint_file(garbage)
    with pytest.raises(CheckpointError, match=r"missing.ckpt does not exist"):
        load_checkpoint_file(tmp_path / "missing.ckpt")

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Exploit()}, evil)
    with pytest.raises(CheckpointError, match=r"evil.ckpt holds objects that are not plain weights"):
        load_checkpoint_file(evil)
    assert not marker.exists()

    mismatched = tmp_path / "mismatched.ckpt"
    checkpoint = load_checkpoint_file(trained / "last.ckpt")
    checkpoint["aacn"]["model"] = "resnet18_cifar"
    torch.save(checkpoint, mismatched)
    with pytest.raises(CheckpointError, match=r"mismatched.ckpt does not fit model 'resnet18_cifar'"):
        model_from_checkpoint(mismatched)


@pytest.mark.process
def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    cases = [  # exit status 3: data or a checkpoint missing; 2: a usage error
        (
            ["train", "--dataset", "cifar10", "--data-dir", str(tmp_path), "--output", str(tmp_path / "o")],
            "--download",
            3,
        ),
        (["eval", "--checkpoint", str(tmp_path / "none.ckpt"), "--dataset", "digits"], "does not exist", 3),
        (["train", "--model", "resnet5", "--output", str(tmp_path / "p")], "unknown model 'resnet5'", 2),
    ]
    for argv, expected, code in cases:
        result = subprocess.run([sys.executable, "-m", "aacn", *argv], capture_output=True, text=True, check=False)
        assert result.returncode == code, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("aacn: error:") and expected in lines[-1]
        assert "Traceback" not in result.stderr


def test_nan_loss_stops_with_the_last_good_checkpoint_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aacn.engine.module import ClassificationModule

    output = tmp_path / "nan"
    real_step = ClassificationModule.training_step
    saved: dict[str, bytes] = {}

    def diverging_step(self, batch, batch_idx):  # finite in epoch 0, NaN from the second batch of epoch 1
        loss = real_step(self, batch, batch_idx)
        if self.current_epoch == 1 and batch_idx == 1:
            saved["before"] = (output / "last.ckpt").read_bytes()
            return loss * float("nan")
        return loss

    monkeypatch.setattr(ClassificationModule, "training_step", diverging_step)
    config = resolve_config("digits", model="resnet18_cifar", output=str(output), **FAST)
    with pytest.raises(
        NonFiniteLossError, match=r"loss became nan at epoch 1, step 4; the last good checkpoint .*intact"
    ):
        train(config)
    assert (output / "last.ckpt").read_bytes() == saved["before"], "the epoch-0 checkpoint is untouched"
    assert load_checkpoint_file(output / "last.ckpt")["global_step"] == 3
    record = json.loads((output / "diverged.json").read_text())  # what `aacn compare` counts the run by
    assert {k: record[k] for k in ("epoch", "step", "loss")} == {"epoch": 1, "step": 4, "loss": "nan"}
    assert record["message"].startswith("loss became nan at epoch 1, step 4")
    monkeypatch.setattr(ClassificationModule, "training_step", real_step)
    train(config, resume=True)  # the same folder trained on from the good checkpoint: the old record goes
    assert not (output / "diverged.json").exists() and (output / "results.json").is_file()


# ---------------------------------------------------------------- exact resume after SIGKILL and SIGTERM

RUN = [
    "--recipe", "digits", "--model", "aa_resnet18_cifar", "--epochs", "3", "--batch-size", "32",
    "--limit-train-batches", "12", "--limit-val-batches", "2", "--workers", "0",
]  # fmt: skip


def _aacn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "aacn", "train", *RUN, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"training ended before writing {path}: {process.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.02)


def _weights(path: Path) -> tuple[int, dict[str, torch.Tensor]]:
    checkpoint = load_checkpoint_file(path)
    return checkpoint["global_step"], checkpoint["state_dict"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("uninterrupted")
    process = _aacn("--output", str(output))
    assert process.wait() == 0, process.stderr.read()[-2000:]
    return output / "last.ckpt"


def _assert_same_weights(path: Path, reference: Path) -> None:
    step, state = _weights(path)
    ref_step, ref_state = _weights(reference)
    assert step == ref_step == 36
    assert state.keys() == ref_state.keys()
    different = [k for k in state if not torch.equal(state[k], ref_state[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


@pytest.mark.process
@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path: Path, uninterrupted: Path) -> None:
    process = _aacn("--output", str(tmp_path))
    _wait_for(tmp_path / "last.ckpt", process)
    assert process.poll() is None, "the kill must land while training still runs"
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert _weights(tmp_path / "last.ckpt")[0] < 36
    resumed = _aacn("--output", str(tmp_path), "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()[-2000:]
    _assert_same_weights(tmp_path / "last.ckpt", uninterrupted)
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows if r.get("val/top1")] == [0, 1, 2], "metrics.csv keeps the first epoch"


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_saves_mid_epoch_and_resume_is_exact(tmp_path: Path, uninterrupted: Path, signum: int) -> None:
    """SIGTERM (a scheduler) and SIGINT (Ctrl+C) both stop at the end of a batch, save last.ckpt and exit 128 + N."""
    process = _aacn("--output", str(tmp_path))
    _wait_for(tmp_path / "last.ckpt", process)
    time.sleep(0.5)  # into the second epoch
    process.send_signal(signum)
    assert process.wait() == 128 + signum
    stderr = process.stderr.read()
    assert f"stopped by signal {int(signum)}" in stderr and "continue with --resume" in stderr
    assert "Traceback" not in stderr
    assert 12 < _weights(tmp_path / "last.ckpt")[0] < 36, "saved mid-epoch, at the end of a batch"
    resumed = _aacn("--output", str(tmp_path), "--resume")
    assert resumed.wait() == 0, resumed.stderr.read()[-2000:]
    _assert_same_weights(tmp_path / "last.ckpt", uninterrupted)


@pytest.mark.slow
def test_a_full_disk_during_a_checkpoint_ends_in_one_line_and_resume_is_exact(
    tmp_path: Path, uninterrupted: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aacn.utils import atomic
    from faults import FillsUp

    real_write, saves, kept = atomic.atomic_write, [], {}

    def disk_fills_at_the_second_last_ckpt(path, write):
        path = Path(path)
        if path.name == "last.ckpt":
            saves.append(path)
            if len(saves) == 2:  # epoch 1's checkpoint: the disk fills part-way through the file
                kept["before"] = path.read_bytes()
                return real_write(path, lambda stream: write(FillsUp(stream, 2_000_000)))
        return real_write(path, write)

    monkeypatch.setattr(atomic, "atomic_write", disk_fills_at_the_second_last_ckpt)
    assert main(["train", *RUN, "--output", str(tmp_path)]) == 3
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("aacn:")]
    last = tmp_path / "last.ckpt"
    assert lines == [f"aacn: error: could not write {last}: No space left on device; the previous last.ckpt is intact"]
    assert (tmp_path / "last.ckpt").read_bytes() == kept["before"], "the epoch-0 checkpoint is untouched"
    assert not list(tmp_path.glob(".*.tmp")), "no partial file left behind"
    monkeypatch.undo()  # space is back
    assert main(["train", *RUN, "--output", str(tmp_path), "--resume"]) == 0
    _assert_same_weights(tmp_path / "last.ckpt", uninterrupted)


@pytest.mark.process
@pytest.mark.slow
def test_torchrun_ddp_two_processes(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "aacn", "train", "--model", "resnet18_cifar", "--dataset", "digits", "--epochs", "2",
        "--accelerator", "cpu", "--devices", "2", "--batch-size", "32", "--limit-train-batches", "6",
        "--workers", "0", "--output", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote") == 1, "one summary line, from rank 0"
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["world_size"] == 2 and results["top1"] is not None
    step, state = _weights(tmp_path / "last.ckpt")
    assert step == 2 * 6, "each rank took 6 steps per epoch on its half of the data"
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_dataset_default_recipe_applies_without_a_recipe() -> None:
    config = resolve_config(None, dataset="digits", model="resnet18_cifar")
    assert config.recipe == "digits" and config.lr == 0.05 and config.model == "resnet18_cifar"
    assert resolve_config(None, dataset="cifar100").model == "wrn28_10"
    assert resolve_config(None, dataset="fake", model="resnet50").dataset == "fake"
    with pytest.raises(ConfigError, match=r"recipe digits is for dataset 'digits', not 'cifar10'"):
        resolve_config("digits", dataset="cifar10")


def test_compiled_module_keeps_each_weight_once_in_the_state_dict() -> None:
    from aacn.engine.module import ClassificationModule

    for compile_model in (False, True):  # torch.compile is lazy: building the wrapper compiles nothing yet
        module = ClassificationModule(create_model("resnet18_cifar"), TrainConfig(compile=compile_model), 10, {})
        assert {key.split(".", 1)[0] for key in module.state_dict()} == {"model"}
