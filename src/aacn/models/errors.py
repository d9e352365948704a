"""The errors of loading and saving models, as users catch them: subclasses of ValueError and FileNotFoundError whose
message names the file or argument and what is wrong."""

from __future__ import annotations


class PretrainedError(ValueError):
    """A folder, Hub repository or weights request that does not give an aacn model; names it and what is wrong."""

    exit_code = 3  # the command's exit status: a data failure


class PretrainedNotFoundError(PretrainedError, FileNotFoundError):
    """No such folder, or it lacks config.json or model.safetensors."""
