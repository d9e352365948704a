"""aacn's models in timm's registry: ``timm.create_model("aa_resnet50")``, ``timm.list_models("aa_*")``,
``features_only=True``, ``"local-dir:"`` and ``"hf-hub:"`` sources.

timm discovers no plugins, so aacn registers its models itself. ``import aacn`` registers them at once when timm is
already imported, and otherwise the moment timm is first imported (a one-shot import hook: importing aacn never
imports timm, which costs about 1.6 s and brings torchvision). :func:`register_timm_models` does it explicitly and
may be called any number of times.

Names in timm: the augmented models keep their aacn names (``aa_resnet50``, ``aa_resnet50_cifar``, ``aa_wrn28_10``;
timm has no ``aa_`` models). The plain twins take an ``aacn_`` prefix (``aacn_resnet50``, ``aacn_resnet50_cifar``,
``aacn_wrn28_10``), so timm's own ``resnet50`` stays timm's.

timm's keyword arguments map onto ``create_model`` overrides: ``num_classes`` and ``in_chans`` as they are,
``img_size`` to ``input_size`` (the size the relative tables are made for; plain models take any size and ignore it),
``global_pool`` must be ``"avg"``. Anything else is an aacn override (``key_ratio=...``) and is checked as one.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from torch import nn

from ..utils.extras import require_extra
from .errors import PretrainedError
from .registry import create_model, get_spec, list_models, pretrained_cfg

PAPER_IDS = "arXiv:1904.09925"
PAPER_NAME = "Attention Augmented Convolutional Networks"

# filled by register_timm_models: timm's register_model reads the registering module's ``default_cfgs``
default_cfgs: dict[str, Any] = {}


def timm_name(name: str) -> str:
    """The timm registry name of an aacn model: ``aa_*`` as is, plain twins with an ``aacn_`` prefix."""
    get_spec(name)
    return name if name.startswith("aa_") else f"aacn_{name}"


def aacn_name(name: str) -> str:
    """The aacn name of a timm registry name made by :func:`timm_name` (an aacn name is returned as it is)."""
    plain = name.removeprefix("aacn_")
    if plain not in list_models():
        raise ValueError(f"unknown model {name!r}; aacn's timm names are {', '.join(map(timm_name, list_models()))}")
    return plain


def _timm_overrides(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """timm's model keyword arguments as ``create_model`` overrides (see the module docstring)."""
    kwargs = dict(kwargs)
    global_pool = kwargs.pop("global_pool", None)
    if global_pool not in (None, "avg"):  # timm's "" (no pooling) is not offered either
        raise ValueError(f"aacn models pool by average only; got global_pool={global_pool!r}")
    img_size = kwargs.pop("img_size", None)
    if img_size is not None and get_spec(name).attention is not None:
        kwargs.setdefault("input_size", list(img_size) if isinstance(img_size, (list, tuple)) else img_size)
    return kwargs


def _builder(name: str) -> Callable[..., nn.Module]:
    def build(**kwargs: Any) -> nn.Module:
        return create_model(name, **_timm_overrides(name, kwargs))

    return build


def _entrypoint(name: str) -> Callable[..., nn.Module]:
    """timm's entry point for one model: ``fn(pretrained=False, **kwargs)``, built by timm's own builder so that
    ``features_only``, ``out_indices``, ``feature_cls``, pretrained configs and weight loading behave as for timm's
    models."""
    registered = timm_name(name)

    def entrypoint(pretrained: bool = False, **kwargs: Any) -> nn.Module:
        from timm.models import build_model_with_cfg

        if pretrained and not _has_weights_source(kwargs.get("pretrained_cfg"), kwargs.get("pretrained_cfg_overlay")):
            raise PretrainedError(
                f"aacn publishes no trained weights for {registered}; load yours with timm.create_model("
                f"'local-dir:FOLDER', pretrained=True) (a save_pretrained folder) or 'hf-hub:user/name'"
            )
        return build_model_with_cfg(_builder(name), registered, pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = registered
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = f"aacn's {name} (create_model({name!r}) in aacn)."
    return entrypoint


def _has_weights_source(*cfgs: Any) -> bool:
    """Does a pretrained config timm hands over name a weights file, URL or Hub repository?"""
    for cfg in cfgs:
        values = cfg if isinstance(cfg, dict) else getattr(cfg, "__dict__", {}) if cfg is not None else {}
        if any(values.get(key) for key in ("file", "url", "hf_hub_id", "state_dict")):
            return True
    return False


def _default_cfg(name: str) -> dict[str, Any]:
    spec = get_spec(name)
    cfg = pretrained_cfg(spec, spec.num_classes, spec.attention)
    cfg.pop("architecture")
    # AA models take any size up to the one their tables are made for (larger with interpolate_rel_pos)
    return {**cfg, "fixed_input_size": False, "paper_ids": PAPER_IDS, "paper_name": PAPER_NAME}


def register_timm_models() -> list[str]:
    """Register every aacn model in timm's registry (idempotent); returns the timm names."""
    require_extra("timm", "register_timm_models")
    from timm.models import generate_default_cfgs, is_model, model_entrypoint, register_model

    module: ModuleType = sys.modules[__name__]
    names = [timm_name(name) for name in list_models()]
    default_cfgs.update(generate_default_cfgs({timm_name(name): _default_cfg(name) for name in list_models()}))
    for name, registered in zip(list_models(), names, strict=True):
        if is_model(registered):
            if getattr(model_entrypoint(registered), "__module__", None) == __name__:
                continue  # ours already
            warnings.warn(f"timm already has a model {registered!r}; aacn's {name} replaces it", stacklevel=2)
        entrypoint = _entrypoint(name)
        setattr(module, registered, entrypoint)  # register_model lists it in this module's __all__
        register_model(entrypoint)
    return names


def _register_quietly() -> None:
    try:
        register_timm_models()
    except Exception as error:  # never break `import timm`
        warnings.warn(f"aacn could not register its models with timm: {error}", stacklevel=2)


class _RegisterOnTimmImport(importlib.abc.MetaPathFinder):
    """Registers aacn's models right after timm's first import has run; removes itself at once."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        if fullname != "timm":
            return None
        _uninstall_hook()
        spec = importlib.util.find_spec(fullname)  # the remaining finders: where timm really is
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            _register_quietly()

        loader.exec_module = exec_module  # this loader instance serves timm's import alone
        return spec


def _uninstall_hook() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _RegisterOnTimmImport)]


def register_when_timm_imports() -> None:
    """Register with timm now if it is imported, else as soon as it is (called by ``import aacn``)."""
    if sys.modules.get("timm") is not None:  # None: blocked, not imported
        _register_quietly()
    elif not any(isinstance(finder, _RegisterOnTimmImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterOnTimmImport())
