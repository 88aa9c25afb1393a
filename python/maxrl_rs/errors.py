"""Exceptions raised by maxrl_rs.

Every bad-input error is an :class:`InvalidInputError`, a :class:`ValueError` subclass whose message names the
offending index, group or key and its value.
"""

import difflib
from collections.abc import Iterable
from typing import Any

import numpy as np

from maxrl_rs._core import InvalidInputError


class ConfigError(InvalidInputError):
    """A training or evaluation config is invalid; the message names the key and the reason."""


class FileError(InvalidInputError):
    """A file or directory a run needs is missing, unreadable, corrupt or in use; the message names the path
    and the cause."""


def shown(value: Any) -> str:
    """A bad value as messages show it: ``TYPE REPR``, the repr cut at 80 characters, a NumPy scalar's as its
    Python value's (``float64 inf`` rather than ``float64 np.float64(inf)``)."""
    python = value.item() if isinstance(value, np.generic) else value
    return f"{type(value).__name__} {python!r:.80}"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to a misspelled ``name``, or ``""`` when none is
    close (:func:`difflib.get_close_matches`); the one hint of every unknown-name error."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def must_be(what: str, value: Any) -> str:
    """The one wording of a value of the wrong kind: ``must be WHAT, got TYPE VALUE``."""
    return f"must be {what}, got {shown(value)}"


#: Beginnings of type names said with a vowel sound that their first letter does not give, or the reverse.
_AN_BEFORE = ("nd",)  # "en-dee-array"
_A_BEFORE = ("uint", "ufunc", "uni", "use", "usu", "uu", "one")  # "you-int", "won"


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article as said: ``an int``, ``a str``, ``a uint8``, ``an ndarray``."""
    w = word.lower()
    vowel = (w[:1] in tuple("aeiou") or w.startswith(_AN_BEFORE)) and not w.startswith(_A_BEFORE)
    return f"{'an' if vowel else 'a'} {word}"


__all__ = ["ConfigError", "FileError", "InvalidInputError", "a_or_an", "did_you_mean", "must_be", "shown"]
