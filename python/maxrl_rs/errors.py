"""Exceptions raised by maxrl_rs.

Every bad-input error is an :class:`InvalidInputError`, a :class:`ValueError` subclass whose message names the
offending index, group or key and its value.
"""

from maxrl_rs._core import InvalidInputError


class ConfigError(InvalidInputError):
    """A training or evaluation config is invalid; the message names the key and the reason."""


class FileError(InvalidInputError):
    """A file or directory a run needs is missing, unreadable, corrupt or in use; the message names the path
    and the cause."""


__all__ = ["ConfigError", "FileError", "InvalidInputError"]
