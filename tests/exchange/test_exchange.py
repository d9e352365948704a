"""Models leave aacn intact: torch.jit.trace, torch.export and ONNX (checked by onnxruntime) compute what eager does."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from aacn import AugmentedConv2d, create_model
from aacn.cli import main
from aacn.nn import using_attention_impl

# one model per family and block type, at an input small enough for CI: (name, image side, batch)
FAMILIES = [("aa_resnet18_cifar", 32, 2), ("aa_resnet50", 64, 2), ("aa_wrn28_10", 32, 1)]


@pytest.mark.parametrize(("name", "size", "batch"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_jit_trace_and_torch_export_compute_what_eager_does(name: str, size: int, batch: int) -> None:
    """Like with like: the tracers record the eager attention path, so the model runs it too. (Against the chunked
    path the float32 rounding of sixteen augmented layers reached 0.02 on logits of 31 on one vendor's kernels.)"""
    torch.manual_seed(0)
    model = create_model(name, num_classes=7).eval()
    x = torch.randn(batch, 3, size, size)
    other = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        traced = torch.jit.trace(model, x, check_trace=False)
        program = torch.export.export(model, (x,))
        with using_attention_impl(model, "eager"):
            expected, expected_other = model(x), model(other)
        torch.testing.assert_close(traced(other), expected_other, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(program.module()(x), expected, rtol=1e-5, atol=1e-5)


def test_using_attention_impl_sets_every_layer_and_restores_it() -> None:
    model = create_model("aa_resnet18_cifar", num_classes=3)
    layers = [m for m in model.modules() if isinstance(m, AugmentedConv2d)]
    layers[0].attention_impl = "sdpa"
    with using_attention_impl(model, "eager"):
        assert {layer.attention_impl for layer in layers} == {"eager"}
    assert [layer.attention_impl for layer in layers] == ["sdpa"] + ["auto"] * (len(layers) - 1)
    bad = pytest.raises(ValueError, match=r"attention_impl must be one of auto, eager, chunked, flex, sdpa, got .x.")
    with bad, using_attention_impl(model, "x"):
        pass


def test_the_layer_takes_the_traceable_path_under_every_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    from aacn.nn import attention

    seen: list[bool] = []
    real = attention.relative_attention_nd
    monkeypatch.setattr(attention, "relative_attention_nd", lambda *a, **k: seen.append(True) or real(*a, **k))
    model = create_model("aa_resnet18_cifar", num_classes=3).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        model(x)
        assert not seen, "outside a tracer, auto takes the chunked path on CPU"
        torch.jit.trace(model, x, check_trace=False)
    assert len(seen) == 6, "under jit.trace every augmented layer took the eager path"


@pytest.mark.parametrize("dynamo", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["torchscript", "dynamo"])
def test_onnx_with_a_dynamic_batch_matches_pytorch(dynamo: bool) -> None:
    pytest.importorskip("onnxruntime")
    from aacn.exchange.onnx import max_difference, onnx_bytes

    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=10).eval()
    data = onnx_bytes(model, 32, dynamo=dynamo)  # exported at batch 2
    assert max_difference(model, data, 32, batch=5) < 1e-4
    assert max_difference(model, data, 32, batch=1) < 1e-4


def test_onnx_takes_the_models_input_channels() -> None:
    pytest.importorskip("onnxruntime")
    import onnx

    from aacn.exchange.onnx import max_difference, onnx_bytes

    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=3, in_chans=1, input_size=16).eval()
    data = onnx_bytes(model, 16)
    dims = onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [1, 16, 16], "one input channel, as the model takes"
    assert max_difference(model, data, 16, batch=2) < 1e-4


def test_export_command_writes_an_onnx_file_from_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    import onnx

    model = create_model("aa_resnet18_cifar", num_classes=4, input_size=16)
    checkpoint = tmp_path / "best.ckpt"
    meta = {"model": "aa_resnet18_cifar", "num_classes": 4, "model_args": {"input_size": 16}, "image_size": 16}
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "aacn": meta}, checkpoint)
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "onnx"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'best.onnx'} (batch dynamic, 16x16 images; onnxruntime agrees with PyTorch" in out
    graph = onnx.load(str(tmp_path / "best.onnx")).graph
    assert [i.name for i in graph.input] == ["images"] and [o.name for o in graph.output] == ["logits"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
