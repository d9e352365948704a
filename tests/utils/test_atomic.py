"""Atomic writes: the OSError behind a failed write is found in the exception's chain, even a chain that loops."""

from __future__ import annotations

from aacn.utils.atomic import _os_error_in


def test_the_os_error_is_found_through_cause_and_context() -> None:
    disk_full = OSError(28, "No space left on device")
    wrapper = RuntimeError("PytorchStreamWriter failed writing file")
    wrapper.__context__ = disk_full
    assert _os_error_in(RuntimeError("outer").with_traceback(None)) is None
    outer = ValueError("outer")
    outer.__cause__ = wrapper
    assert _os_error_in(outer) is disk_full


def test_a_chain_that_loops_ends_the_search() -> None:
    """An exception raised again inside its own handler can be its own context's context: the search returns."""
    first, second = RuntimeError("first"), RuntimeError("second")
    first.__context__, second.__context__ = second, first
    assert _os_error_in(first) is None
