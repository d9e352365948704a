"""aacn models to files and other tools, in one place: ``save_pretrained`` / ``from_pretrained`` (a folder of
``model.safetensors`` and ``config.json``, the layout of timm and the Hugging Face Hub, locally or on the Hub),
``export_pretrained`` (a training checkpoint to that folder) and ONNX (:mod:`aacn.exchange.onnx`).

The folder's reading and writing is implemented beside the model registry (:mod:`aacn.models.pretrained`), because a
model's own ``save_pretrained`` method calls it and the models' files must not import upwards; this package is where
users find it, with everything else that exchanges models.
"""

from ..models.errors import PretrainedError, PretrainedNotFoundError
from ..models.pretrained import CONFIG, WEIGHTS, from_pretrained, save_pretrained
from .checkpoint import export_pretrained

__all__ = [
    "CONFIG",
    "WEIGHTS",
    "PretrainedError",
    "PretrainedNotFoundError",
    "export_pretrained",
    "from_pretrained",
    "save_pretrained",
]
