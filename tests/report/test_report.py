"""aacn compare's report and JSON, resume/skip of runs, the figures, and attention maps against q and k."""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from aacn import create_model
from aacn.cli import main
from aacn.report.attention_maps import capture_attention, head_maps, plot_attention_maps, query_index
from aacn.report.comparison import format_table, protocol_record, summarize, write_report, write_results_json
from aacn.report.curves import plot_curves
from aacn.report.models_table import model_rows
from reference import reference_attention


def _run(seed: int, top1: float, **kw) -> dict:
    base = dict(seed=seed, top1=top1, top5=min(1.0, top1 + 0.1), loss=1 - top1, params=1_000_000, gflops=0.5,
                train_images_per_sec=100.0 + seed, eval_images_per_sec=300.0, peak_memory_mb=900.0 + seed,
                wall_time_s=10.0, epochs=3)  # fmt: skip
    return {**base, **kw}


def assert_png(path: Path, min_width: int = 500, min_height: int = 250) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        assert width >= min_width and height >= min_height, (width, height)
        assert len(np.unique(np.asarray(image.convert("L")))) > 20, "a figure, not a blank canvas"


def test_summary_means_and_sample_std() -> None:
    row = summarize("aa_resnet50", "imagenet", [_run(0, 0.70), _run(1, 0.72), _run(2, 0.74)])
    assert row.top1 == pytest.approx(0.72) and row.top1_std == pytest.approx(0.02)
    assert row.peak_memory_mb == 902.0 and row.train_images_per_sec == pytest.approx(101.0)
    assert (row.paper_top1, row.paper_top5) == (77.7, 93.8)
    single = summarize("aa_resnet50", "digits", [_run(0, 0.9)])
    assert single.top1_std is None and single.paper_top1 is None, "paper figures only for the paper's setting"
    assert summarize("aa_wrn28_10", "cifar100", [_run(0, 0.8)]).paper_top1 == 81.6
    assert summarize("aa_wrn28_10", "imagenet", [_run(0, 0.8)]).paper_top1 is None


def test_report_numbers_equal_results_json(tmp_path: Path) -> None:
    rows = [
        summarize("resnet50", "imagenet", [_run(0, 0.7612), _run(1, 0.7655)]),
        summarize("aa_resnet50", "imagenet", [_run(0, 0.7731), _run(1, 0.7790)]),
    ]
    context = {"dataset": "imagenet", "command": "aacn compare --dataset imagenet", "hardware": "test machine",
               "recipe": "r", "source": "s", "epochs": 3, "seeds": [0, 1]}  # fmt: skip
    write_results_json(rows, tmp_path / "results.json", context)
    write_report(rows, tmp_path / "report.md", context)
    saved = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert "aacn compare --dataset imagenet" in report and "test machine" in report
    for model in saved["models"]:
        line = next(l for l in report.splitlines() if l.startswith(f"| {model['model']} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        mean, std = (float(v) for v in re.findall(r"[\d.]+", cells[1]))
        assert mean == pytest.approx(100 * model["top1"], abs=0.005)
        assert std == pytest.approx(100 * model["top1_std"], abs=0.005)
        assert float(cells[3]) == pytest.approx(model["params"] / 1e6, abs=0.005)
        assert cells[-2:] == [f"{model['paper_top1']:.1f}", f"{model['paper_top5']:.1f}"]
    assert "paper top-1" in format_table(rows)


def test_curves_png(tmp_path: Path) -> None:
    runs = {
        "resnet18_cifar": [{"train_loss": {0: 2.0, 1: 1.0, 2: 0.5}, "val_top1": {0: 0.3, 1: 0.6, 2: 0.8}}] * 2,
        "aa_resnet18_cifar": [{"train_loss": {0: 2.1, 1: 0.9, 2: 0.4}, "val_top1": {0: 0.35, 1: 0.65, 2: 0.85}}],
    }
    plot_curves(runs, tmp_path / "curves.png", "test")
    assert_png(tmp_path / "curves.png")


def test_curves_share_one_epoch_axis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A validation logged only after the last epoch sits at that epoch, under the training loss's last point, not
    alone in the middle of a panel of its own."""
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    runs = {"resnet18_cifar": [{"train_loss": {e: 2.0 - 0.1 * e for e in range(8)}, "val_top1": {7: 0.8}}]}
    plot_curves(runs, tmp_path / "curves.png", "test")
    loss_axis, top1_axis = figures[0].axes
    assert loss_axis.get_xlim() == top1_axis.get_xlim()
    assert loss_axis.get_xlim()[0] < 1 and loss_axis.get_xlim()[1] > 8  # epochs 1 to 8 both
    assert list(top1_axis.lines[0].get_xdata()) == [8]


def test_models_plot_png(tmp_path: Path) -> None:
    assert main(["models", "--filter", "resnet5", "--plot", str(tmp_path / "models.png")]) == 0
    assert_png(tmp_path / "models.png")
    from aacn.report.models_plot import plain_aa_pairs

    assert [p.model for p, _ in plain_aa_pairs(model_rows(["resnet50", "aa_resnet50", "wrn28_10"]))] == ["resnet50"]


def test_the_model_table_gives_a_sequence_model_one_axis() -> None:
    from aacn.report.models_table import format_markdown

    rows = model_rows(["aa_resnet18_1d", "aa_resnet18_cifar"])
    assert [row.dims for row in rows] == [1, 2]
    cells = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in format_markdown(rows).splitlines()[2:]}
    assert cells == {"aa_resnet18_1d": "1024", "aa_resnet18_cifar": "32x32"}


def _pooled_layer_input(layer, x: torch.Tensor) -> torch.Tensor:
    """What the attention branch attends over: the layer input pooled as the project's policy says."""
    if layer.stride > 1:
        x = F.avg_pool2d(x, layer.stride, layer.stride, ceil_mode=True)
    if layer.attn_downsample:
        x = F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)
    return x


@pytest.mark.parametrize("layer_name", ["layer2.0.conv1", "layer3.1.conv1"])
def test_attention_maps_are_the_weights_of_q_and_k(layer_name: str) -> None:
    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=10).double().eval()
    layer = dict(model.named_modules())[layer_name]
    seen = {}
    layer.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    image = torch.randn(1, 3, 16, 20, dtype=torch.float64)
    maps = capture_attention(model, image, layer_name)
    assert layer.attention is None and not layer.capture_attention, "capture leaves nothing behind"
    _, expected = reference_attention(layer, _pooled_layer_input(layer, seen["x"]))
    assert maps.weights.shape == expected[0].shape
    torch.testing.assert_close(maps.weights, expected[0], rtol=1e-9, atol=1e-12)
    grid_h, grid_w = maps.grid
    assert grid_h * grid_w == maps.weights.shape[-1]
    # the overlay of a query is that query's row of weights, upsampled
    index = query_index(maps, 15, 19)
    assert index == grid_h * grid_w - 1
    overlays = head_maps(maps, 15, 19)
    assert overlays.shape == (layer.num_heads, 16, 20)


def test_attention_maps_errors() -> None:
    plain = create_model("resnet18_cifar")
    with pytest.raises(ValueError, match="no attention-augmented layer"):
        capture_attention(plain, torch.randn(1, 3, 16, 16))
    model = create_model("aa_resnet18_cifar")
    with pytest.raises(ValueError, match=r"no augmented layer 'layer9'; choose one of: layer2.0.conv1"):
        capture_attention(model, torch.randn(1, 3, 16, 16), "layer9")


def test_attention_maps_figure(tmp_path: Path) -> None:
    model = create_model("aa_resnet18_cifar")
    image = torch.rand(3, 16, 16)
    maps = capture_attention(model, image.unsqueeze(0), "layer2.0.conv1")
    plot_attention_maps(maps, image, [(2, 3), (8, 8)], tmp_path / "maps.png", "test")
    assert_png(tmp_path / "maps.png", min_width=900, min_height=300)


class _DivergingTrain:
    """Stands in for the `aacn train` subprocess of `aacn compare`: leaves what a run that diverged leaves."""

    commands: ClassVar[list[list[str]]] = []

    def __init__(self, command: list[str]) -> None:
        self.commands.append(command)
        folder = Path(command[command.index("--output") + 1])
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text("epochs: 32\n")
        (folder / "metrics.csv").write_text("epoch,step,train/loss_epoch,train/top1,val/top1\n0,7,0.7,0.5,\n")
        (folder / "diverged.json").write_text(json.dumps({"epoch": 2, "step": 9, "loss": "nan", "message": "m"}))

    def wait(self) -> int:
        return 3


def test_compare_counts_a_diverged_run_as_done_and_reports_it_at_chance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aacn.experiments import compare as compare_module

    plain, aa = "resnet18_cifar", "aa_resnet18_cifar"
    top1 = {(125, plain, 0): 0.55, (125, aa, 0): 0.6, (125, aa, 1): 0.62, (250, plain, 0): 0.7, (250, plain, 1): 0.74,
            (250, aa, 0): 0.8}  # fmt: skip
    for (size, model, seed), value in top1.items():
        folder = tmp_path / f"n{size}" / model / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(_run(seed, value, model=model, dataset="svrt1", epochs=32)))
        (folder / "metrics.csv").write_text("epoch,step,train/loss_epoch,train/top1,val/top1\n0,7,0.6,0.6,0.6\n")
    # a run that diverged before compare learnt to record it: diverged.json, config.yaml and metrics.csv only
    earlier = tmp_path / "n250" / aa / "seed1"
    _DivergingTrain(["--output", str(earlier)])
    _DivergingTrain.commands.clear()
    monkeypatch.setattr(compare_module, "_launch", _DivergingTrain)
    options = compare_module.CompareOptions("svrt1", tmp_path, seeds=(0, 1), train_sizes=(125, 250))
    compare_module.compare(options)
    printed = capsys.readouterr().out

    (command,) = _DivergingTrain.commands  # only the run with no files was trained
    assert command[command.index("--train-size") + 1] == "125" and command[command.index("--model") + 1] == plain
    assert "resnet18_cifar seed 1 on 125 images: diverged, loss nan at epoch 2, step 9; counted as done" in printed
    assert "aa_resnet18_cifar seed 1 on 250 images: diverged earlier, loss nan at epoch 2, step 9" in printed
    for folder in (tmp_path / "n125" / plain / "seed1", earlier):
        record = json.loads((folder / "results.json").read_text())
        assert record["top1"] is None and record["epochs"] == 32, "no test was measured; the planned epochs"
        assert record["diverged"] == {"epoch": 2, "step": 9, "loss": "nan"}

    summary = json.loads((tmp_path / "results.json").read_text())
    rows = {(entry["train_size"], m["model"]): m for entry in summary["sizes"] for m in entry["models"]}
    assert rows[(125, plain)]["diverged"] == 1 and rows[(125, plain)]["top1"] == pytest.approx((0.55 + 0.5) / 2)
    assert rows[(125, plain)]["params"] == 1_000_000, "measurements come from the finished run"
    assert rows[(250, aa)]["diverged"] == 1 and rows[(250, plain)]["diverged"] == 0
    analysis = summary["analysis"]
    assert analysis["paired_differences"][0]["differences"] == pytest.approx([0.05, 0.12]), "0.62 - 0.5 for seed 1"
    assert analysis["sensitivity"]["left_out"] == {"125": [1], "250": [1]}
    report = (tmp_path / "report.md").read_text()
    assert "| 125 | resnet18_cifar | 55.00 | 50.00 (diverged at epoch 2, step 9) |" in report
    assert (
        "Diverged runs (training loss non-finite; scored at chance, 50.00%): resnet18_cifar, 1 of 2 at N = 125; "
        "aa_resnet18_cifar, 1 of 2 at N = 250."
    ) in report
    assert "52.50 ± 3.54 (1 diverged)" in report and "Sensitivity, not the verdict" in report
    assert analysis["verdict"] in report and "Leaving out the pairs with a diverged run" in analysis["verdict"]
    assert_png(tmp_path / "sample_efficiency.png")

    def no_training(command: list[str]) -> None:
        raise AssertionError("a diverged run was trained again")

    monkeypatch.setattr(compare_module, "_launch", no_training)
    compare_module.compare(options)
    assert capsys.readouterr().out.count("finished earlier, skipped") == 8


def test_compare_still_stops_on_a_run_that_failed_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aacn.experiments import compare as compare_module

    class FailingTrain(_DivergingTrain):
        def __init__(self, command: list[str]) -> None:
            Path(command[command.index("--output") + 1]).mkdir(parents=True)

    monkeypatch.setattr(compare_module, "_launch", FailingTrain)
    options = compare_module.CompareOptions("svrt1", tmp_path, seeds=(0,), train_sizes=(125,))
    with pytest.raises(compare_module.RunFailedError, match="run resnet18_cifar seed 0 on 125 images did not finish"):
        compare_module.compare(options)
    assert not (tmp_path / "n125" / "resnet18_cifar" / "seed0" / "results.json").exists()


@pytest.mark.process
@pytest.mark.slow
def test_compare_skips_finished_and_resumes_interrupted_runs(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "aacn", "compare", "--dataset", "digits", "--models",
               "resnet18_cifar,aa_resnet18_cifar", "--epochs", "2", "--limit-train-batches", "3",
               "--limit-val-batches", "2", "--workers", "0", "--output", str(tmp_path)]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    for name in ("report.md", "results.json", "curves.png"):
        assert (tmp_path / name).is_file()
    assert_png(tmp_path / "curves.png")
    assert "| aa_resnet18_cifar |" in first.stdout, "the table is printed at the end"
    finished = tmp_path / "resnet18_cifar" / "seed0" / "results.json"
    before = finished.read_text()
    interrupted = tmp_path / "aa_resnet18_cifar" / "seed0"
    (interrupted / "results.json").unlink()  # as if killed after its last checkpoint
    second = subprocess.run(command, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resnet18_cifar seed 0: finished earlier, skipped" in second.stdout
    assert "aa_resnet18_cifar seed 0: resuming" in second.stdout
    assert finished.read_text() == before
    summary = json.loads((tmp_path / "results.json").read_text())
    assert [m["model"] for m in summary["models"]] == ["resnet18_cifar", "aa_resnet18_cifar"]
    assert all(m["top1"] is not None and m["params"] > 0 for m in summary["models"])


def test_the_protocol_record_keeps_every_commit_that_changed_it(tmp_path: Path) -> None:
    """A protocol is written first and amended later: the record lists each change, oldest first, with its date."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    protocol = tmp_path / "protocol.md"
    outside = protocol_record(_write(protocol, "v2\n"))
    assert (outside["history"], outside["commit"]) == ([], None), "outside a checkout: no commits"
    subprocess.run([*git, "init", "-q"], check=True)
    commits = []
    for text in ("v2\n", "v2\namendment\n"):
        _write(protocol, text)
        subprocess.run([*git, "add", "protocol.md"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", text.strip()], check=True)
        commits.append(subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip())
    (tmp_path / "other.md").write_text("not the protocol\n")
    subprocess.run([*git, "add", "other.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "unrelated"], check=True)
    record = protocol_record(protocol)
    assert [entry["commit"] for entry in record["history"]] == commits, "oldest first, only the protocol's commits"
    assert record["commit"] == commits[-1]
    assert record["sha256"] == hashlib.sha256(b"v2\namendment\n").hexdigest()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT.*", entry["date"]) for entry in record["history"])
    report = tmp_path / "report.md"
    rows = [summarize("m", "d", [_run(0, 0.5)])]
    context = {"dataset": "d", "command": "c", "hardware": "h", "recipe": "r", "source": "s", "epochs": 1,
               "seeds": [0], "protocol": record}  # fmt: skip
    write_report(rows, report, context)
    line = next(line for line in report.read_text().splitlines() if line.startswith("Protocol:"))
    assert f"first committed in {commits[0][:12]}" in line and f"changed in {commits[1][:12]}" in line


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.process
@pytest.mark.slow
def test_compare_sweeps_training_set_sizes_with_one_recipe(tmp_path: Path) -> None:
    protocol = tmp_path / "protocol.md"
    protocol.write_text("fixed before the runs\n")
    output = tmp_path / "study"
    command = [sys.executable, "-m", "aacn", "compare", "--dataset", "svrt2", "--train-sizes", "64,32", "--seeds",
               "0,1", "--sample-budget", "64", "--image-size", "16", "--val-size", "48", "--precision", "32",
               "--protocol", str(protocol),
               "--output", str(output)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    tmp_path = output
    summary = json.loads((tmp_path / "results.json").read_text())
    assert [entry["train_size"] for entry in summary["sizes"]] == [32, 64], "smallest first"
    assert summary["protocol"]["sha256"] == hashlib.sha256(b"fixed before the runs\n").hexdigest()
    # the paired analysis: AA minus plain per seed, from the runs' own results
    analysis = summary["analysis"]
    assert (analysis["first"], analysis["second"]) == ("resnet18_cifar", "aa_resnet18_cifar")
    for paired in analysis["paired_differences"]:
        runs = {m: [json.loads((tmp_path / f"n{paired['train_size']}" / m / f"seed{s}" / "results.json").read_text())
                    for s in (0, 1)] for m in ("resnet18_cifar", "aa_resnet18_cifar")}  # fmt: skip
        pairs = zip(runs["resnet18_cifar"], runs["aa_resnet18_cifar"], strict=True)
        expected = [aa["top1"] - plain["top1"] for plain, aa in pairs]
        assert paired["seeds"] == [0, 1] and paired["differences"] == pytest.approx(expected)
        assert paired["low"] <= paired["mean"] <= paired["high"]
    assert analysis["verdict"] in done.stdout and analysis["verdict"] in (tmp_path / "report.md").read_text()
    assert_png(tmp_path / "training_curves.png")
    for entry in summary["sizes"]:
        assert [m["model"] for m in entry["models"]] == ["resnet18_cifar", "aa_resnet18_cifar"], "the default pair"
        assert all(0.0 <= m["top1"] <= 1.0 for m in entry["models"])
    assert summary["epochs_per_size"] == {"32": 2, "64": 1}, "the same 64 training images seen at every size"
    for size, epochs in ((32, 2), (64, 1)):
        config = yaml.safe_load((tmp_path / f"n{size}" / "aa_resnet18_cifar" / "seed0" / "config.yaml").read_text())
        assert (config["train_size"], config["epochs"], config["recipe"]) == (size, epochs, "svrt2")
        assert config["image_size"] == 16 and config["lr"] == 0.05, "the study's recipe, the flags on top"
    report = (tmp_path / "report.md").read_text()
    for entry in summary["sizes"]:
        cells = " | ".join(f"{100 * m['top1']:.2f} ± {100 * m['top1_std']:.2f}" for m in entry["models"])
        assert f"| {entry['train_size']} | {cells} |" in report, "report.md = results.json"
    assert "![test top-1 against training images](sample_efficiency.png)" in report
    assert_png(tmp_path / "sample_efficiency.png")
    assert_png(tmp_path / "curves.png")
    assert "| 64 |" in done.stdout, "the size table is printed at the end"
    from aacn.report.run_files import read_curves
    from aacn.report.study import format_below_adequacy

    expected = []  # every run whose last training top-1 is below 99%, from its own metrics.csv
    for size in (32, 64):
        for model in ("aa_resnet18_cifar", "resnet18_cifar"):
            for seed in (0, 1):
                top1 = read_curves(tmp_path / f"n{size}" / model / f"seed{seed}" / "metrics.csv")["train_top1"]
                if top1[max(top1)] < 0.99:
                    expected.append([size, model, seed, top1[max(top1)]])
    assert summary["below_adequacy"] == expected
    assert format_below_adequacy(expected) in report


@pytest.mark.process
@pytest.mark.slow
def test_compare_killed_at_random_moments_gives_the_same_report(tmp_path: Path) -> None:
    """SIGKILL the whole comparison three times at random moments, run it again to the end: the report's numbers
    (timings aside) are those of a run never interrupted, and no orphaned run goes on in the background."""
    command = [sys.executable, "-m", "aacn", "compare", "--dataset", "digits", "--models",
               "resnet18_cifar,aa_resnet18_cifar", "--epochs", "2", "--batch-size", "32", "--limit-train-batches", "4",
               "--limit-val-batches", "2", "--workers", "0"]  # fmt: skip
    reference = subprocess.run([*command, "--output", str(tmp_path / "reference")], capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr[-3000:]
    chaos, moments = tmp_path / "chaos", random.Random(0)
    for _ in range(3):
        process = subprocess.Popen(
            [*command, "--output", str(chaos)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(moments.uniform(2.0, 20.0))
        process.kill()
        process.wait()
        time.sleep(0.5)
        orphans = subprocess.run(
            ["pgrep", "-f", "--", f"--output {chaos}/"], capture_output=True, text=True
        ).stdout.split()
        assert not orphans, "a training run outlived its killed comparison"
    final = subprocess.run([*command, "--output", str(chaos)], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    keys = ("model", "top1", "top1_std", "top5", "loss", "params", "gflops", "seeds")
    summaries = [json.loads((folder / "results.json").read_text()) for folder in (tmp_path / "reference", chaos)]
    assert [{k: m[k] for k in keys} for m in summaries[1]["models"]] == [
        {k: m[k] for k in keys} for m in summaries[0]["models"]
    ]


def test_attention_maps_command_on_a_trained_checkpoint(tmp_path: Path) -> None:
    from aacn.engine import resolve_config, train

    output = tmp_path / "run"
    config = resolve_config("digits", model="aa_resnet18_cifar", output=str(output), epochs=1, batch_size=32,
                            limit_train_batches=2, limit_val_batches=1, num_workers=0, accelerator="cpu")  # fmt: skip
    train(config)
    Image.fromarray((torch.rand(20, 24, 3) * 255).byte().numpy()).save(tmp_path / "digit.png")
    figure = tmp_path / "maps.png"
    argv = ["attention-maps", "--checkpoint", str(output / "last.ckpt"), "--image", str(tmp_path / "digit.png")]
    assert main([*argv, "--layer", "layer3.0.conv1", "--queries", "2,3", "8,8", "--output", str(figure)]) == 0
    assert_png(figure, min_width=900, min_height=200)
    assert main([*argv, "--queries", "16,0", "--output", str(figure)]) == 2, "outside the 16x16 input"
    assert main([*argv, "--image", str(tmp_path / "missing.png"), "--output", str(figure)]) == 2
