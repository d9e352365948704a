"""The Python API names its errors: AugmentedConv2d, create_model, from_pretrained and the timm and torch.hub entry
points raise aacn's documented types (subclasses of ValueError or FileNotFoundError) naming the argument or file,
never a KeyError or TypeError from inside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aacn import AugmentedConv2d, create_model, from_pretrained
from aacn.exchange import PretrainedError, PretrainedNotFoundError

# anything a user might pass where a number, a flag or a size is expected
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3), st.lists(st.integers(-2, 40), max_size=3), st.just(object()),
)  # fmt: skip
LAYER_ARGS = ("in_channels", "out_channels", "kernel_size", "stride", "dk", "dv", "num_heads", "relative",
              "max_size", "attn_downsample", "bias", "interpolate_rel_pos", "attention_impl", "tile_rows")  # fmt: skip
GOOD_LAYER = {"in_channels": 4, "out_channels": 8, "kernel_size": 3, "stride": 1, "dk": 4, "dv": 4, "num_heads": 2,
              "max_size": 6}  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(LAYER_ARGS), JUNK, min_size=1, max_size=3))
def test_the_layer_refuses_junk_with_a_value_error_naming_the_argument(junk: dict) -> None:
    arguments = {**GOOD_LAYER, **junk}
    try:
        AugmentedConv2d(**arguments)
    except ValueError as error:
        assert any(name in str(error) for name in junk), f"{error} names none of {sorted(junk)}"


MODEL_OPTIONS = ("key_ratio", "value_ratio", "num_heads", "min_key_dim_per_head", "aa_stages",
                 "attn_downsample_stages", "relative", "input_size", "interpolate_rel_pos", "in_chans",
                 "zero_init_residual", "num_classes", "colour")  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["aa_resnet18_cifar", "resnet18_cifar", "aa_wrn28_10"]),
       st.dictionaries(st.sampled_from(MODEL_OPTIONS), JUNK, min_size=1, max_size=2))  # fmt: skip
def test_create_model_refuses_junk_with_a_value_error(name: str, junk: dict) -> None:
    import torch

    try:
        with torch.device("meta"):
            create_model(name, **junk)
    except ValueError as error:
        assert any(key in str(error) for key in junk), f"{error} names none of {sorted(junk)}"


def test_unknown_models_and_classes_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown model 123"):
        create_model(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"num_classes must be a positive int, got 2.5"):
        create_model("resnet18_cifar", num_classes=2.5)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("safetensors")
    folder = tmp_path_factory.mktemp("saved")
    create_model("resnet18_cifar", num_classes=3).save_pretrained(folder)
    return folder


def _broken(saved: Path, tmp_path: Path, config: str | None = None, weights: bytes | None = None) -> Path:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text(config if config is not None else (saved / "config.json").read_text())
    (folder / "model.safetensors").write_bytes(
        weights if weights is not None else (saved / "model.safetensors").read_bytes()
    )
    return folder


@pytest.mark.parametrize(
    ("config", "weights", "kind", "message"),
    [
        ("{not json", None, PretrainedError, r"config.json is not an aacn model config"),
        ("[1, 2]", None, PretrainedError, r"config.json is not an aacn model config"),
        ('{"architecture": "aacn_resnet51", "num_classes": 3}', None, PretrainedError, r"unknown model"),
        ('{"architecture": "aacn_resnet18_cifar", "num_classes": 3, "model_args": [1]}', None, PretrainedError,
         r"model_args must be a mapping"),
        ('{"architecture": "aacn_resnet18_cifar", "num_classes": 0}', None, PretrainedError,
         r"does not build resnet18_cifar: num_classes must be a positive int"),
        ('{"architecture": "aacn_resnet18_cifar", "num_classes": 3, "model_args": {"key_ratio": 1}}', None,
         PretrainedError, r"does not build resnet18_cifar: resnet18_cifar is a plain model"),
        (None, b"truncated", PretrainedError, r"model.safetensors is not a readable safetensors file"),
        ('{"architecture": "aacn_resnet34_cifar", "num_classes": 3}', None, PretrainedError,
         r"model.safetensors does not fit resnet34_cifar"),
    ],
)  # fmt: skip
def test_from_pretrained_names_what_is_wrong_with_a_folder(
    saved: Path, tmp_path: Path, config: str | None, weights: bytes | None, kind: type, message: str
) -> None:
    folder = _broken(saved, tmp_path, config, weights)
    with pytest.raises(kind, match=message):
        from_pretrained(folder)


def test_a_missing_folder_or_file_is_a_file_not_found_error(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"is not a folder holding config.json and model.safetensors"):
        from_pretrained(tmp_path / "nothing-here")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PretrainedNotFoundError, match=r"holds no config.json or model.safetensors"):
        from_pretrained(empty)
    with pytest.raises(PretrainedError, match=r"takes a folder or a Hub id"):
        from_pretrained(42)  # type: ignore[arg-type]
    assert issubclass(PretrainedNotFoundError, FileNotFoundError) and issubclass(PretrainedError, ValueError)
    assert json.loads((saved / "config.json").read_text())["architecture"] == "aacn_resnet18_cifar"


def test_timm_and_hub_entry_points_name_missing_weights() -> None:
    timm = pytest.importorskip("timm")
    import aacn  # noqa: F401  (registers the models with timm)

    with pytest.raises(PretrainedError, match=r"aacn publishes no trained weights for aa_resnet18_cifar.*local-dir"):
        timm.create_model("aa_resnet18_cifar", pretrained=True)
    with pytest.raises(ValueError, match=r"aa_resnet18_cifar does not take override colour"):
        timm.create_model("aa_resnet18_cifar", colour="red")
    import torch

    repo = Path(__file__).resolve().parents[2]
    with pytest.raises(PretrainedError, match=r"aacn publishes no trained weights for resnet18_cifar"):
        torch.hub.load(str(repo), "resnet18_cifar", source="local", pretrained=True, trust_repo=True)
