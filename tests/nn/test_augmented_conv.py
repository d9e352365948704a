"""AugmentedConv2d against the brute-force reference and against each bug of docs/paper.md's last section."""

from __future__ import annotations

import pytest
import torch

from aacn import AugmentedConv2d
from aacn.nn import attention_grid_size, ratio_depths, using_attention_impl
from reference import reference_attention, reference_augmented_conv


def make_layer(**kw) -> AugmentedConv2d:
    defaults = dict(in_channels=6, out_channels=12, dk=8, dv=8, num_heads=2, max_size=(5, 6))
    defaults.update(kw)
    args = (defaults.pop("in_channels"), defaults.pop("out_channels"))
    torch.manual_seed(0)
    layer = AugmentedConv2d(*args, **defaults).double()
    return layer


# ---------------------------------------------------------------- equality with the brute-force reference


@pytest.mark.parametrize("num_heads", [1, 2, 4])
@pytest.mark.parametrize("grid", [(3, 4), (4, 3), (1, 5), (5, 1), (4, 4), (5, 6)])
@pytest.mark.parametrize("relative", [True, False])
def test_matches_reference(num_heads: int, grid: tuple[int, int], relative: bool) -> None:
    layer = make_layer(dk=4 * num_heads, dv=2 * num_heads, num_heads=num_heads, relative=relative)
    x = torch.randn(2, 6, *grid, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


def test_matches_reference_with_bias_and_tables_larger_than_grid() -> None:
    layer = make_layer(bias=True, max_size=(9, 7), num_heads=4, dk=12, dv=8)
    x = torch.randn(3, 6, 2, 5, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


def test_captured_attention_matches_reference_weights() -> None:
    layer = make_layer(num_heads=4)
    x = torch.randn(2, 6, 3, 5, dtype=torch.float64)
    layer(x)
    assert layer.attention is None, "nothing may be kept unless asked for"
    layer.capture_attention = True
    layer(x)
    _, expected = reference_attention(layer, x)
    assert layer.attention.shape == (2, 4, 15, 15)
    torch.testing.assert_close(layer.attention, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(layer.attention.sum(-1), torch.ones(2, 4, 15, dtype=torch.float64))


def test_gradcheck_through_in_place_relative_logits() -> None:
    layer = make_layer(in_channels=3, out_channels=6, dk=4, dv=4, num_heads=2, max_size=(3, 4), bias=True)
    x = torch.randn(1, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())

    def fn(x, *ps):
        return torch.func.functional_call(
            layer, dict(zip([n for n, _ in layer.named_parameters()], ps, strict=False)), (x,)
        )

    assert torch.autograd.gradcheck(fn, (x, *params))


# ---------------------------------------------------------------- the public bugs, one test each


def test_output_reshape_keeps_pixels_and_channels() -> None:
    """Each pixel attends only to itself and v, W^O are identities: the output must equal the input exactly."""
    channels, heads, height, width = 4, 2, 3, 5
    layer = AugmentedConv2d(channels, channels, dk=4, dv=channels, num_heads=heads, max_size=(height, width), bias=True)
    layer = layer.double()
    with torch.no_grad():
        layer.qkv.weight.zero_()
        layer.qkv.bias.zero_()
        layer.qkv.bias[:4] = 1.0  # q = constant ones, k = 0: logits are the relative terms alone
        layer.qkv.weight[8:, :, 0, 0] = torch.eye(channels)  # v = x
        layer.proj.weight[:, :, 0, 0] = torch.eye(channels)
        layer.proj.bias.zero_()
        layer.rel_h.zero_()
        layer.rel_w.zero_()
        layer.rel_h[height - 1] = 100.0  # offset 0 along y
        layer.rel_w[width - 1] = 100.0  # offset 0 along x
    x = torch.arange(channels * height * width, dtype=torch.float64).reshape(1, channels, height, width)
    torch.testing.assert_close(layer(x), x, rtol=0, atol=1e-9)


def test_heads_own_contiguous_channel_blocks() -> None:
    """Changing only head 1's query rows changes only head 1's output channels [dvh, 2*dvh)."""
    layer = make_layer(num_heads=4, dk=8, dv=8, out_channels=8)  # fully attentional: output = W^O(heads)
    with torch.no_grad():
        layer.proj.weight[:, :, 0, 0] = torch.eye(8, dtype=torch.float64)
    x = torch.randn(2, 6, 3, 4, dtype=torch.float64)
    before = layer(x)
    with torch.no_grad():
        layer.qkv.weight[2:4] += torch.randn_like(layer.qkv.weight[2:4])  # head 1's q channels (dkh = 2)
    after = layer(x)
    changed = (after - before).abs().amax(dim=(0, 2, 3)) > 1e-9
    assert changed.tolist() == [False, False, True, True, False, False, False, False]


def test_relative_logits_differ_per_head() -> None:
    """With content logits zeroed (k = 0), attention comes from q . r alone and must still differ between heads."""
    layer = make_layer(num_heads=2, dk=8, dv=4)
    with torch.no_grad():
        layer.qkv.weight[8:16] = 0.0  # k = 0
    layer.capture_attention = True
    layer(torch.randn(1, 6, 4, 5, dtype=torch.float64))
    weights = layer.attention[0]
    uniform = torch.full_like(weights[0], 1 / 20)
    assert not torch.allclose(weights[0], uniform), "relative logits must shape the attention"
    assert not torch.allclose(weights[0], weights[1]), "heads must get their own relative logits"


def test_relative_tables_are_trained_parameters() -> None:
    layer = make_layer()
    names = dict(layer.named_parameters())
    assert names["rel_h"].shape == (2 * 5 - 1, 4) and names["rel_w"].shape == (2 * 6 - 1, 4)
    before_h, before_w = layer.rel_h.detach().clone(), layer.rel_w.detach().clone()
    tables = (layer.rel_h, layer.rel_w)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    layer(torch.randn(2, 6, 4, 5, dtype=torch.float64)).square().sum().backward()
    assert (layer.rel_h, layer.rel_w) == tables, "forward must not create new tables"
    assert layer.rel_h.grad.abs().sum() > 0 and layer.rel_w.grad.abs().sum() > 0
    # rows for offsets that a 4x5 grid cannot produce get no gradient
    assert layer.rel_h.grad[0].abs().sum() == 0 and layer.rel_h.grad[-1].abs().sum() == 0
    optimizer.step()
    assert not torch.equal(layer.rel_h, before_h) and not torch.equal(layer.rel_w, before_w)


def test_translation_equivariance_away_from_borders() -> None:
    """A pattern moved on a zero background gets the same logit differences between its pixels.

    Weight ratios w_ij / w_ik = exp(l_ij - l_ik) do not depend on the softmax normaliser, so they compare the
    logits of pixel pairs of the pattern wherever it sits, borders or not.
    """
    layer = make_layer(max_size=(10, 12), num_heads=2)
    layer.capture_attention = True
    pattern = torch.randn(1, 6, 3, 4, dtype=torch.float64)

    def log_weights(top: int, left: int) -> torch.Tensor:
        canvas = torch.zeros(1, 6, 10, 12, dtype=torch.float64)
        canvas[..., top : top + 3, left : left + 4] = pattern
        layer(canvas)
        rows = [(top + y) * 12 + left + x for y in range(3) for x in range(4)]
        w = layer.attention[0][:, rows][:, :, rows].log()  # (Nh, 12, 12) among the pattern's pixels
        return w - w[..., :1]  # logit differences against the pattern's first pixel

    torch.testing.assert_close(log_weights(1, 2), log_weights(6, 7), rtol=1e-9, atol=1e-9)


def test_no_in_place_modification_of_split_views_breaks_autograd() -> None:
    layer = AugmentedConv2d(8, 16, dk=16, dv=8, num_heads=4, max_size=(6, 6))
    x = torch.randn(2, 8, 6, 6, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in layer.parameters())


# ---------------------------------------------------------------- special cases of the contract


def test_dv_zero_is_a_plain_conv_with_the_same_weights() -> None:
    layer = AugmentedConv2d(5, 7, 3, 2, dk=8, dv=0, num_heads=2, bias=True)
    assert set(dict(layer.named_parameters())) == {"conv.weight", "conv.bias"}
    conv = torch.nn.Conv2d(5, 7, 3, 2, padding=1)
    conv.load_state_dict({k.removeprefix("conv."): v for k, v in layer.state_dict().items()})
    x = torch.randn(2, 5, 9, 8)
    torch.testing.assert_close(layer(x), conv(x))


def test_fully_attentional_has_no_conv_branch() -> None:
    layer = make_layer(out_channels=8, dv=8)
    assert layer.conv is None and "conv.weight" not in layer.state_dict()
    x = torch.randn(1, 6, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


def test_state_dict_contract() -> None:
    layer = AugmentedConv2d(16, 32, 3, dk=24, dv=8, num_heads=4, max_size=(7, 5))
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert shapes == {
        "conv.weight": (24, 16, 3, 3),
        "qkv.weight": (56, 16, 1, 1),
        "proj.weight": (8, 8, 1, 1),
        "rel_h": (13, 6),
        "rel_w": (9, 6),
    }
    content_only = AugmentedConv2d(16, 32, 3, dk=24, dv=8, num_heads=4, relative=False)
    assert "rel_h" not in content_only.state_dict()


def test_table_init_std() -> None:
    torch.manual_seed(0)
    layer = AugmentedConv2d(8, 64, dk=512, dv=32, num_heads=2, max_size=(200, 200))  # dkh = 256
    assert layer.rel_h.std().item() == pytest.approx(256**-0.5, rel=0.05)
    assert abs(layer.rel_h.mean().item()) < 0.01


@pytest.mark.parametrize("size", [(7, 7), (9, 5), (13, 6), (1, 7), (8, 8)])
@pytest.mark.parametrize("stride", [2, 3])
def test_stride_and_odd_sizes(size: tuple[int, int], stride: int) -> None:
    grid = attention_grid_size(size, stride)
    layer = make_layer(stride=stride, max_size=grid)
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    y = layer(x)
    assert y.shape[-2:] == layer.conv(x).shape[-2:] == grid
    torch.testing.assert_close(y, reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("size", [(8, 8), (7, 9), (5, 3)])
@pytest.mark.parametrize("stride", [1, 2])
def test_attention_downsampling(size: tuple[int, int], stride: int) -> None:
    grid = attention_grid_size(size, stride, attn_downsample=True)
    layer = make_layer(stride=stride, attn_downsample=True, max_size=grid)
    x = torch.randn(2, 6, *size, dtype=torch.float64)
    layer.capture_attention = True
    y = layer(x)
    assert y.shape[-2:] == layer.conv(x).shape[-2:]
    assert layer.attention.shape[-1] == grid[0] * grid[1]
    torch.testing.assert_close(y, reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)


def test_grid_larger_than_tables_raises_unless_interpolating() -> None:
    layer = make_layer(max_size=(4, 4))
    with pytest.raises(ValueError, match=r"grid side 5 exceeds the relative position table, made for at most 4"):
        layer(torch.randn(1, 6, 5, 3, dtype=torch.float64))
    layer.interpolate_rel_pos = True
    assert layer(torch.randn(1, 6, 5, 7, dtype=torch.float64)).shape == (1, 12, 5, 7)


def test_interpolated_tables_keep_end_rows() -> None:
    from aacn.nn import table_for_length

    table = torch.randn(7, 3, dtype=torch.float64)  # made for length 4
    resized = table_for_length(table, 6, 4, True)
    assert resized.shape == (11, 3)
    torch.testing.assert_close(resized[[0, 5, 10]], table[[0, 3, 6]])  # offsets -max, 0, +max map onto themselves
    assert torch.equal(table_for_length(table, 4, 4, False), table)


# ---------------------------------------------------------------- ratios and errors


def test_from_ratios_follows_the_paper() -> None:
    assert ratio_depths(128, 0.2, 0.1, 8, 20) == (160, 8)  # AA-ResNet-50 stage 2: "k = 2v = 0.2"
    assert ratio_depths(512, 0.2, 0.1, 8, 20) == (160, 48)
    assert ratio_depths(640, 0.2, 0.1, 8, 20) == (160, 64)
    assert ratio_depths(256, 0.25, 0.25, 8, 0) == (64, 64)
    assert ratio_depths(100, 0.29, 0.29, 1, 0) == (29, 29)  # no float round-down to 28
    layer = AugmentedConv2d.from_ratios(64, 128, key_ratio=0.2, value_ratio=0.1, max_size=(4, 4))
    assert (layer.dk, layer.dv, layer.num_heads) == (160, 8, 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(dk=10, dv=8, num_heads=4), r"dk=10 is not divisible by num_heads=4"),
        (dict(dk=8, dv=6, num_heads=4), r"dv=6 is not divisible by num_heads=4"),
        (dict(dk=8, dv=40, num_heads=4), r"dv must lie in \[0, out_channels=32\], got dv=40"),
        (dict(dk=8, dv=8, num_heads=0), r"num_heads must be an int >= 1, got 0"),
        (dict(dk=0, dv=8, num_heads=4), r"key depth per head dk/num_heads = 0/4 is below 1"),
        (dict(dk=8, dv=8, num_heads=4, kernel_size=2), r"kernel_size must be a positive odd int"),
        (dict(dk=8, dv=8, num_heads=4, max_size=None), r"relative=True needs max_size=\(H, W\)"),
        (dict(dk=8, dv=8, num_heads=4, max_size=(0, 3)), r"max_size must be a positive int or 2 positive ints"),
    ],
)
def test_construction_errors(kwargs: dict, message: str) -> None:
    kwargs.setdefault("max_size", (4, 4))
    with pytest.raises(ValueError, match=message):
        AugmentedConv2d(16, 32, **kwargs)


def test_ratio_errors() -> None:
    with pytest.raises(ValueError, match=r"value_ratio must lie in \[0, 1\], got 2"):
        AugmentedConv2d.from_ratios(8, 16, key_ratio=0.2, value_ratio=2, max_size=4)
    with pytest.raises(ValueError, match=r"key_ratio must be > 0, got 0"):
        AugmentedConv2d.from_ratios(8, 16, key_ratio=0, value_ratio=0.1, max_size=4)


def test_wrong_input_channels_is_a_clear_error() -> None:
    layer = AugmentedConv2d(8, 16, dk=8, dv=8, num_heads=2, max_size=4)
    with pytest.raises(ValueError, match=r"built for 8 input channels but got 3 .*in_channels=3"):
        layer(torch.randn(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expects a 4-D input"):
        layer(torch.randn(8, 4, 4))


# ---------------------------------------------------------------- tooling: fx, compile, memory format, autocast


def test_fx_symbolic_trace() -> None:
    layer = make_layer(stride=2, attn_downsample=True, max_size=(3, 3)).float()
    traced = torch.fx.symbolic_trace(layer)
    x = torch.randn(2, 6, 9, 11)
    torch.testing.assert_close(traced(x), layer(x))
    with pytest.raises(ValueError, match="exceeds the relative position table"):
        traced(torch.randn(2, 6, 15, 11))


def test_channels_last_input() -> None:
    layer = make_layer().float()
    x = torch.randn(2, 6, 5, 6)
    expected = layer(x)
    layer = layer.to(memory_format=torch.channels_last)
    torch.testing.assert_close(layer(x.to(memory_format=torch.channels_last)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast(dtype: torch.dtype) -> None:
    layer = make_layer(num_heads=2, dk=16, dv=8).float()
    x = torch.randn(2, 6, 5, 6)
    expected = layer(x)
    with torch.autocast("cpu", dtype=dtype):
        y = layer(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), expected, rtol=0.05, atol=0.05)
    y.float().sum().backward()
    assert torch.isfinite(layer.rel_h.grad).all()


@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.slow)])
def test_torch_compile_fullgraph(backend: str) -> None:
    """fullgraph=True fails on any graph break in the layer; inductor also generates and runs real kernels."""
    torch._dynamo.reset()
    layer = make_layer(stride=2, max_size=(3, 3)).float()
    compiled = torch.compile(layer, fullgraph=True, backend=backend)
    x = torch.randn(2, 6, 6, 5, requires_grad=True)
    with using_attention_impl(layer, "eager"):  # what the compiled graph records
        expected = layer(x)
    torch.testing.assert_close(compiled(x), expected, rtol=1e-5, atol=1e-5)
    compiled(x).sum().backward()
    assert layer.rel_w.grad is not None and x.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    layer = make_layer(stride=2, attn_downsample=True, max_size=(3, 3))
    x = torch.randn(2, 6, 9, 10, dtype=torch.float64)
    torch.testing.assert_close(layer.cuda()(x.cuda()).cpu(), layer.cpu()(x), rtol=1e-9, atol=1e-9)


def test_attention_grid_size() -> None:
    assert attention_grid_size(56, 2, attn_downsample=True) == (14, 14)
    assert attention_grid_size((7, 9), 2) == (4, 5)
    assert attention_grid_size(32) == (32, 32)


def test_device_and_dtype_like_conv2d() -> None:
    layer = AugmentedConv2d(4, 8, 3, dk=4, dv=4, num_heads=2, max_size=5, dtype=torch.float64, device="meta")
    assert {p.dtype for p in layer.parameters()} == {torch.float64}
    assert {p.device.type for p in layer.parameters()} == {"meta"}
    assert {n for n, _ in layer.named_parameters()} == {"conv.weight", "qkv.weight", "proj.weight", "rel_h", "rel_w"}
    out = layer(torch.randn(2, 4, 5, 5, dtype=torch.float64, device="meta"))
    assert out.shape == (2, 8, 5, 5) and out.dtype == torch.float64
