"""Training configuration: defaults, then a recipe (YAML), then command-line flags; saved as ``config.yaml``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

# The recipes ship inside the package (aacn/recipes/*.yaml), so a wheel finds them as a checkout does.
RECIPES = resources.files("aacn") / "recipes"
# The recipe `aacn train --dataset D` uses when no --recipe is given: settings that suit D.
DEFAULT_RECIPES = {
    "cifar10": "cifar10_resnet18_cifar",
    "cifar100": "cifar100_wrn28_10",
    "imagenet": "imagenet_resnet50",
    "digits": "digits",
    "fake": "digits",
}


class ConfigError(ValueError):
    """A bad setting, recipe or flag; the message names the value and the fix."""


@dataclass
class TrainConfig:
    """Every setting of a training run. Learning rates are for the global batch (batch_size x devices x nodes)."""

    model: str = "resnet18_cifar"
    dataset: str = "digits"
    output: str = "runs/train"
    data_dir: str | None = None
    download: bool = False
    model_args: dict[str, Any] = field(default_factory=dict)  # create_model overrides, e.g. key_ratio
    image_size: int | None = None  # None: the dataset's size (fake data: the model's)
    epochs: int = 10
    batch_size: int = 128  # per device
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # not applied to norms, biases and relative position tables
    label_smoothing: float = 0.0
    scheduler: str = "cosine"  # cosine | multistep | constant
    milestones: list[int] = field(default_factory=list)  # epochs, for multistep
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    ema_decay: float = 0.0  # 0: no EMA weights
    grad_clip: float = 0.0  # 0: no clipping (norm clipping otherwise)
    precision: str = "32"  # 32 | bf16-mixed | 16-mixed
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    deterministic: bool = False
    num_workers: int = 2
    accelerator: str = "auto"
    devices: str = "auto"  # "auto", a count, or a list such as "0,1"
    num_nodes: int = 1
    strategy: str = "auto"
    limit_train_batches: float = 1.0  # a fraction, or a count when > 1
    limit_val_batches: float = 1.0
    recipe: str | None = None
    source: str | None = None  # where the recipe's hyper-parameters come from

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> TrainConfig:
        from ..data import dataset_info
        from ..models import get_spec

        get_spec(self.model)
        dataset_info(self.dataset)
        choices = {
            "optimizer": ("sgd", "adamw"),
            "scheduler": ("cosine", "multistep", "constant"),
            "precision": ("32", "bf16-mixed", "16-mixed"),
        }
        for name, allowed in choices.items():
            if str(getattr(self, name)) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "num_nodes": self.num_nodes}
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.scheduler == "multistep" and not self.milestones:
            raise ConfigError("scheduler multistep needs milestones (epochs), e.g. milestones: [60, 120, 160]")
        if self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ConfigError(f"warmup_epochs must lie in [0, epochs={self.epochs}), got {self.warmup_epochs}")
        return self


def recipe_names() -> list[str]:
    """The recipes that ship with aacn."""
    return sorted(entry.name.removesuffix(".yaml") for entry in RECIPES.iterdir() if entry.name.endswith(".yaml"))


def find_recipe(recipe: str) -> Path | Traversable:
    """A YAML file, or the name of a packaged recipe (``digits``, ``cifar100_aa_wrn28_10``, ...).

    ``recipes/NAME.yaml``, the spelling of source checkouts before the recipes moved into the package, still names
    the packaged recipe NAME when no such file exists.
    """
    path = Path(recipe)
    if path.is_file():
        return path
    packaged = RECIPES / f"{path.name.removesuffix('.yaml')}.yaml"
    if packaged.is_file() and (path.parent == Path(".") or path.parent.name == "recipes"):
        return packaged
    raise ConfigError(
        f"recipe {recipe!r} not found: no such file, and no packaged recipe of that name; "
        f"packaged: {', '.join(recipe_names())}"
    )


def load_recipe(recipe: str) -> dict[str, Any]:
    path = find_recipe(recipe)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"recipe {path} is not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"recipe {path} must be a mapping of settings, got {type(values).__name__}")
    return values


def resolve_config(recipe: str | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, updated by the recipe's values, updated by ``overrides`` that are not None.

    Without a recipe, the dataset's default recipe applies (digits: ``digits``, cifar10: ``cifar10_resnet18_cifar``,
    ...), so that ``aacn train --model M --dataset D`` trains with settings that suit D.
    """
    from ..data import dataset_info

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    explicit = recipe is not None
    if recipe is None:
        dataset = overrides.get("dataset") or TrainConfig.dataset
        dataset_info(dataset)  # an unknown dataset fails here, naming the known ones
        recipe = DEFAULT_RECIPES.get(dataset)
    values: dict[str, Any] = {}
    if recipe:
        recipe_values = load_recipe(recipe)
        unknown = sorted(set(recipe_values) - known)
        if unknown:
            raise ConfigError(
                f"recipe {recipe} has unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values.update(recipe_values)
        values["recipe"] = str(recipe)
        dataset = overrides.get("dataset")
        if explicit and dataset and dataset != recipe_values.get("dataset", dataset):
            raise ConfigError(
                f"recipe {recipe} is for dataset {recipe_values['dataset']!r}, not {overrides['dataset']!r}; "
                f"drop --recipe to use that dataset's default recipe, or pick one for it"
            )
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "model_args" in overrides and overrides["model_args"] and recipe:
        values["model_args"] = {**load_recipe(recipe).get("model_args", {}), **overrides["model_args"]}
    try:
        config = TrainConfig(**values)
    except TypeError as error:
        raise ConfigError(str(error)) from None
    if isinstance(config.devices, int):
        config.devices = str(config.devices)
    return config.validate()


def save_config(config: TrainConfig, path: Path) -> None:
    from ..utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})
