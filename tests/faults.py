"""Faults the tests inject: a disk that fills up part-way through a write."""

from __future__ import annotations

import errno
import os
from typing import Any


class FillsUp:
    """A stream that takes ``room`` bytes, then fails with ENOSPC in the middle of the next write."""

    def __init__(self, stream: Any, room: int) -> None:
        self.stream, self.room = stream, room

    def write(self, data: Any) -> int:
        if len(data) > self.room:
            self.stream.write(bytes(data[: self.room]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.stream.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
