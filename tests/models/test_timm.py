"""aacn's models in timm's registry: names, both import orders, features_only, timm's kwargs and timm's loaders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch

import aacn
from aacn.models.timm import aacn_name, timm_name

AA_NAMES = [name for name in aacn.list_models() if name.startswith("aa_")]
PLAIN_NAMES = [name for name in aacn.list_models() if not name.startswith("aa_")]

BOTH_ORDERS = """
import sys
{first}
{second}
print("AA", ",".join(sorted(timm.list_models("aa_*"))))
print("PLAIN", ",".join(sorted(timm.list_models("aacn_*"))))
"""
AACN_ALONE = "import aacn\nassert 'timm' not in sys.modules  # aacn never imports timm (about 1.6 s, and torchvision)"


@pytest.mark.process
@pytest.mark.parametrize("aacn_first", [True, False], ids=["aacn-then-timm", "timm-then-aacn"])
def test_timm_lists_every_model_whichever_is_imported_first(tmp_path: Path, aacn_first: bool) -> None:
    if aacn_first:
        script = BOTH_ORDERS.format(first=AACN_ALONE, second="import timm")
    else:
        script = BOTH_ORDERS.format(first="import timm", second="import aacn")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["AA"].split(",") == sorted(AA_NAMES)
    assert lines["PLAIN"].split(",") == sorted(f"aacn_{name}" for name in PLAIN_NAMES)


@pytest.mark.process
def test_a_failing_registration_warns_and_leaves_timm_importable(tmp_path: Path) -> None:
    script = (
        "import warnings\nimport aacn.models.timm as hook\n"
        "def broken():\n    raise RuntimeError('planted')\n"
        "hook.register_timm_models = broken\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n    import timm\n"
        "print([str(w.message) for w in caught if 'aacn' in str(w.message)], timm.list_models('aa_*'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert "['aacn could not register its models with timm: planted'] []" in done.stdout


def test_names_leave_timms_own_models_alone() -> None:
    assert timm.models.model_entrypoint("resnet50").__module__ == "timm.models.resnet"
    for name in aacn.list_models():
        registered = timm_name(name)
        assert aacn_name(registered) == name
        assert timm.models.model_entrypoint(registered).__module__ == "aacn.models.timm"
    assert timm_name("resnet50") == "aacn_resnet50" and timm_name("aa_resnet50") == "aa_resnet50"
    with pytest.raises(ValueError, match="unknown model 'aacn_vit'"):
        aacn_name("aacn_vit")


@pytest.mark.parametrize("name", ["aa_resnet18_cifar", "resnet18_cifar", "aa_wrn28_10"])
def test_timm_builds_the_same_model_as_aacn(name: str) -> None:
    extra = {"num_heads": 4} if name.startswith("aa_") else {}
    torch.manual_seed(0)
    ours = aacn.create_model(name, num_classes=5, **extra)
    torch.manual_seed(0)
    theirs = timm.create_model(timm_name(name), num_classes=5, **extra)
    assert {k: v.shape for k, v in theirs.state_dict().items()} == {k: v.shape for k, v in ours.state_dict().items()}
    for key, value in ours.state_dict().items():
        torch.testing.assert_close(theirs.state_dict()[key], value, msg=key)  # same init, same order
    assert theirs.pretrained_cfg["architecture"] == timm_name(name)
    assert theirs.pretrained_cfg["paper_ids"] == "arXiv:1904.09925"
    config = timm.data.resolve_data_config({}, model=theirs)
    assert config["input_size"] == (3, 32, 32) and config["crop_pct"] == 1.0


def _feature_maps(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of each module feature_info names, caught by forward hooks during the model's own forward."""
    caught: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(info["module"]).register_forward_hook(
            lambda module, args, out, name=info["module"]: caught.setdefault(name, out.clone())
        )
        for info in model.feature_info
    ]
    model(x)
    for hook in hooks:
        hook.remove()
    return [caught[info["module"]] for info in model.feature_info]


@pytest.mark.parametrize(
    ("name", "size", "channels", "reductions"),
    [
        ("aa_resnet50", (64, 96), [256, 512, 1024, 2048], [4, 8, 16, 32]),
        ("aa_resnet18_cifar", (32, 24), [64, 128, 256, 512], [1, 2, 4, 8]),
        ("aa_wrn28_10", (32, 32), [160, 320, 640], [1, 2, 4]),
    ],
)
def test_features_only_gives_each_stage(
    name: str, size: tuple[int, int], channels: list[int], reductions: list[int]
) -> None:
    out_indices = tuple(range(1, len(channels) + 1))
    torch.manual_seed(0)
    backbone = timm.create_model(name, features_only=True, out_indices=out_indices).eval()
    torch.manual_seed(0)
    model = aacn.create_model(name).eval()
    assert backbone.feature_info.channels() == channels and backbone.feature_info.reduction() == reductions
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        features = backbone(x)
        expected = _feature_maps(model, x)
    for feature, reference, reduction in zip(features, expected[1:], reductions, strict=True):
        assert feature.shape[-2:] == (-(-size[0] // reduction), -(-size[1] // reduction))
        torch.testing.assert_close(feature, reference)
    torch.testing.assert_close(features[-1], model.forward_features(x), msg="the last map is forward_features'")


def test_timm_keyword_arguments() -> None:
    model = timm.create_model("aa_resnet18_cifar", img_size=(24, 40), in_chans=1, num_classes=3)
    assert model.attention_config.input_size == (24, 40) and model.conv1.weight.shape[1] == 1
    assert model(torch.randn(1, 1, 24, 40)).shape == (1, 3)
    plain = timm.create_model("aacn_resnet18_cifar", img_size=48)  # plain models take any size: ignored
    assert plain(torch.randn(1, 3, 48, 48)).shape == (1, 10)
    with pytest.raises(ValueError, match="pool by average only"):
        timm.create_model("aa_resnet18_cifar", global_pool="max")
    with pytest.raises(ValueError, match="does not take override drop_path_rate"):
        timm.create_model("aa_resnet18_cifar", drop_path_rate=0.1)


@pytest.mark.parametrize("name", ["aa_resnet18_cifar", "resnet18_cifar"])
def test_timm_loads_a_save_pretrained_folder(tmp_path: Path, name: str) -> None:
    model = aacn.create_model(name, num_classes=4, **({"input_size": [24, 40]} if name.startswith("aa_") else {}))
    with torch.no_grad():  # non-trivial batch-norm statistics, so a load that skipped them would show
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
    model.eval().save_pretrained(tmp_path)
    loaded = timm.create_model(f"local-dir:{tmp_path}", pretrained=True).eval()
    backbone = timm.create_model(f"local-dir:{tmp_path}", pretrained=True, features_only=True).eval()
    x = torch.randn(2, 3, 24, 40)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
        torch.testing.assert_close(backbone(x)[-1], model.forward_features(x))
    assert loaded.fc.out_features == 4 and loaded.pretrained_cfg["source"] == "local-dir"


@pytest.mark.parametrize("name", ["aa_resnet18", "aa_wrn28_10"])
def test_forward_intermediates_gives_the_feature_info_maps(name: str) -> None:
    torch.manual_seed(0)
    model = aacn.create_model(name, num_classes=4, num_heads=4).eval()
    x = torch.randn(2, 3, 24, 32)  # not square, within aa_wrn28_10's 32x32 tables
    count = len(model.feature_info)
    with torch.no_grad():
        expected = _feature_maps(model, x)
        final, maps = model.forward_intermediates(x)
        torch.testing.assert_close(final, model.forward_features(x))
        assert [m.shape[1] for m in maps] == [info["num_chs"] for info in model.feature_info]
        for got, want in zip(maps, expected, strict=True):
            torch.testing.assert_close(got, want)
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        torch.testing.assert_close(last_two[0], expected[-2])
        early = model.forward_intermediates(x, indices=[0, -3], stop_early=True, intermediates_only=True)
        torch.testing.assert_close(early[1], expected[count - 3])
        # the getter wrapper of timm runs forward_intermediates after pruning what the maps do not need
        getter = timm.create_model(
            timm_name(name), num_classes=4, num_heads=4, features_only=True, out_indices=(1, 2), feature_cls="getter"
        ).eval()
        getter.model.load_state_dict(model.state_dict(), strict=False)
        for got, want in zip(getter(x), expected[1:3], strict=True):
            torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match=f"must name maps 0 to {count - 1}"):
        model.forward_intermediates(x, indices=[count])
    with pytest.raises(ValueError, match="NCHW feature maps only"):
        model.forward_intermediates(x, output_fmt="NHWC")


def test_pruning_keeps_the_maps_asked_for_and_drops_the_rest() -> None:
    torch.manual_seed(0)
    model = aacn.create_model("aa_wrn28_10", num_heads=4).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = _feature_maps(model, x)
        params = sum(p.numel() for p in model.parameters())
        assert model.prune_intermediate_layers([1, 2]) == [1, 2]
        assert len(model.layer3) == 0 and isinstance(model.bn, torch.nn.Identity)
        assert isinstance(model.fc, torch.nn.Identity)
        assert sum(p.numel() for p in model.parameters()) < params / 2  # stage 3 holds most of the weights
        maps = model.forward_intermediates(x, indices=[1, 2], intermediates_only=True)
        for got, want in zip(maps, expected[1:3], strict=True):
            torch.testing.assert_close(got, want)
        assert model(x).shape == (1, 320) and model.num_features == 320  # the pooled features of what is left
        model.reset_classifier(7)
        assert model(x).shape == (1, 7)
