"""``aacn export --format onnx``: a trained model as ONNX with a dynamic batch, checked against onnxruntime.

Under the exporter the layer takes its eager attention path (plain tensor ops; see ``aacn.nn.attention._tracing``),
so the graph holds matrix products, a softmax and the relative-logit gathers: any ONNX runtime runs it. The image
size is fixed at export (the relative tables are cut for it); the batch is dynamic.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..checkpoints import model_from_checkpoint
from ..nn import using_attention_impl
from ..utils import atomic_write_bytes
from ..utils.extras import require_extra

OPSET = 17


def input_channels(model: nn.Module) -> int:
    """The image channels ``model`` takes (its ``in_chans``), from its pretrained_cfg or its first convolution."""
    cfg = getattr(model, "pretrained_cfg", None)
    if cfg and "input_size" in cfg:
        return int(cfg["input_size"][0])
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    return first.in_channels


def onnx_bytes(model: nn.Module, image_size: int, opset: int = OPSET, dynamo: bool = False) -> bytes:
    """The ONNX file of ``model`` for (batch, in_chans, image_size, image_size) inputs named ``images`` ->
    ``logits``."""
    require_extra("onnx", "ONNX export")
    model = model.eval()
    example = torch.randn(2, input_channels(model), image_size, image_size)
    with torch.no_grad():
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=4096)
            program = torch.onnx.export(model, (example,), dynamo=True, opset_version=max(opset, 18),
                                        input_names=["images"], output_names=["logits"],
                                        dynamic_shapes={"x": {0: batch}})  # fmt: skip
            buffer = io.BytesIO()
            program.save(buffer)  # type: ignore[union-attr]
            return buffer.getvalue()
        buffer = io.BytesIO()
        dynamic = {"images": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset, input_names=["images"],
                          output_names=["logits"], dynamic_axes=dynamic)  # fmt: skip
        return buffer.getvalue()


def max_difference(model: nn.Module, onnx_model: bytes, image_size: int, batch: int = 3) -> float:
    """Largest |onnxruntime - PyTorch| over the logits of a random batch (of another size than the export's).

    PyTorch runs the eager attention path, the one the exporter recorded: the paths agree only to float32 rounding,
    which sixteen augmented layers of a large model can grow past the check's tolerance.
    """
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    images = torch.randn(batch, input_channels(model), image_size, image_size)
    with torch.no_grad(), using_attention_impl(model, "eager"):
        expected = model.eval()(images).numpy()
    (got,) = session.run(None, {session.get_inputs()[0].name: images.numpy()})
    return float(abs(got - expected).max())


def export_onnx(
    checkpoint: str | Path, output: str | Path | None = None, ema: bool = False, dynamo: bool = False
) -> dict[str, Any]:
    """Write ``<output>.onnx`` from a training checkpoint and check it with onnxruntime (1e-4 on the logits)."""
    model, meta = model_from_checkpoint(checkpoint, ema=ema)
    image_size = int(meta["image_size"])
    data = onnx_bytes(model, image_size, dynamo=dynamo)
    difference = max_difference(model, data, image_size)
    if difference > 1e-4:
        raise RuntimeError(f"the ONNX model differs from PyTorch by {difference:.2e} on the logits (tolerance 1e-4)")
    base = Path(output) if output else Path(checkpoint).with_suffix("")
    path = base.with_name(base.name.removesuffix(".onnx") + ".onnx")
    atomic_write_bytes(path, data)
    return {"onnx": str(path), "image_size": image_size, "max_difference": difference}
