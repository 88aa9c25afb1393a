"""Checks shared by the experiments' config dataclasses (``__post_init__``).

Each raises :class:`maxrl_rs.ConfigError` naming the field and its bad value.
"""

from __future__ import annotations

from collections.abc import Iterable

from maxrl_rs.errors import ConfigError


def check_methods(config: object, known: Iterable[str], *keys: str) -> None:
    """Every method named in the tuple fields ``keys`` (default ``methods``) is one of ``known``."""
    known = tuple(known)
    for key in keys or ("methods",):
        for m in getattr(config, key):
            if m not in known:
                raise ConfigError(f"{key}: unknown method {m!r}; known: {', '.join(known)}")


def check_at_least(config: object, minimum: int, *keys: str) -> None:
    """Every field in ``keys`` is a number ``>= minimum`` (sample counts, steps, workers)."""
    for key in keys:
        value = getattr(config, key)
        if value < minimum:
            raise ConfigError(f"{key} must be >= {minimum}, got {value}")


def check_not_empty(config: object, *keys: str) -> None:
    """Every field in ``keys`` (a tuple such as the seeds) has at least one item."""
    for key in keys:
        if not getattr(config, key):
            raise ConfigError(f"{key} must not be empty, got {getattr(config, key)!r}")
