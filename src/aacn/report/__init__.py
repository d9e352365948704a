"""Reports: model profiles (params, FLOPs) and the model table of ``aacn models``."""

from .profile import Profile, profile

__all__ = ["Profile", "profile"]
