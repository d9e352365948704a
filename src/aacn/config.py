"""Training settings, each declared once: the ``TrainConfig`` field holds its default, help, flag and parser.

A run's settings are the defaults, updated by a recipe (YAML), updated by command-line flags; the result is saved as
``config.yaml``. The ``aacn train`` and ``aacn compare`` flags, the overrides they pass and the flags ``compare``
hands to each run are all derived from the fields below (:func:`add_setting_flags`, :func:`setting_overrides`,
:func:`setting_flags`), so a new setting is one new field.

Importable without the training extra (``yaml`` is imported where a recipe is read or written): the command line
builds its parser from these fields before it knows which command runs.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# The recipes ship inside the package (aacn/recipes/*.yaml), so a wheel finds them as a checkout does.
RECIPES = resources.files("aacn") / "recipes"
# The recipe `aacn train --dataset D` uses when no --recipe is given: settings that suit D.
DEFAULT_RECIPES = {
    "cifar10": "cifar10_resnet18_cifar",
    "cifar100": "cifar100_wrn28_10",
    "imagenet": "imagenet_resnet50",
    "digits": "digits",
    "fake": "digits",
    "svrt1": "svrt1",
    "svrt2": "svrt2",
    "motif_pairs": "motif_pairs",
}


class ConfigError(ValueError):
    """A bad setting, recipe or flag; the message names the value and the fix."""

    exit_code = 2  # the command's exit status: usage


# ---------------------------------------------------------------- how a setting reads from text and is checked


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints such as 60,120,160, got {text!r}") from None


def _float_list(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.5,0.4,0.4, got {text!r}"
        ) from None


def _name_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _key_value(text: str) -> tuple[str, Any]:
    """KEY=VALUE with the value read as YAML (0.25, true, [2, 3])."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value such as key_ratio=0.25, got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"the value of {text!r} is not valid YAML") from None


@dataclass(frozen=True)
class Flag:
    """The command-line side of a setting."""

    help: str
    names: tuple[str, ...] = ()  # default: --the-field-name
    parse: Callable[[str], Any] | None = None  # default: the type of the field's default
    choices: tuple[str, ...] | None = None
    kind: type | tuple[type, ...] | None = None  # the Python type(s) a recipe value must have; default: as parse
    metavar: str | None = None
    repeated: bool = False  # KEY=VALUE pairs collected into a dict


def setting(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None, **flag: Any) -> Any:
    """A TrainConfig field with its flag (see :class:`Flag`)."""
    metadata = {"flag": Flag(**flag)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# ---------------------------------------------------------------- the settings


@dataclass
class TrainConfig:
    """Every setting of a training run. Learning rates are for the global batch (batch_size x devices x nodes)."""

    model: str = setting("resnet18_cifar", help="model name (aacn models lists them)")
    dataset: str = setting(
        "digits",
        help="cifar10, cifar100, imagenet, digits, fake, svrt1, svrt2, motif_pairs, or your images: folder (with "
        "--data-dir), hf:SOURCE (a Hugging Face dataset folder, parquet/arrow file or Hub id) or shards:DIR "
        "(WebDataset tar shards, see aacn shards)",
    )
    output: str = setting("runs/train", help="run folder: last.ckpt, best.ckpt, metrics.csv, config.yaml, results.json")
    data_dir: str | None = setting(None, parse=str, help="folder holding the dataset (default ./data)")
    download: bool = setting(False, help="download the dataset if missing (CIFAR)")
    model_args: dict[str, Any] = setting(
        factory=dict, names=("--model-arg",), parse=_key_value, kind=dict, metavar="KEY=VALUE", repeated=True,
        help="create_model override, e.g. key_ratio=0.25 (repeatable)",
    )  # fmt: skip
    image_size: int | None = setting(
        None, parse=int, help="training image side (default: the dataset's; folder: the model's input size)"
    )
    val_fraction: float | None = setting(
        None, parse=float,
        help="folder with one tree DIR/CLASS/*, or hf:SOURCE without a validation split: the share of each class "
        "held out for validation (default 0.2)",
    )  # fmt: skip
    mean: list[float] = setting(
        factory=list,
        parse=_float_list,
        kind=list,
        help="your images: per-channel mean (default ImageNet's)",
    )
    std: list[float] = setting(
        factory=list,
        parse=_float_list,
        kind=list,
        help="your images: per-channel std (default ImageNet's)",
    )
    init_from: str | None = setting(
        None, parse=str,
        help="start from these weights: a torchvision-format ResNet state_dict, a save_pretrained folder, an aacn "
        "checkpoint, or 'torchvision' (its ImageNet weights of the plain twin; needs the network)",
    )  # fmt: skip
    hf_image_column: str | None = setting(
        None, parse=str, help="hf:SOURCE: the column of images (default: the first column of images)"
    )
    hf_label_column: str | None = setting(
        None, parse=str, help="hf:SOURCE: the column of labels (default: the first ClassLabel column, else 'label')"
    )
    hf_train_split: str = setting("train", parse=str, help="hf:SOURCE: the training split's name")
    hf_val_split: str | None = setting(
        None, parse=str,
        help="hf:SOURCE: the validation split's name (default: validation, val or test, else --val-fraction of train)",
    )  # fmt: skip
    freeze: list[str] = setting(
        factory=list, parse=_name_list, kind=list,
        help="train these parts no more: 'stem', module names such as layer1,layer2, 'backbone' (all but the "
        "classifier) or 'conv' (all but the classifier and the attention branches)",
    )  # fmt: skip
    train_size: int | None = setting(
        None, parse=int, help="train on the first N training images (svrt: generate N; default: the whole split)"
    )
    val_size: int | None = setting(
        None, parse=int, help="svrt: evaluate on N generated images (default 1000; the study uses 4000)"
    )
    holdout: bool = setting(
        False, help="svrt: evaluate on a held-out stream, never the test set (pilots choosing a budget)"
    )
    epochs: int = setting(10, help="training epochs")
    sample_budget: int | None = setting(
        None, parse=int, help="train on this many images in all: sets epochs to ceil(budget / training images)"
    )
    batch_size: int = setting(128, names=("-b", "--batch-size"), help="images per device and step")
    optimizer: str = setting("sgd", choices=("sgd", "adamw"), help="optimizer")
    lr: float = setting(0.1, help="base learning rate (for the global batch)")
    momentum: float = setting(0.9, help="SGD momentum")
    nesterov: bool = setting(True, help="Nesterov momentum")
    weight_decay: float = setting(
        5e-4, names=("--wd", "--weight-decay"), help="not applied to norms, biases, rel tables"
    )
    label_smoothing: float = setting(0.0, help="label smoothing of the cross-entropy")
    scheduler: str = setting("cosine", choices=("cosine", "multistep", "constant"), help="learning-rate schedule")
    milestones: list[int] = setting(
        factory=list, parse=_int_list, kind=list,
        help="epochs at which multistep multiplies the lr by --gamma, e.g. 60,120,160",
    )  # fmt: skip
    gamma: float = setting(0.1, help="multistep's factor")
    warmup_epochs: float = setting(0.0, help="linear warm-up length, in epochs")
    ema_decay: float = setting(0.0, help="keep EMA weights with this decay and evaluate them too (0: off)")
    grad_clip: float = setting(0.0, help="clip the gradient norm to this value (0: off)")
    precision: str = setting("32", choices=("32", "bf16-mixed", "16-mixed"), help="training precision")
    channels_last: bool = setting(False, help="channels-last memory format")
    compile: bool = setting(False, help="torch.compile the model")
    seed: int = setting(0, help="seed of the initialisation, data order and augmentation")
    deterministic: bool = setting(False, help="deterministic algorithms only")
    num_workers: int = setting(2, names=("-j", "--workers"), help="data loading worker processes per device")
    accelerator: str = setting("auto", choices=("auto", "cpu", "gpu", "cuda", "mps"), help="where to train")
    devices: str = setting("auto", kind=(str, int), help="'auto', a count, or a list such as 0,1")
    num_nodes: int = setting(1, help="machines")
    strategy: str = setting(
        "auto", choices=("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true"),
        help="how several processes train (the tests run DDP under torchrun, on CPU)",
    )  # fmt: skip
    limit_train_batches: float = setting(1.0, help="fraction (<= 1) or count of training batches per epoch")
    limit_val_batches: float = setting(1.0, help="fraction (<= 1) or count of validation batches")
    val_every_n_epochs: int = setting(1, help="validate (and save last.ckpt) every N epochs, and after the last")
    verbose: bool = setting(False, help="also print Lightning's own tips and notes about its configuration")
    recipe: str | None = None  # set from --recipe; not a flag of its own here
    source: str | None = None  # where the recipe's hyper-parameters come from (recipes only)
    # where each setting's value came from: "default", "recipe NAME", "flag" or "derived: ..." (see resolve_config)
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> TrainConfig:
        from .data import dataset_info, is_user_data
        from .models import check_overrides, get_spec

        for setting_field in SETTINGS:
            check_type(setting_field, getattr(self, setting_field.name))
        get_spec(self.model)
        try:
            check_overrides(self.model, self.model_args)
        except ValueError as error:
            raise ConfigError(f"model_args (--model-arg): {error}") from None
        info, spec = dataset_info(self.dataset), get_spec(self.model)
        if info.dims != spec.dims:
            kinds = {1: "sequences", 2: "images"}
            raise ConfigError(
                f"model {self.model} takes {kinds[spec.dims]} but dataset {self.dataset} holds {kinds[info.dims]}; "
                f"pick a model for {kinds[info.dims]} (aacn models lists them)"
            )
        counts = ("epochs", "batch_size", "num_nodes", "train_size", "val_size", "sample_budget", "val_every_n_epochs",
                  "image_size")  # fmt: skip
        for name in counts:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if info.check_size is not None and self.image_size is not None:
            try:
                info.check_size(self.image_size)
            except ValueError as error:
                raise ConfigError(f"image_size: {error}") from None
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0 (0: load in the main process), got {self.num_workers}")
        if not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must lie in [0, 2**32), got {self.seed}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        for name in ("limit_train_batches", "limit_val_batches"):
            value = getattr(self, name)
            if not (0 < value <= 1 or (value > 1 and float(value).is_integer())):
                raise ConfigError(f"{name} must be a fraction in (0, 1] or a whole count of batches, got {value}")
        checks = (
            ("momentum", 0.0 <= self.momentum < 1.0, "lie in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0.0, "be >= 0"),
            ("gamma", self.gamma > 0.0, "be > 0"),
            ("grad_clip", self.grad_clip >= 0.0, "be >= 0 (0: off)"),
        )
        for name, valid, what in checks:
            if not valid:
                raise ConfigError(f"{name} must {what}, got {getattr(self, name)}")
        if any(m < 1 for m in self.milestones) or sorted(set(self.milestones)) != list(self.milestones):
            raise ConfigError(f"milestones must be increasing positive epochs without repeats, got {self.milestones}")
        check_devices(self.devices)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.scheduler == "multistep" and not self.milestones:
            raise ConfigError("scheduler multistep needs milestones (epochs), e.g. milestones: [60, 120, 160]")
        size = self.model_args.get("input_size")
        if size is not None and self.image_size is not None and get_spec(self.model).attention is not None:
            sides = size if isinstance(size, (list, tuple)) else (size, size)
            if not self.model_args.get("interpolate_rel_pos") and min(sides) < self.image_size:
                raise ConfigError(
                    f"model_args input_size={size} makes relative tables smaller than the {self.image_size}x"
                    f"{self.image_size} training images; drop it (the tables then fit the images), raise it, or set "
                    "--model-arg interpolate_rel_pos=true"
                )
        if not is_user_data(self.dataset) and (self.val_fraction is not None or self.mean or self.std):
            raise ConfigError(
                f"val_fraction, mean and std are for your own images (folder, hf:, shards:), not {self.dataset}, whose "
                "split and normalisation are fixed"
            )
        hf_given = [self.hf_image_column, self.hf_label_column, self.hf_val_split, self.hf_train_split != "train"]
        if not self.dataset.startswith("hf:") and any(v not in (None, False) for v in hf_given):
            raise ConfigError(f"the hf_* settings are for --dataset hf:SOURCE, not {self.dataset}")
        if self.val_fraction is not None and not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must lie in (0, 1), got {self.val_fraction}")
        if bool(self.mean) != bool(self.std) or len(self.mean) != len(self.std):
            raise ConfigError(f"mean and std need one value per channel each, got mean={self.mean} std={self.std}")
        if any(s <= 0 for s in self.std):
            raise ConfigError(f"std values must be > 0, got {self.std}")
        if self.dataset == "folder" and self.data_dir is None:
            raise ConfigError("--dataset folder needs --data-dir DIR (DIR/<class>/<image>, or DIR/train/ and DIR/val/)")
        if self.init_from is not None and not self.init_from.strip():
            raise ConfigError("init_from must name weights (a file, a folder or 'torchvision'), got an empty string")
        if (self.val_size is not None or self.holdout) and self.dataset not in ("svrt1", "svrt2", "motif_pairs"):
            raise ConfigError(
                f"val_size and holdout are for the generated problems (svrt1, svrt2, motif_pairs), not {self.dataset}"
            )
        if self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ConfigError(f"warmup_epochs must lie in [0, epochs={self.epochs}), got {self.warmup_epochs}")
        return self


SETTINGS: tuple[dataclasses.Field, ...] = tuple(f for f in dataclasses.fields(TrainConfig) if "flag" in f.metadata)
# How a run reads the user's own images (folder, hf:, shards:): `aacn eval` reuses them, `aacn compare` passes them on.
USER_DATA_SETTINGS = (
    "val_fraction", "mean", "std", "hf_image_column", "hf_label_column", "hf_train_split", "hf_val_split",
)  # fmt: skip


def check_devices(devices: str) -> None:
    """'auto', a count (>= 1, or -1 for every GPU) or a list of distinct device indices such as 0,1."""
    text = str(devices).strip()
    if text == "auto":
        return
    try:
        values = [int(part) for part in text.split(",") if part.strip()] if "," in text else [int(text)]
    except ValueError:
        raise ConfigError(f"devices must be 'auto', a count or a list such as 0,1; got {devices!r}") from None
    if "," in text:
        if not values or min(values) < 0 or len(set(values)) != len(values):
            raise ConfigError(f"devices as a list takes distinct indices >= 0 such as 0,1; got {devices!r}")
    elif values[0] == 0 or values[0] < -1:
        raise ConfigError(f"devices must be a count >= 1 (or -1: every GPU), 'auto' or a list; got {devices!r}")


def _flag(setting_field: dataclasses.Field) -> Flag:
    return setting_field.metadata["flag"]


def _parser_of(setting_field: dataclasses.Field) -> Callable[[str], Any]:
    flag = _flag(setting_field)
    return flag.parse or type(setting_field.default)


def check_type(setting_field: dataclasses.Field, value: Any) -> None:
    """A value of the wrong type (from a recipe or the API) is a ConfigError naming the setting and the fix."""
    flag = _flag(setting_field)
    if value is None and setting_field.default is None:
        return
    kind = flag.kind or _parser_of(setting_field)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = (*kinds, int)  # 1 reads as 1.0
    wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    if wrong:
        expected = " or ".join(k.__name__ for k in kinds if k is not int or float not in kinds)
        raise ConfigError(f"{setting_field.name} must be {expected}, got {value!r} ({type(value).__name__})")
    if flag.choices and str(value) not in flag.choices:
        raise ConfigError(f"{setting_field.name} must be one of {', '.join(flag.choices)}, got {value!r}")


# ---------------------------------------------------------------- the command line, derived from the fields


def _settings(names: Iterable[str] | None) -> list[dataclasses.Field]:
    if names is None:
        return list(SETTINGS)
    by_name = {f.name: f for f in SETTINGS}
    return [by_name[name] for name in names]


def add_setting_flags(parser: argparse.ArgumentParser, names: Iterable[str] | None = None) -> None:
    """One flag per setting (all of them, or ``names``); an absent flag leaves the recipe's value (None)."""
    for setting_field in _settings(names):
        flag = _flag(setting_field)
        names_ = flag.names or (f"--{setting_field.name.replace('_', '-')}",)
        common: dict[str, Any] = {"dest": setting_field.name, "default": None, "help": flag.help}
        if isinstance(setting_field.default, bool):
            parser.add_argument(*names_, action=argparse.BooleanOptionalAction, **common)
        else:
            action = "append" if flag.repeated else "store"
            parser.add_argument(
                *names_, type=_parser_of(setting_field), choices=flag.choices, metavar=flag.metavar, action=action,
                **common,
            )  # fmt: skip


def setting_overrides(args: argparse.Namespace, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The settings the flags set (None where a flag was absent), ready for :func:`resolve_config`."""
    overrides = {}
    for setting_field in _settings(names):
        value = getattr(args, setting_field.name)
        if _flag(setting_field).repeated and value is not None:
            value = dict(value)
        overrides[setting_field.name] = value
    return overrides


def setting_flags(overrides: dict[str, Any]) -> list[str]:
    """The ``aacn train`` flags that set ``overrides`` (None values left out): the inverse of the parser."""
    import json

    by_name = {f.name: f for f in SETTINGS}
    flags: list[str] = []
    for name, value in overrides.items():
        if value is None:
            continue
        flag = _flag(by_name[name])
        option = (flag.names or (f"--{name.replace('_', '-')}",))[-1]
        if isinstance(value, bool):
            flags.append(option if value else f"--no-{option[2:]}")
        elif flag.repeated:
            for key, item in value.items():
                flags += [option, f"{key}={json.dumps(item)}"]  # JSON is YAML
        elif isinstance(value, list):
            flags += [option, ",".join(str(v) for v in value)]
        else:
            flags += [option, str(value)]
    return flags


# ---------------------------------------------------------------- recipes


def recipe_names() -> list[str]:
    """The recipes that ship with aacn."""
    return sorted(entry.name.removesuffix(".yaml") for entry in RECIPES.iterdir() if entry.name.endswith(".yaml"))


def find_recipe(recipe: str) -> Any:
    """A YAML file (a Path), or the packaged recipe of that name (an importlib.resources Traversable).

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
    import yaml

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
    ...), so that ``aacn train --model M --dataset D`` trains with settings that suit D. ``model_args`` of the recipe
    and of the overrides are merged, the overrides winning.
    """
    from .data import dataset_info

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
    model_args = {**(values.get("model_args") or {}), **(overrides.get("model_args") or {})}
    # An explicit setting wins over the recipe and over what the recipe derives: epochs given outright replace a
    # recipe's sample budget (which would set the epochs); both given outright contradict each other.
    if overrides.get("epochs") is not None:
        if overrides.get("sample_budget") is not None:
            raise ConfigError(
                f"epochs={overrides['epochs']} and sample_budget={overrides['sample_budget']} contradict each other "
                f"(a sample budget sets the epochs); give one of --epochs and --sample-budget"
            )
        values.pop("sample_budget", None)
    recipe_keys = set(values) - {"recipe"}
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["model_args"] = model_args
    sources = {}
    for setting_field in SETTINGS:
        name = setting_field.name
        if name == "model_args":
            origins = [o for o, given in (("flag", overrides.get(name)), (f"recipe {recipe}", name in recipe_keys))
                       if given]  # fmt: skip
            sources[name] = " and ".join(origins) or "default"
        elif overrides.get(name) is not None:
            sources[name] = "flag"
        elif name in recipe_keys:
            sources[name] = f"recipe {recipe}"
        else:
            sources[name] = "default"
    if overrides.get("epochs") is not None and "sample_budget" in (recipe_keys if recipe else set()):
        sources["sample_budget"] = f"dropped: --epochs given (recipe {recipe} sets a sample budget)"
    config = TrainConfig(**values, sources=sources)
    if isinstance(config.devices, int):
        config.devices = str(config.devices)
    return config.validate()


def describe_config(config: TrainConfig) -> str:
    """Every resolved setting as YAML, each with where its value came from (`aacn train --print-config`)."""
    import yaml

    lines = []
    for setting_field in SETTINGS:
        name = setting_field.name
        value = getattr(config, name)
        text = yaml.safe_dump({name: value}, default_flow_style=True, width=10**6).strip().removeprefix("{")
        text = text.removesuffix("}")
        source = config.sources.get(name, "default")
        if name == "epochs" and config.sample_budget and not source.startswith("derived"):
            budget, size = config.sample_budget, config.train_size
            if size:  # the training set's size is known before the data is built
                text, source = f"epochs: {-(-budget // size)}", f"derived: ceil(sample_budget {budget} / {size} images)"
            else:
                text, source = "epochs: null", f"derived at run time: ceil(sample_budget {budget} / training images)"
        lines.append(f"{text}  # {source}")
    return "\n".join(lines)


def save_config(config: TrainConfig, path: Path) -> None:
    """config.yaml: every resolved setting, then ``sources``: where each value came from."""
    import yaml

    from .utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})
