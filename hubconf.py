"""torch.hub entry points, one per aacn model: ``torch.hub.load(repo, "aa_resnet50", num_classes=10)``, and one per
detection model (``retinanet_aa_resnet50_fpn``; these need torchvision).

Each entry takes ``create_model``'s (or ``aacn.models.detection.retinanet``'s) keyword arguments. aacn publishes no
trained weights yet, so ``pretrained=True`` is an error naming the way to load your own (``aacn.from_pretrained``).
"""

from __future__ import annotations

import sys
from pathlib import Path as _Path  # torch.hub lists every public callable here as a model: keep imports private

dependencies = ["torch"]

try:
    import aacn
except ImportError:  # a checkout that torch.hub fetched or points at, aacn not installed: its src/ layout
    sys.path.insert(0, str(_Path(__file__).resolve().parent / "src"))
    import aacn

_detection = aacn.models.detection


def _entry(name: str) -> object:
    def build(pretrained: bool = False, **kwargs: object) -> object:
        if pretrained:
            raise aacn.models.PretrainedError(
                f"aacn publishes no trained weights for {name} yet; load your own with aacn.from_pretrained(DIR)"
            )
        if name in _detection.DETECTION_MODELS:
            return _detection.create_detection_model(name, **kwargs)
        return aacn.create_model(name, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"aacn's {name}: create_model({name!r}, **kwargs)."
    return build


for _name in [*aacn.list_models(), *_detection.DETECTION_MODELS]:
    globals()[_name] = _entry(_name)
