"""Every attention path computes the same function: chunked vs eager vs brute force, values and all gradients."""

from __future__ import annotations

import pytest
import torch

from aacn import AugmentedConv2d, create_model
from aacn.bench.appendix_baseline import appendix_forward
from aacn.nn.attention import (
    CHUNKED_MIN_TOKENS,
    TILE_ELEMENTS,
    attend,
    default_tile_matrices,
    default_tile_rows,
    relative_attention,
)
from aacn.nn.chunked_attention import LOGIT_FORMS, chunked_relative_attention, default_logit_form, work_dtype
from reference import reference_augmented_conv

KEPT = 4  # ChunkedRelativeAttention saves (q, k, v, out, kept softmax or None, *tables)


def _inputs(batch=2, heads=3, height=4, width=5, dk=6, dv=2, relative=True):
    torch.manual_seed(0)
    tokens = height * width
    make = lambda *shape: torch.randn(*shape, dtype=torch.float64, requires_grad=True)  # noqa: E731
    q, k, v = make(batch, heads, tokens, dk), make(batch, heads, tokens, dk), make(batch, heads, tokens, dv)
    tables = (make(2 * height - 1, dk), make(2 * width - 1, dk)) if relative else (None, None)
    return q, k, v, tables


def _assert_same_values_and_gradients(got: torch.Tensor, expected: torch.Tensor, inputs: list[torch.Tensor]) -> None:
    """Equal outputs and equal gradients w.r.t. every input for the same upstream gradient (float64 tolerances)."""
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    upstream = torch.randn_like(expected)
    for a, b in zip(
        torch.autograd.grad(got, inputs, upstream), torch.autograd.grad(expected, inputs, upstream), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", LOGIT_FORMS)
@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize(
    ("height", "width", "tile_rows", "tile_matrices", "keep"),
    [
        (4, 5, 7, None, False),
        (4, 5, 20, 4, False),
        (4, 5, 20, 4, True),
        (4, 5, 3, 1, False),
        (1, 9, 4, 5, False),
        (6, 1, 1, None, False),
        (5, 5, 64, 2, False),
        (5, 5, 64, 4, True),
    ],
)
def test_chunked_equals_eager_with_gradients(
    relative: bool, height: int, width: int, tile_rows: int, tile_matrices: int | None, keep: bool, form: str
) -> None:
    """Tiles of ``tile_matrices`` of the 6 (batch x head) matrices x ``tile_rows`` query rows, uneven ends included;
    with ``keep`` the softmax is kept for backward instead of recomputed; both ways of adding the relative logits."""
    q, k, v, (rel_h, rel_w) = _inputs(height=height, width=width, relative=relative)
    inputs = [t for t in (q, k, v, rel_h, rel_w) if t is not None]
    expected, _ = relative_attention(q, k, v, height, width, rel_h, rel_w)
    got = chunked_relative_attention(
        q, k, v, height, width, rel_h, rel_w, tile_rows, tile_matrices, keep_probabilities=keep, logit_form=form
    )
    kept = got.grad_fn.saved_tensors[KEPT] if hasattr(got.grad_fn, "saved_tensors") else None
    assert (kept is not None) == keep, "the softmax is kept exactly when asked for"
    _assert_same_values_and_gradients(got, expected, inputs)


@pytest.mark.parametrize("form", LOGIT_FORMS)
def test_chunked_gradcheck(form: str) -> None:
    q, k, v, (rel_h, rel_w) = _inputs(height=3, width=4)
    assert torch.autograd.gradcheck(
        lambda *t: chunked_relative_attention(t[0], t[1], t[2], 3, 4, t[3], t[4], 5, logit_form=form),
        (q, k, v, rel_h, rel_w),
    )


def test_the_logit_form_follows_the_dtype_and_bad_forms_are_refused() -> None:
    """Low precision (the autocast dtypes) adds the relative logits as key columns, in its own precision; float32
    and float64 build the bias in at least float32."""
    assert default_logit_form(torch.bfloat16) == default_logit_form(torch.float16) == "columns"
    assert default_logit_form(torch.float32) == default_logit_form(torch.float64) == "bias"
    assert work_dtype(torch.bfloat16) == torch.bfloat16 and work_dtype(torch.float64) == torch.float64
    q, k, v, (rel_h, rel_w) = _inputs()
    with pytest.raises(ValueError, match=r"logit_form must be one of bias, columns or None, got .skew."):
        chunked_relative_attention(q, k, v, 4, 5, rel_h, rel_w, logit_form="skew")


@pytest.mark.parametrize("tile_rows", [40, 7])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_is_as_accurate_as_eager_under_autocast(dtype: torch.dtype, tile_rows: int) -> None:
    """In bfloat16 / float16 the chunked path (key columns, in that dtype) is within the error eager attention makes
    under autocast, for the output and every gradient, measured against float64; with one tile per matrix and with
    the gradients of k, v and the tables summed over row tiles."""
    q, k, v, (rel_h, rel_w) = _inputs(batch=2, heads=4, height=5, width=8, dk=20, dv=4)
    inputs = (q, k, v, rel_h, rel_w)
    upstream = torch.randn(2, 4, 40, 4, dtype=torch.float64)
    truth, _ = relative_attention(q, k, v, 5, 8, rel_h, rel_w)
    truth_grads = torch.autograd.grad(truth, inputs, upstream)
    low = [t.detach().to(dtype).requires_grad_() for t in (q, k, v)]
    low += [t.detach().float().requires_grad_() for t in (rel_h, rel_w)]
    errors = []
    for path in ("eager", "chunked"):
        if path == "eager":
            with torch.autocast("cpu", dtype=dtype):
                out, _ = relative_attention(*low[:3], 5, 8, *low[3:])
        else:
            out = chunked_relative_attention(*low[:3], 5, 8, *low[3:], tile_rows=tile_rows)
        assert out.dtype == dtype
        grads = torch.autograd.grad(out, low, upstream.to(dtype))
        errors.append([float((a.detach().double() - b).abs().max() / b.abs().max()) for a, b in
                       zip((out, *grads), (truth, *truth_grads), strict=True)])  # fmt: skip
    eager, chunked = errors
    for name, mine, theirs in zip(("out", "q", "k", "v", "rel_h", "rel_w"), chunked, eager, strict=True):
        assert mine <= 2 * theirs + 1e-3, f"{name}: relative error {mine:.2e}, eager under autocast {theirs:.2e}"


@pytest.mark.parametrize("stride", [1, 2])
def test_layer_paths_match_the_brute_force_reference(stride: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64, requires_grad=True)
    outputs, grads = [], []
    for impl in ("eager", "chunked"):
        torch.manual_seed(1)
        layer = AugmentedConv2d(6, 12, stride=stride, dk=8, dv=8, num_heads=2, max_size=(9, 7), attention_impl=impl)
        layer = layer.double()
        out = layer(x)
        torch.testing.assert_close(out, reference_augmented_conv(layer, x), rtol=1e-10, atol=1e-10)
        out.square().sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in layer.parameters()] + [x.grad.clone()])
        x.grad = None
    for a, b in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_appendix_baseline_computes_the_same_function() -> None:
    """The benchmark's baseline is a faithful port: same outputs on the same weights."""
    torch.manual_seed(0)
    layer = AugmentedConv2d(6, 12, dk=8, dv=4, num_heads=2, max_size=(7, 8)).double()
    x = torch.randn(2, 6, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(appendix_forward(layer, x), layer(x), rtol=1e-10, atol=1e-12)


def _kept(out: torch.Tensor) -> bool:
    """Did the chunked path keep the softmax for backward (its saved tensor KEPT)?"""
    return out.grad_fn.saved_tensors[KEPT] is not None


def test_auto_dispatch() -> None:
    q, k, v, (rel_h, rel_w) = _inputs(height=4, width=5)
    _, weights = attend(q, k, v, 4, 5, rel_h, rel_w, need_weights=True, impl="chunked")
    assert weights is not None, "asking for the weights forces the eager path"
    out, weights = attend(q, k, v, 4, 5, rel_h, rel_w, impl="chunked")
    assert weights is None and out.grad_fn.name().startswith("ChunkedRelativeAttention")
    out, _ = attend(q, k, v, 4, 5, rel_h, rel_w)  # CPU: chunked; 20 tokens: the softmax is kept for backward
    assert out.grad_fn.name().startswith("ChunkedRelativeAttention") and _kept(out)
    out, _ = attend(q, k, v, 4, 5, rel_h, rel_w, impl="eager")
    assert "Chunked" not in out.grad_fn.name()
    size = int(CHUNKED_MIN_TOKENS**0.5) + 1
    q, k, v, (rel_h, rel_w) = _inputs(batch=1, heads=1, height=size, width=size, dk=2, dv=1)
    out, _ = attend(q, k, v, size, size, rel_h, rel_w)
    assert out.grad_fn.name().startswith("ChunkedRelativeAttention") and not _kept(out), "large grids recompute"
    out, _ = attend(q, k, v, size, size, rel_h, rel_w, impl="sdpa")
    assert "Chunked" not in out.grad_fn.name()
    with pytest.raises(
        ValueError, match=r"attention_impl must be one of auto, eager, chunked, flex, sdpa, got .flash."
    ):
        attend(q, k, v, size, size, impl="flash")
    # Tiles: whole matrices while they fit, about TILE_ELEMENTS logits per tile, linear in HW past that.
    for tokens in (16, 256, 784, 2025):
        rows = default_tile_rows(tokens)
        assert rows == tokens and default_tile_matrices(rows, tokens) == TILE_ELEMENTS // tokens**2
    rows = default_tile_rows(3136)
    assert rows < 3136 and rows * 3136 <= TILE_ELEMENTS and default_tile_matrices(rows, 3136) == 1
    assert default_tile_rows(10**6) == 16


def test_cuda_auto_takes_flex_and_falls_back_to_sdpa(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CUDA choice, run on CPU tensors: auto picks flex where it is usable, and when flex fails to build it
    warns once and computes the same result through SDPA, from then on without trying flex again."""
    from aacn.nn import attention, flex_attention

    q, k, v, (rel_h, rel_w) = _inputs(height=4, width=5)
    expected, _ = relative_attention(q, k, v, 4, 5, rel_h, rel_w)
    cuda = torch.device("cuda")
    monkeypatch.setattr(flex_attention, "flex_usable_on", lambda device: device.type == "cuda")
    monkeypatch.setattr(attention, "_flex_failed", None)
    assert attention._auto_impl(cuda) == "flex" and attention._auto_impl(torch.device("cpu")) == "chunked"
    assert attention._auto_impl(cuda, torch.float64) == "sdpa", "flex kernels are not built for float64"
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("triton: no kernel for this shape")

    monkeypatch.setattr(flex_attention, "flex_relative_attention_nd", broken)
    with pytest.warns(RuntimeWarning, match=r"FlexAttention failed on cpu \(RuntimeError: triton: no kernel.*SDPA"):
        got = attention._flex_or_fallback(q, k, v, (4, 5), (rel_h, rel_w), fallback=True)
    torch.testing.assert_close(got, expected)
    assert attention._auto_impl(cuda) == "sdpa" and calls == [1]
    with pytest.raises(RuntimeError, match="no kernel"):  # asked for by name: the error, not a fallback
        attention._flex_or_fallback(q, k, v, (4, 5), (rel_h, rel_w), fallback=False)
    # auto's SDPA choice is carried out (not the CPU chunked path) and computes the same function
    monkeypatch.setattr(attention, "_auto_impl", lambda device, dtype: "sdpa")
    got, _ = attend(q, k, v, 4, 5, rel_h, rel_w)
    assert "Chunked" not in got.grad_fn.name()
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("relative", [True, False])
def test_sdpa_equals_eager_with_gradients(relative: bool) -> None:
    q, k, v, (rel_h, rel_w) = _inputs(height=3, width=5, relative=relative)
    inputs = [t for t in (q, k, v, rel_h, rel_w) if t is not None]
    expected, _ = relative_attention(q, k, v, 3, 5, rel_h, rel_w)
    got, _ = attend(q, k, v, 3, 5, rel_h, rel_w, impl="sdpa")
    _assert_same_values_and_gradients(got, expected, inputs)


def test_flex_head_dim_padding() -> None:
    from aacn.nn.flex_attention import supported_head_dim

    assert [supported_head_dim(n) for n in (1, 6, 16, 17, 20, 32, 33)] == [16, 16, 16, 32, 32, 32, 64]


def test_chunked_under_autocast_and_no_grad() -> None:
    layer = AugmentedConv2d(8, 16, dk=16, dv=8, num_heads=2, max_size=20, attention_impl="chunked")
    x = torch.randn(2, 8, 17, 19)
    expected = layer(x)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), expected)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), expected, rtol=0.05, atol=0.05)
    y.float().sum().backward()
    assert torch.isfinite(layer.rel_h.grad).all()


def test_model_trains_the_same_on_both_paths() -> None:
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for impl in ("eager", "chunked"):
        torch.manual_seed(0)
        model = create_model("aa_resnet18_cifar").double()
        for module in model.modules():
            if isinstance(module, AugmentedConv2d):
                module.attention_impl = impl
        model(x.double()).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-8, atol=1e-10)


def test_bad_attention_options() -> None:
    with pytest.raises(ValueError, match=r"attention_impl must be one of auto, eager, chunked, flex, sdpa, got .fast."):
        AugmentedConv2d(4, 8, dk=4, dv=4, num_heads=2, max_size=4, attention_impl="fast")
    with pytest.raises(ValueError, match=r"tile_rows must be a positive int or None"):
        AugmentedConv2d(4, 8, dk=4, dv=4, num_heads=2, max_size=4, tile_rows=0)
    with pytest.warns(DeprecationWarning, match="tile_rows"):
        assert AugmentedConv2d(4, 8, dk=4, dv=4, num_heads=2, max_size=4, chunk_size=3).tile_rows == 3


def test_benchmark_harness_measures_every_case() -> None:
    from aacn.bench.harness import Harness, format_measurements
    from aacn.bench.layer import bench_layer

    rows = bench_layer(Harness(torch.device("cpu"), repeats=1), batch=2, channels=16, size=8, dk=16, dv=8, heads=2)
    assert [r.case for r in rows] == ["appendix baseline", "aacn eager", "aacn chunked", "aacn sdpa"]
    assert rows[0].time_ratio == 1.0 and all(r.ms > 0 and r.time_ratio is not None for r in rows)
    assert all(r.peak_mb is not None for r in rows)
    assert "| appendix baseline |" in format_measurements(rows)


@pytest.mark.slow
@pytest.mark.skipif(
    not __import__("aacn.nn.flex_attention", fromlist=["x"]).flex_available(), reason="no FlexAttention in this torch"
)
def test_flex_path_forward_equals_eager_on_cpu() -> None:
    """PyTorch runs FlexAttention forward-only on CPU: check the score_mod there, with the head dims as they come
    and zero-padded to the CUDA kernels' sizes (dkh 20 -> 32, dvh 3 -> 16); training needs CUDA."""
    from aacn.nn.flex_attention import flex_relative_attention

    torch.manual_seed(0)
    layer = AugmentedConv2d(8, 16, dk=16, dv=8, num_heads=2, max_size=(6, 7))
    x = torch.randn(2, 8, 6, 7)
    with torch.no_grad():
        expected = layer(x)
        layer.attention_impl = "flex"
        torch.testing.assert_close(layer(x), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="forward-only on CPU"):
        layer(x)
    q, k, v, rel_h, rel_w = (t.detach().float() for t in _flat(_inputs(dk=20, dv=3)))
    with torch.no_grad():
        reference, _ = relative_attention(q, k, v, 4, 5, rel_h, rel_w)
        for pad in (False, True):
            got = flex_relative_attention(q, k, v, 4, 5, rel_h, rel_w, pad_head_dims=pad)
            assert got.shape == reference.shape
            torch.testing.assert_close(got, reference, rtol=1e-4, atol=1e-5)


def _flat(inputs):  # (q, k, v, (rel_h, rel_w)) -> (q, k, v, rel_h, rel_w)
    q, k, v, (rel_h, rel_w) = inputs
    return q, k, v, rel_h, rel_w


@pytest.mark.slow
def test_bench_command_times_here_and_measures_memory_in_a_child(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from aacn.cli import main

    argv = ["bench", "--model", "aa_resnet18_cifar", "--repeats", "2", "--batch-size", "2", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["benchmarks"]
    assert [r["case"] for r in rows] == ["resnet18_cifar", "aa_resnet18_cifar", "aa_resnet18_cifar eager"]
    assert all(r["ms"] > 0 and r["peak_mb"] is not None and r["peak_mb"] > 0 for r in rows)
    assert rows[0]["time_ratio"] == 1.0 and rows[1]["memory_ratio"] is not None


class _LargestTensor(torch.utils._python_dispatch.TorchDispatchMode):
    """Records the largest tensor any aten op returns while active: the biggest intermediate of a computation."""

    def __init__(self) -> None:
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.numel = max(self.numel, t.numel())
        return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("size", [48, 64])
def test_chunked_memory_is_linear_in_the_grid(size: int, dtype: torch.dtype) -> None:
    """From 256 tokens on, no intermediate of the chunked path, forward or backward, exceeds one tile (about
    TILE_ELEMENTS values), and it saves for backward only tensors linear in HW; eager's largest is (HW)^2. In both
    logit forms (bfloat16 takes the key columns)."""
    tokens = size * size
    q, k, v, rel_h, rel_w = (t.detach().to(dtype).requires_grad_() for t in _flat(_inputs(1, 2, size, size, 4, 1)))
    saved: list[int] = []
    largest = _LargestTensor()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t, lambda t: t), largest:
        out, _ = attend(q, k, v, size, size, rel_h, rel_w, impl="chunked")
        torch.autograd.grad(out.sum(), (q, k, v, rel_h, rel_w))
    assert largest.numel <= TILE_ELEMENTS < 2 * tokens**2
    assert max(saved) <= 2 * tokens * 4, "only q, k, v, the tables and the output are kept: O(HW)"
    eager = _LargestTensor()
    with eager:
        relative_attention(q, k, v, size, size, rel_h, rel_w)
    assert eager.numel == 2 * tokens**2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("impl", ["auto", "chunked", "sdpa", "flex"])
@pytest.mark.parametrize("size", [(7, 7), (14, 14), (28, 28)])
def test_cuda_paths_train_like_eager(impl: str, size: tuple[int, int]) -> None:
    """On a GPU: every path's output and gradients equal the eager path's (float32, the paper's head dims dkh = 20 and
    dvh = 1 included), and auto takes FlexAttention without falling back."""
    import warnings

    from aacn.nn import attention
    from aacn.nn.flex_attention import flex_usable_on

    if impl == "flex" and not flex_usable_on(torch.device("cuda")):
        pytest.skip("no FlexAttention/Triton here")
    torch.manual_seed(0)
    layer = AugmentedConv2d(16, 32, dk=160, dv=8, num_heads=8, max_size=size).cuda()
    x = torch.randn(4, 16, *size, device="cuda", requires_grad=True)
    results = []
    for path in ("eager", impl):
        layer.attention_impl = path
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a flex fallback under auto would warn
            out = layer(x)
        out.square().sum().backward()
        results.append([out.detach()] + [p.grad.clone() for p in layer.parameters()] + [x.grad.clone()])
        layer.zero_grad()
        x.grad = None
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(b, a, rtol=2e-3, atol=2e-4)
    if impl == "auto" and flex_usable_on(torch.device("cuda")):
        assert attention._flex_failed is None
