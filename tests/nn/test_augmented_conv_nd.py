"""The operator on sequences and volumes: AugmentedConv1d and AugmentedConv3d carry the 2-D layer's guarantees:
equal to the brute-force reference (float64, values and gradients, property tests), translation equivariance away
from borders, dv = 0 equal to nn.Conv1d / nn.Conv3d, memory linear in the positions on the chunked path, and tracing,
torch.compile and ONNX as for 2-D."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aacn import AugmentedConv1d, AugmentedConv2d, AugmentedConv3d
from aacn.nn import using_attention_impl
from aacn.nn.attention import TILE_ELEMENTS, attend_nd
from reference import reference_augmented_conv

LAYERS = {1: AugmentedConv1d, 2: AugmentedConv2d, 3: AugmentedConv3d}
GRIDS = {1: (11,), 2: (5, 6), 3: (3, 4, 5)}


def _layer(dims: int, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    options = dict(dk=8, dv=8, num_heads=2, max_size=GRIDS[dims]) | kw
    return LAYERS[dims](12, 12, 3, **options).double()  # 12 input channels: sine encodings need 2N per axis set


@pytest.mark.parametrize("impl", ["eager", "chunked", "sdpa"])
@pytest.mark.parametrize("dims", [1, 3])
@pytest.mark.parametrize(("stride", "downsample"), [(1, False), (2, False), (1, True)])
@pytest.mark.parametrize("encoding", ["relative", "none", "coordconv", "sine"])
def test_matches_the_reference_and_every_path_has_the_same_gradients(
    dims: int, impl: str, stride: int, downsample: bool, encoding: str
) -> None:
    layer = _layer(dims, stride=stride, attn_downsample=downsample, position_encoding=encoding)
    x = torch.randn(2, 12, *GRIDS[dims], dtype=torch.float64, requires_grad=True)
    results = []
    for path in ("eager", impl):
        layer.attention_impl = path
        out = layer(x)
        torch.testing.assert_close(out, reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)
        grads = torch.autograd.grad(out.square().sum(), [x, *layer.parameters()])
        results.append(grads)
    for eager, other in zip(*results, strict=True):
        torch.testing.assert_close(other, eager, rtol=1e-9, atol=1e-11)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.sampled_from([1, 3]),
    sides=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    heads=st.sampled_from([1, 2]),
    stride=st.sampled_from([1, 2]),
    relative=st.booleans(),
    impl=st.sampled_from(["eager", "chunked", "auto"]),
    seed=st.integers(0, 2**16),
)
def test_property_random_layers_equal_the_reference(
    dims: int, sides: list[int], heads: int, stride: int, relative: bool, impl: str, seed: int
) -> None:
    torch.manual_seed(seed)
    grid = tuple(sides[:dims]) if dims == 3 else (sides[0] * sides[1],)
    table = tuple(s + 1 for s in grid)  # tables larger than the grid
    layer = LAYERS[dims](4, 6, 3, stride, dk=2 * heads, dv=2 * heads, num_heads=heads, relative=relative,
                         max_size=table, attention_impl=impl).double()  # fmt: skip
    x = torch.randn(2, 4, *grid, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dims", [1, 3])
def test_translation_equivariance_away_from_borders(dims: int) -> None:
    """A pattern moved on a zero background gets the same logit differences between its positions."""
    canvas_shape = {1: (20,), 3: (6, 7, 8)}[dims]
    pattern_shape = {1: (5,), 3: (2, 3, 2)}[dims]
    layer = LAYERS[dims](6, 12, 3, dk=8, dv=8, num_heads=2, max_size=canvas_shape).double()
    layer.capture_attention = True
    pattern = torch.randn(1, 6, *pattern_shape, dtype=torch.float64)

    def log_weights(corner: tuple[int, ...]) -> torch.Tensor:
        canvas = torch.zeros(1, 6, *canvas_shape, dtype=torch.float64)
        canvas[(slice(None), slice(None), *(slice(c, c + p) for c, p in zip(corner, pattern_shape, strict=True)))] = (
            pattern
        )
        layer(canvas)
        index = torch.arange(torch.tensor(canvas_shape).prod()).view(canvas_shape)
        rows = index[tuple(slice(c, c + p) for c, p in zip(corner, pattern_shape, strict=True))].flatten()
        w = layer.attention[0][:, rows][:, :, rows].log()
        return w - w[..., :1]

    near = (1,) * dims
    far = tuple(s - p - 1 for s, p in zip(canvas_shape, pattern_shape, strict=True))
    torch.testing.assert_close(log_weights(near), log_weights(far), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dims", [1, 3])
def test_dv_zero_is_the_plain_convolution(dims: int) -> None:
    layer = LAYERS[dims](5, 7, 3, 2, dk=8, dv=0, num_heads=2, bias=True)
    conv = {1: torch.nn.Conv1d, 3: torch.nn.Conv3d}[dims](5, 7, 3, 2, padding=1, bias=True)
    conv.load_state_dict({k.removeprefix("conv."): v for k, v in layer.state_dict().items()})
    x = torch.randn(2, 5, *GRIDS[dims])
    torch.testing.assert_close(layer(x), conv(x))
    assert {n for n, _ in layer.named_parameters()} == {"conv.weight", "conv.bias"}


def test_one_table_per_axis_named_after_it() -> None:
    shapes = {
        1: {"rel_l": (2 * 11 - 1, 4)},
        2: {"rel_h": (9, 4), "rel_w": (11, 4)},
        3: {"rel_d": (5, 4), "rel_h": (7, 4), "rel_w": (9, 4)},
    }
    for dims, tables in shapes.items():
        layer = _layer(dims)
        found = {n: tuple(p.shape) for n, p in layer.named_parameters() if n.startswith("rel_")}
        assert found == tables
    with pytest.raises(ValueError, match=r"max_size must be a positive int or 3 positive ints \(D, H, W\)"):
        AugmentedConv3d(4, 8, dk=4, dv=4, num_heads=2, max_size=(4, 4))
    with pytest.raises(ValueError, match=r"AugmentedConv1d expects a 3-D input \(B, C, L\), got shape \(2, 12, 4, 4"):
        _layer(1)(torch.randn(2, 12, 4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"attention grid side 12 exceeds the relative position table, made for at"):
        _layer(1)(torch.randn(2, 12, 12, dtype=torch.float64))


def test_chunked_memory_is_linear_in_a_long_sequence() -> None:
    """On a sequence of 4,096 positions, whose (T)^2 logits would be 16.8M values per head, no intermediate of the
    chunked path exceeds two tiles: a tile's C x T logits, and its queries' products with the table rows they reach,
    C x (T + C - 1) (the table window of the tile's offsets, not all 2T - 1 rows)."""
    from test_attention_paths import _LargestTensor

    length = 4096
    q, k, v = (torch.randn(1, 2, length, 4, requires_grad=True) for _ in range(3))
    table = torch.randn(2 * length - 1, 4, requires_grad=True)
    largest = _LargestTensor()
    with largest:
        out, _ = attend_nd(q, k, v, (length,), (table,), impl="chunked")
        torch.autograd.grad(out.sum(), (q, k, v, table))
    assert largest.numel <= 2 * TILE_ELEMENTS < length**2


@pytest.mark.parametrize("dims", [1, 3])
def test_tracing_export_and_compile(dims: int) -> None:
    layer = _layer(dims).float().eval()
    x = torch.randn(2, 12, *GRIDS[dims])
    with torch.no_grad(), using_attention_impl(layer, "eager"):
        expected = layer(x)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.trace(layer, x, check_trace=False)(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(torch.export.export(layer, (x,)).module()(x), expected, rtol=1e-5, atol=1e-5)
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), expected, rtol=1e-5, atol=1e-5)


def test_onnx_of_a_sequence_layer_matches_pytorch() -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    import io

    layer = _layer(1).float().eval()
    x = torch.randn(3, 12, 11)
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(layer, (x,), buffer, dynamo=False, opset_version=17, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})  # fmt: skip
        with using_attention_impl(layer, "eager"):
            expected = layer(x).numpy()
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x.numpy()})
    assert abs(got - expected).max() < 1e-4
