"""aacn models to files and other tools, in one place: ``save_pretrained`` / ``from_pretrained`` (a folder of
``model.safetensors`` and ``config.json``, the layout of timm and the Hugging Face Hub, locally or on the Hub),
``export_pretrained`` (a training checkpoint to that folder), ``init_from`` (start a model from weights trained
elsewhere: torchvision's, a folder, a checkpoint) and ONNX (:mod:`aacn.exchange.onnx`).

The folder's reading and writing is implemented beside the model registry (:mod:`aacn.models.pretrained`), because a
model's own ``save_pretrained`` method calls it and the models' files must not import upwards; this package is where
users find it, with everything else that exchanges models.
"""

from ..models.errors import PretrainedError, PretrainedNotFoundError
from ..models.pretrained import CONFIG, WEIGHTS, from_pretrained, save_pretrained
from .checkpoint import export_pretrained
from .init_from import InitReport, init_from

__all__ = [
    "CONFIG",
    "WEIGHTS",
    "InitReport",
    "PretrainedError",
    "PretrainedNotFoundError",
    "export_pretrained",
    "from_pretrained",
    "init_from",
    "save_pretrained",
]
