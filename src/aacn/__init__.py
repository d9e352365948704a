"""aacn: Attention Augmented Convolutional Networks (Bello et al., ICCV 2019) in PyTorch."""

from .models import Profile, create_model, from_pretrained, list_models, profile
from .nn import AugmentedConv1d, AugmentedConv2d, AugmentedConv3d

__version__ = "0.4.0"
__all__ = [
    "AugmentedConv1d",
    "AugmentedConv2d",
    "AugmentedConv3d",
    "Profile",
    "__version__",
    "create_model",
    "from_pretrained",
    "list_models",
    "profile",
]
