"""The model zoo: parameter counts against the paper and torchvision, placement of the AA convs, forward/backward."""

from __future__ import annotations

import pytest
import torch
import torchvision

from aacn import AugmentedConv2d, create_model, list_models
from aacn.models.registry import get_spec

# (model, paper's params in millions, tolerance in millions)
PAPER_PARAMS = [
    ("resnet34", 21.8, 0.05),
    ("aa_resnet34", 20.7, 0.05),
    ("resnet50", 25.6, 0.05),
    ("aa_resnet50", 25.8, 0.05),
    ("resnet101", 44.5, 0.05),
    ("aa_resnet101", 45.4, 0.05),
    ("resnet152", 60.2, 0.05),
    ("aa_resnet152", 61.6, 0.05),
    ("aa_wrn28_10", 36.2, 0.2),
]


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_meta(name: str, **overrides) -> torch.nn.Module:
    with torch.device("meta"):
        return create_model(name, **overrides)


@pytest.mark.parametrize(("name", "params_m", "tol"), PAPER_PARAMS)
def test_params_match_the_paper(name: str, params_m: float, tol: float) -> None:
    assert abs(count(build_meta(name)) / 1e6 - params_m) <= tol


@pytest.mark.parametrize(
    ("ratio", "params_m"), [(0.25, 24.3), (0.5, 22.3), (0.75, 20.7), (1.0, 19.4)]
)  # arXiv v1 ablation, k = v
def test_key_value_ratio_ablation_params(ratio: float, params_m: float) -> None:
    model = build_meta("aa_resnet50", key_ratio=ratio, value_ratio=ratio)
    assert abs(count(model) / 1e6 - params_m) <= 0.05


def test_fully_attentional_ablation_has_no_conv_branch_in_augmented_stages() -> None:
    model = build_meta("aa_resnet50", key_ratio=1.0, value_ratio=1.0)
    layers = [m for m in model.modules() if isinstance(m, AugmentedConv2d)]
    assert len(layers) == 4 + 6 + 3 and all(layer.conv is None for layer in layers)


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_plain_resnet_is_torchvision_resnet(depth: int) -> None:
    """Same parameter names and shapes as torchvision (so its weights load), hence the same counts."""
    with torch.device("meta"):
        ours = create_model(f"resnet{depth}")
        theirs = getattr(torchvision.models, f"resnet{depth}")()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    assert count(ours) == count(theirs)


def test_plain_resnet_computes_what_torchvision_computes() -> None:
    theirs = torchvision.models.resnet18().eval()
    ours = create_model("resnet18").eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 64, 80)
    torch.testing.assert_close(ours(x), theirs(x))


def test_resnet50_param_count_is_exact() -> None:
    assert count(build_meta("resnet50")) == 25_557_032


def augmented(model: torch.nn.Module) -> dict[str, AugmentedConv2d]:
    return {name: m for name, m in model.named_modules() if isinstance(m, AugmentedConv2d)}


def test_aa_resnet50_placement() -> None:
    layers = augmented(build_meta("aa_resnet50"))
    assert sorted(layers) == sorted(f"layer{s}.{b}.conv2" for s, n in ((2, 4), (3, 6), (4, 3)) for b in range(n))
    for name, layer in layers.items():
        stage = int(name[5])
        assert layer.num_heads == 8 and layer.dk == 160  # 20 key dims per head
        assert layer.dv == {2: 8, 3: 24, 4: 48}[stage]
        assert layer.attn_downsample == (stage == 2)
        # attention grids at 224: stage 2 at 28x28 downsampled to 14x14, stage 3 at 14x14, stage 4 at 7x7
        assert layer.max_size == {2: (14, 14), 3: (14, 14), 4: (7, 7)}[stage]
        assert layer.stride == (2 if name.endswith(".0.conv2") and stage > 1 else 1)


def test_aa_resnet34_placement() -> None:
    layers = augmented(build_meta("aa_resnet34"))
    assert sorted(layers) == sorted(f"layer{s}.{b}.conv1" for s, n in ((2, 4), (3, 6), (4, 3)) for b in range(n))
    layer = layers["layer3.0.conv1"]
    assert (layer.dk, layer.dv) == (160, 64)  # k = v = 0.25 of 256, keys raised to 20 per head


def test_aa_wrn_placement() -> None:
    layers = augmented(build_meta("aa_wrn28_10"))
    assert sorted(layers) == sorted(f"layer{s}.{b}.conv1" for s in (1, 2, 3) for b in range(4))
    assert layers["layer1.0.conv1"].attn_downsample and not layers["layer2.0.conv1"].attn_downsample
    assert layers["layer3.3.conv1"].dv == 64


def test_cifar_resnet_placement_and_stem() -> None:
    model = build_meta("aa_resnet18_cifar")
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    layers = augmented(model)
    assert sorted(layers) == sorted(f"layer{s}.{b}.conv1" for s in (2, 3, 4) for b in range(2))
    assert layers["layer2.0.conv1"].max_size == (16, 16) and not layers["layer2.0.conv1"].attn_downsample


def test_overrides_reach_every_layer() -> None:
    model = build_meta(
        "aa_resnet50", num_heads=4, aa_stages=[3], attn_downsample_stages=[], relative=False, num_classes=7
    )
    layers = augmented(model)
    assert len(layers) == 6 and all(k.startswith("layer3") for k in layers)
    assert all(m.num_heads == 4 and not m.relative and not m.attn_downsample for m in layers.values())
    assert model.fc.out_features == 7


def test_attention_impl_override_reaches_every_layer_and_computes_the_same() -> None:
    """attention_impl picks the code of every augmented layer (a run's --model-arg can name it, and config.yaml and
    the checkpoint record it), and the model computes what the eager path computes."""
    assert {m.attention_impl for m in augmented(build_meta("aa_wrn28_10", attention_impl="sdpa")).values()} == {"sdpa"}
    torch.manual_seed(0)
    model = create_model("aa_resnet18_cifar", num_classes=3, attention_impl="chunked").eval()
    layers = augmented(model)
    assert len(layers) == 6 and {m.attention_impl for m in layers.values()} == {"chunked"}
    assert model.create_args["overrides"] == {"attention_impl": "chunked"}
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        chunked = model(x)
        for layer in layers.values():
            layer.attention_impl = "eager"
        torch.testing.assert_close(chunked, model(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"attention_impl must be one of auto, eager, chunked, flex, sdpa, got 'fast'"):
        create_model("aa_resnet18_cifar", attention_impl="fast")


def test_override_errors_are_clear() -> None:
    with pytest.raises(ValueError, match=r"resnet50 is a plain model .*use aa_resnet50"):
        create_model("resnet50", key_ratio=0.3)
    with pytest.raises(ValueError, match=r"aa_resnet50 does not take override colour; it takes aa_stages, "):
        create_model("aa_resnet50", colour="red")
    with pytest.raises(ValueError, match=r"unknown model 'resnet51'; choose one of: resnet18"):
        create_model("resnet51")
    with pytest.raises(ValueError, match=r"num_classes must be a positive int, got 0"):
        create_model("resnet18", num_classes=0)
    with pytest.raises(
        ValueError, match=r"aa_stages must be a list of stage numbers from 1 to 3 \(a Wide-ResNet has 3 stages\)"
    ):
        create_model("aa_wrn28_10", aa_stages=[3, 4])
    with pytest.raises(ValueError, match=r"value_ratio must be a number in \[0, 1\], got 1.5"):
        create_model("aa_resnet50", value_ratio=1.5)
    for name in ("aa_resnet18_cifar", "aa_wrn28_10"):  # one side for a 2-D model: named, not a layer's max_size
        with pytest.raises(ValueError, match=r"input_size must be an int or a pair \[H, W\] .* got \[1\]"):
            build_meta(name, input_size=[1])


def test_list_models_has_design_names() -> None:
    names = list_models()
    for depth in (18, 34, 50, 101, 152):
        assert {
            f"resnet{depth}",
            f"aa_resnet{depth}",
            f"resnet{depth}_cifar",
            f"aa_resnet{depth}_cifar",
        } <= set(names)
    assert {"wrn28_10", "aa_wrn28_10"} <= set(names)


SMALL_INPUT = {"wrn28_10": 16, "aa_wrn28_10": 16}


@pytest.mark.parametrize("name", list_models())
def test_forward_backward_every_model(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=5)
    if get_spec(name).dims == 1:  # sequences (B, 1, L), shorter than the design length
        x = torch.randn(2, 1, 200)
    else:
        side = SMALL_INPUT.get(name, 64 if "cifar" not in name and "wrn" not in name else 16)
        x = torch.randn(2, 3, side, side + 8 if "cifar" in name else side)  # non-square where tables allow
    out = model(x)
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    out.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    # rel tables are used; everything gets a gradient
    assert not missing, missing


def test_larger_input_than_design_size_needs_interpolation() -> None:
    model = create_model("aa_resnet18_cifar", num_classes=3).eval()
    with pytest.raises(ValueError, match=r"exceeds the relative position table.*interpolate_rel_pos=True"):
        model(torch.randn(1, 3, 48, 48))
    model = create_model("aa_resnet18_cifar", num_classes=3, interpolate_rel_pos=True).eval()
    assert model(torch.randn(1, 3, 48, 48)).shape == (1, 3)
    bigger = create_model("aa_resnet18_cifar", num_classes=3, input_size=48).eval()
    assert bigger(torch.randn(1, 3, 48, 40)).shape == (1, 3)
