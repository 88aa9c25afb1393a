"""What the benchmarks need to run as plain scripts (``python bench/bench_x.py``) as well as under pytest.

After ``pip install ".[train]"`` pytest is not installed; it comes with the ``bench`` extra (pytest-benchmark
depends on it). Each bench imports ``pytest`` from here: the real one when installed, else a stand-in whose
``fixture`` and ``mark.*`` decorators return the function unchanged, so the module imports and its
pytest-benchmark entry points (which only pytest ever calls) are simply not used. Also the argument types
the scripts share, so that a bad value is a one-line usage error rather than a traceback.
"""

from __future__ import annotations

import argparse
from typing import Any

try:
    import pytest
except ImportError:  # a script run without the bench extra

    class _DecoratorsOnly:
        """``pytest.fixture``, ``pytest.fixture(...)``, ``pytest.mark.parametrize(...)``: decorators that
        leave the function as it is."""

        def __getattr__(self, name: str) -> Any:
            return self

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and callable(args[0]) and not kwargs:
                return args[0]  # used bare: @pytest.fixture
            return lambda fn: fn  # used with arguments: @pytest.mark.parametrize("x", [...])

    pytest = _DecoratorsOnly()  # type: ignore[assignment]


def script_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose ``--help`` shows the bench's docstring as written (its commands included)."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value


def positive_ints(text: str) -> list[int]:
    """argparse type: comma-separated integers >= 1, e.g. ``16,32,64``."""
    try:
        return [positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 1 (e.g. 16,32,64), got {text!r}"
        ) from None


__all__ = ["non_negative_int", "positive_int", "positive_ints", "pytest", "script_parser"]
