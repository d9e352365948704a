"""aacn.profile against hand-counted FLOPs, and the `aacn models` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from aacn import AugmentedConv2d, create_model, profile
from aacn.cli import main


def test_profile_counts_attention_matmuls() -> None:
    """Every multiply-add of the layer, by hand: conv, qkv, q k^T, relative logits, weights @ v, W^O."""
    cin, cout, dk, dv, heads, h, w = 16, 32, 16, 8, 2, 6, 5
    layer = AugmentedConv2d(cin, cout, dk=dk, dv=dv, num_heads=heads, max_size=(h, w))
    hw, dkh, dvh = h * w, dk // heads, dv // heads

    class Wrap(torch.nn.Module):  # profile() feeds 3-channel images: adapt
        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Conv2d(3, cin, 1, bias=False)
            self.layer = layer

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(self.stem(x))

    macs = (
        3 * cin * hw  # stem
        + (cout - dv) * cin * 9 * hw  # conv branch
        + (2 * dk + dv) * cin * hw  # qkv
        + heads * hw * hw * dkh  # q k^T
        + heads * hw * (h + w) * dkh  # relative logits, O(HW (H + W))
        + heads * hw * hw * dvh  # weights @ v
        + dv * dv * hw  # W^O
    )
    counted = profile(Wrap(), (h, w))
    assert counted.flops == 2 * macs
    assert counted.params == sum(p.numel() for p in layer.parameters()) + 3 * cin


def test_profile_resnet50_matches_the_known_figure() -> None:
    with torch.device("meta"):
        model = create_model("resnet50")
    counted = profile(model, 224)
    assert counted.params == 25_557_032
    assert counted.gflops == pytest.approx(8.18, abs=0.01)  # torchvision: 4.09 GMACs


def test_profile_keeps_training_mode_and_rejects_bad_sizes() -> None:
    model = create_model("resnet18_cifar")
    model.train()
    profile(model, 32)
    assert model.training
    with pytest.raises(ValueError, match=r"input_size must be S, \(H, W\) or \(C, H, W\), got"):
        profile(model, (1, 2, 3, 4))


def test_models_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json", "--filter", "resnet50"]) == 0
    rows = {row["model"]: row for row in json.loads(capsys.readouterr().out)["models"]}
    ablations = {f"aa_resnet50_kv{share}" for share in (25, 50, 75, 100)} | {
        f"aa_resnet50_pe_{encoding}" for encoding in ("none", "sine", "coordconv")
    }
    assert set(rows) == {"resnet50", "aa_resnet50", "resnet50_cifar", "aa_resnet50_cifar", *ablations}
    assert rows["aa_resnet50_kv25"]["paper_params_m"] == 24.3 and rows["aa_resnet50_pe_none"]["paper_top1"] == 77.5
    assert rows["resnet50"]["params"] == 25_557_032 and rows["resnet50"]["paper_params_m"] == 25.6
    assert rows["aa_resnet50"]["gflops"] > rows["resnet50"]["gflops"]
    assert rows["resnet50_cifar"]["paper_gflops"] is None


def test_models_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--filter", "34"]) == 0
    out = capsys.readouterr().out
    assert "| aa_resnet34 | 224x224 | 1000 | 20.75 | 20.7 |" in out
    assert "| resnet34_cifar | 32x32 | 10 | 21.28 | - |" in out


@pytest.mark.process
def test_cli_user_error_is_one_line_and_nonzero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aacn", "models", "--filter", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "aacn: error: no model name contains 'nope'; `aacn models` lists them all"
    assert "Traceback" not in result.stderr


def test_profile_counts_the_operator_whatever_path_runs() -> None:
    """A chunked layer is counted as the eager operator (on the meta device too), and keeps its path setting."""
    with torch.device("meta"):
        model = create_model("aa_resnet18_cifar", attn_downsample_stages=())
    eager = profile(model, 32)
    layers = [m for m in model.modules() if isinstance(m, AugmentedConv2d)]
    for layer in layers:
        layer.attention_impl = "chunked"
    assert profile(model, 32) == eager
    assert all(layer.attention_impl == "chunked" for layer in layers)
