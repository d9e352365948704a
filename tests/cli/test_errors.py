"""What a user types or the machine does ends in one line and a meaningful exit code, never a traceback or lost work.

Exit codes: 2 a usage error, 3 a data or training failure, 128 + N a signal, 1 an internal error (with --debug or
AACN_DEBUG=1 the traceback is shown instead).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aacn.cli import main
from aacn.utils import WriteError, atomic_write_text
from aacn.utils import atomic as atomic_module
from faults import FillsUp

QUICK = ["--dataset", "digits", "--model", "resnet18_cifar", "--epochs", "1", "--warmup-epochs", "0",
         "--batch-size", "32", "--limit-train-batches", "2", "--limit-val-batches", "1", "--workers", "0",
         "--accelerator", "cpu"]  # fmt: skip


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("aacn:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model-arg", "key_ratio=abc"], "key_ratio must be a number > 0, got 'abc'"),
        (["--model-arg", "num_heads=0"], "num_heads must be an int >= 1, got 0"),
        (
            ["--model-arg", "aa_stages=[2, 7]"],
            "aa_stages must be a list of stage numbers from 1 to 4 \\(a ResNet has 4",
        ),
        (["--model-arg", "relative=maybe"], "relative must be true or false, got 'maybe'"),
        (["--model-arg", "drop_rate=0.1"], "aa_resnet18_cifar does not take override drop_rate"),
        (["--model-arg", "input_size=[0, 8]"], "input_size must be a positive int or a pair"),
    ],
)
def test_model_args_are_checked_before_anything_runs(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "run"
    args = ["train", *QUICK, "--model", "aa_resnet18_cifar", *argv, "--output", str(output)]
    assert main(args) == 2
    line = _one_line(capsys)
    assert line.startswith("aacn: error: model_args (--model-arg): ")
    assert re.search(message, line), line
    assert not output.exists(), "nothing ran, nothing was written"


def test_plain_models_take_no_attention_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *QUICK, "--model-arg", "num_heads=4", "--output", str(tmp_path / "r")]) == 2
    assert (
        "resnet18_cifar is a plain model and takes no attention override (num_heads); use aa_resnet18_cifar"
        in _one_line(capsys)
    )


def test_recipe_values_of_the_wrong_type_stop_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("dataset: digits\nbatch_size: lots\n")
    assert main(["train", "--recipe", str(recipe), "--output", str(tmp_path / "r")]) == 2
    assert "batch_size must be int, got 'lots' (str)" in _one_line(capsys)


def test_an_output_that_is_a_file_or_cannot_be_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert main(["train", *QUICK, "--output", str(a_file)]) == 2
    assert f"--output {a_file} is a file, not a folder" in _one_line(capsys)
    assert a_file.read_text() == "mine"
    assert main(["train", *QUICK, "--output", str(a_file / "run")]) == 2
    assert f"--output {a_file / 'run'} cannot be written: Not a directory" in _one_line(capsys)
    assert main(["compare", "--dataset", "digits", "--output", str(a_file)]) == 2
    assert "is a file, not a folder" in _one_line(capsys)


def test_resume_with_nothing_to_resume_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *QUICK, "--output", str(tmp_path / "new"), "--resume"]) == 2
    line = _one_line(capsys)
    assert f"--resume: nothing to resume in {tmp_path / 'new'} (no last.ckpt there)" in line
    assert "drop --resume to start a new run" in line
    assert not (tmp_path / "new" / "config.yaml").exists(), "it did not start afresh"


def test_a_checkpoint_path_that_is_a_folder_or_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best.ckpt").write_bytes(b"")
    assert main(["eval", "--checkpoint", str(tmp_path / "run"), "--dataset", "digits"]) == 3
    folder = tmp_path / "run"
    expected = f"checkpoint {folder} is a folder; name the checkpoint file in it (e.g. {folder / 'best.ckpt'})"
    assert expected in _one_line(capsys)
    assert main(["export", "--checkpoint", str(tmp_path / "none.ckpt")]) == 3
    assert "does not exist" in _one_line(capsys)


def test_a_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "data"
    a_file.write_text("")
    args = ["train", *QUICK, "--dataset", "cifar10", "--data-dir", str(a_file), "--output", str(tmp_path / "r")]
    assert main(args) == 3
    assert f"--data-dir {a_file} is a file; name the folder that holds the cifar10 data" in _one_line(capsys)


def test_usage_errors_exit_2_and_bugs_exit_1_with_a_hint(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert main(["models", "--filter", "no-such-model"]) == 2
    assert "no model name contains 'no-such-model'" in _one_line(capsys)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("aacn.report.models_table.model_rows", broken)
    assert main(["models"]) == 1
    assert "internal error: ZeroDivisionError: a bug (run again with --debug" in _one_line(capsys)
    with pytest.raises(ZeroDivisionError):
        main(["models", "--debug"])
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "models"])
    monkeypatch.setenv("AACN_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["models"])


@pytest.mark.process
def test_argparse_errors_exit_2() -> None:
    done = subprocess.run([sys.executable, "-m", "aacn", "train", "--epochs", "many"], capture_output=True, text=True)
    assert done.returncode == 2 and "invalid int value: 'many'" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------- the machine failing under us


def test_a_full_disk_part_way_through_a_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write_text(target, "old")
    with pytest.raises(WriteError, match=rf"could not write {target}: No space left on device; the previous"):
        atomic_module.atomic_write(target, lambda stream: FillsUp(stream, 3).write(b"new content"))
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"], "no temporary file left behind"


def test_a_vanished_folder_is_recreated_or_named(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    atomic_write_text(folder / "a.txt", "1")
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    atomic_write_text(folder / "a.txt", "2")  # a folder removed between writes is made again
    assert (folder / "a.txt").read_text() == "2"

    def remove_folder_mid_write(stream) -> None:
        stream.write(b"x")
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()

    with pytest.raises(WriteError, match=rf"could not write {folder / 'a.txt'}: No such file or directory"):
        atomic_module.atomic_write(folder / "a.txt", remove_folder_mid_write)


def test_a_full_disk_inside_torch_save_is_named_as_such(tmp_path: Path) -> None:
    """torch.save's C++ writer turns the stream's OSError into a RuntimeError: the cause is still found."""
    import torch

    target = tmp_path / "last.ckpt"
    atomic_module.atomic_save({"w": torch.zeros(3)}, target)
    before = target.read_bytes()
    with pytest.raises(WriteError, match="No space left on device"):
        atomic_module.atomic_write(target, lambda stream: torch.save({"w": torch.randn(10**6)}, FillsUp(stream, 10**5)))
    assert target.read_bytes() == before


@pytest.fixture
def mount_tmpfs(tmp_path: Path):
    """Mount a small tmpfs with the given options (where this process may mount; skipped elsewhere)."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        if shutil.which("mount") is None:
            pytest.skip("no mount command here")
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, check=False
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


@pytest.mark.process
def test_a_real_full_file_system_keeps_the_old_file(mount_tmpfs) -> None:
    small = mount_tmpfs("small", "size=256k")
    target = small / "metrics.csv"
    atomic_write_text(target, "old rows\n")
    with pytest.raises(WriteError, match=rf"could not write {target}: No space left on device; the previous"):
        atomic_write_text(target, "x" * 2_000_000)
    assert target.read_text() == "old rows\n"
    assert [p.name for p in small.iterdir()] == ["metrics.csv"], "the partial temporary file was removed"


@pytest.mark.process
def test_a_read_only_file_system_is_one_line(mount_tmpfs, capsys: pytest.CaptureFixture[str]) -> None:
    frozen = mount_tmpfs("frozen", "size=64k,ro")
    assert main(["train", *QUICK, "--output", str(frozen / "run")]) == 2
    assert f"--output {frozen / 'run'} cannot be written: Read-only file system" in _one_line(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "-1"], r"num_workers must be >= 0"),
        (["--seed", "-1"], r"seed must lie in \[0, 2\*\*32\)"),
        (["--limit-train-batches", "0"], r"limit_train_batches must be a fraction in \(0, 1\] or a whole count"),
        (["--limit-val-batches", "2.5"], r"limit_val_batches must be a fraction in \(0, 1\] or a whole count"),
        (["--momentum", "1.5"], r"momentum must lie in \[0, 1\), got 1.5"),
        (["--wd", "-0.1"], r"weight_decay must be >= 0"),
        (["--grad-clip", "-1"], r"grad_clip must be >= 0"),
        (["--scheduler", "multistep", "--milestones", "6,3"], r"milestones must be increasing positive epochs"),
        (["--devices", "0"], r"devices must be a count >= 1 \(or -1: every GPU\)"),
        (["--devices", "1,1"], r"devices as a list takes distinct indices"),
        (["--image-size", "0"], r"image_size must be a positive int"),
        (["--model", "aa_resnet18_cifar", "--image-size", "32", "--model-arg", "input_size=16"],
         r"input_size=16 makes relative tables smaller than the 32x32 training images"),
        (["--epochs", "2", "--sample-budget", "100"], r"epochs=2 and sample_budget=100 contradict each other"),
        (["--strategy", "fsdp"], r"invalid choice: 'fsdp'"),
    ],
)  # fmt: skip
def test_every_setting_has_a_domain_checked_before_anything_runs(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "run"
    try:
        code = main(["train", *QUICK, *argv, "--output", str(output)])
    except SystemExit as stop:  # argparse's choices
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err, err
    assert not output.exists(), "nothing ran, nothing was written"


def test_requests_this_machine_cannot_fulfil_say_what_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", *QUICK, "--accelerator", "gpu", "--output", str(tmp_path / "a")]) == 2
    assert "--accelerator gpu: this machine has no CUDA GPU" in _one_line(capsys)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert main(["train", *QUICK, "--devices", "3", "--output", str(tmp_path / "b")]) == 2
    assert "--devices 3: 3 training processes on a CPU with 2 core(s); use at most 2" in _one_line(capsys)
    assert main(["train", *QUICK, "--devices", "0,1", "--output", str(tmp_path / "c")]) == 2
    assert "a list of devices names GPUs; on CPU give a count" in _one_line(capsys)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_print_config_says_where_each_setting_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "svrt1", "--epochs", "3", "--lr", "0.2", "--print-config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "epochs: 3  # flag" in lines and "lr: 0.2  # flag" in lines
    assert "batch_size: 32  # recipe svrt1" in lines and "grad_clip: 0.0  # default" in lines
    assert main(["train", "--dataset", "digits", "--sample-budget", "640", "--train-size", "100",
                 "--print-config"]) == 0  # fmt: skip
    assert "epochs: 7  # derived: ceil(sample_budget 640 / 100 images)" in capsys.readouterr().out
    assert main(["compare", "--dataset", "svrt1", "--epochs", "1", "--print-config", "--output", "unused"]) == 0
    out = capsys.readouterr().out
    assert out.count("epochs: 1  # flag") == 2 and "# aa_resnet18_cifar" in out, "one block per model"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", ""], r"--seeds takes comma-separated distinct ints >= 0"),
        (["--seeds", "0,0"], r"--seeds takes comma-separated distinct ints >= 0"),
        (["--seeds", "-1"], r"--seeds takes comma-separated distinct ints >= 0"),
        (["--train-sizes", "100,,200"], r"--train-sizes takes comma-separated distinct ints >= 1"),
        (["--models", "resnet18_cifar,"], r"--models takes comma-separated model names"),
        (["--epochs", "0"], r"epochs must be a positive int, got 0"),
    ],
)
def test_compare_checks_its_lists_and_the_run_settings_before_any_run(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--dataset", "digits", *argv, "--output", str(tmp_path / "c")]) == 2
    assert re.search(message, _one_line(capsys))
    assert not (tmp_path / "c").exists()


def test_export_refuses_an_option_of_another_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--checkpoint", str(tmp_path / "best.ckpt"), "--dynamo"]) == 2
    assert "--dynamo chooses the ONNX exporter; it applies to --format onnx only" in _one_line(capsys)


@pytest.mark.parametrize(
    ("dataset", "size", "message"),
    [
        ("svrt1", "4", r"svrt1 cannot be drawn at 4x4 images: .* use --image-size 10 or more"),
        ("svrt1", "2", r"svrt1 cannot be drawn at 2x2 images"),
        ("svrt2", "3", r"svrt2 cannot be drawn at 3x3 images: .* use --image-size 4 or more"),
        ("motif_pairs", "50", r"motif_pairs needs sequences of at least 96 steps, got 50"),
    ],
)
def test_a_size_a_generator_cannot_draw_is_refused_before_anything_runs(dataset: str, size: str, message: str,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    """Once a hang: svrt1's rejection loop never found a placement at 4x4 (its centres lie on 16-pixel blocks)."""
    model = "resnet18_1d" if dataset == "motif_pairs" else "resnet18_cifar"
    output = tmp_path / "run"
    argv = ["train", "--dataset", dataset, "--model", model, "--image-size", size, "--output", str(output)]
    done = subprocess.run([sys.executable, "-m", "aacn", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and re.search(message, done.stderr), done.stderr
    assert not output.exists()
