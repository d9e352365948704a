"""Property-based tests (hypothesis): the layer equals the brute-force reference, and every tiling of the chunked path
equals eager attention (values and gradients, float64), over random shapes, heads, strides and options."""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aacn import AugmentedConv2d
from aacn.nn import attention_grid_size
from aacn.nn.attention import relative_attention
from aacn.nn.chunked_attention import LOGIT_FORMS, chunked_relative_attention
from reference import reference_augmented_conv

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def layers_and_inputs(draw: st.DrawFn) -> tuple[AugmentedConv2d, torch.Tensor]:
    heads = draw(st.integers(1, 3))
    dkh, dvh = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    conv_channels = draw(st.integers(0, 3))
    in_channels = draw(st.integers(1, 4))
    stride = draw(st.sampled_from([1, 2, 3]))
    downsample = draw(st.booleans())
    relative = draw(st.booleans())
    height, width = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    grid = attention_grid_size((height, width), stride, downsample)
    extra = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))  # tables larger than the grid
    layer = AugmentedConv2d(
        in_channels,
        conv_channels + heads * dvh,
        kernel_size=draw(st.sampled_from([1, 3])),
        stride=stride,
        dk=heads * dkh,
        dv=heads * dvh,
        num_heads=heads,
        relative=relative,
        max_size=(grid[0] + extra[0], grid[1] + extra[1]),
        attn_downsample=downsample,
        bias=draw(st.booleans()),
        attention_impl=draw(st.sampled_from(["eager", "chunked", "auto"])),
        dtype=torch.float64,
    )
    torch.manual_seed(draw(st.integers(0, 2**16)))
    layer.reset_parameters()
    x = torch.randn(draw(st.integers(1, 2)), in_channels, height, width, dtype=torch.float64)
    return layer, x


@SETTINGS
@given(layers_and_inputs())
def test_the_layer_equals_the_brute_force_reference(case: tuple[AugmentedConv2d, torch.Tensor]) -> None:
    layer, x = case
    out = layer(x)
    expected = reference_augmented_conv(layer, x)
    assert out.shape == (
        x.shape[0],
        layer.out_channels,
        math.ceil(x.shape[2] / layer.stride),
        math.ceil(x.shape[3] / layer.stride),
    )
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)


@st.composite
def attention_inputs(draw: st.DrawFn) -> dict:
    batch, heads = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    tokens = height * width
    dkh, dvh = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    relative = draw(st.booleans())
    torch.manual_seed(draw(st.integers(0, 2**16)))
    make = lambda *shape: torch.randn(*shape, dtype=torch.float64, requires_grad=True)  # noqa: E731
    return {
        "q": make(batch, heads, tokens, dkh),
        "k": make(batch, heads, tokens, dkh),
        "v": make(batch, heads, tokens, dvh),
        "rel_h": make(2 * height - 1, dkh) if relative else None,
        "rel_w": make(2 * width - 1, dkh) if relative else None,
        "height": height,
        "width": width,
        "tile_rows": draw(st.integers(1, tokens + 2)),
        "tile_matrices": draw(st.one_of(st.none(), st.integers(1, batch * heads + 1))),
        "keep": draw(st.booleans()),
        "form": draw(st.sampled_from(LOGIT_FORMS)),
    }


@SETTINGS
@given(attention_inputs())
def test_every_tiling_of_the_chunked_path_equals_eager(case: dict) -> None:
    q, k, v, rel_h, rel_w = (case[name] for name in ("q", "k", "v", "rel_h", "rel_w"))
    inputs = [t for t in (q, k, v, rel_h, rel_w) if t is not None]
    expected, _ = relative_attention(q, k, v, case["height"], case["width"], rel_h, rel_w)
    got = chunked_relative_attention(
        q, k, v, case["height"], case["width"], rel_h, rel_w, case["tile_rows"], case["tile_matrices"],
        keep_probabilities=case["keep"], logit_form=case["form"],
    )  # fmt: skip
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    grad = torch.randn_like(expected)
    expected_grads = torch.autograd.grad(expected, inputs, grad)
    got_grads = torch.autograd.grad(got, inputs, grad)
    for mine, theirs in zip(got_grads, expected_grads, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-10)
