"""The ``--set KEY=VALUE`` option of ``maxrl train`` and ``maxrl eval``, and its usage errors.

A value written with a space (``--set model.path FILE``) leaves ``FILE`` as a stray argument, which click
reports as "unexpected extra argument" without naming ``--set``: the option checks each value for ``=``,
and the commands add the ``--set`` form to any usage error of a command line that has a ``--set``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import click

SET_HINT = "each --set takes one word, KEY=VALUE: --set model.path=FILE, or quoted, --set 'KEY=two words'"


def _check(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if "=" not in value:
            raise click.UsageError(
                f"--set expects KEY=VALUE, got {value!r}: write --set {value.strip()}=VALUE, with no space "
                "around '='",
                ctx,
            )
    return values


def set_option(help: str) -> Callable[[Any], Any]:
    """The repeatable ``--set KEY=VALUE`` option, as ``overrides``; a value without ``=`` is a usage error."""
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", callback=_check, help=help)


class SetCommand(click.Command):
    """A command whose usage errors (a stray argument, a path that does not exist) recall the ``--set`` form
    when the command line has a ``--set``: the stray word is then most likely a value split off by a space."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        hint = _hint(args)
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            if not hint or "--set expects" in e.message:
                raise
            raise click.UsageError(f"{e.format_message()}\n({hint})", e.ctx) from None


def _hint(args: list[str]) -> str | None:
    """How the command line's ``--set`` should have been written: ``--set KEY= VALUE`` joined up, else the
    general form; None without a ``--set``."""
    for i, arg in enumerate(args[:-2]):
        if arg == "--set" and args[i + 1].endswith("=") and not args[i + 2].startswith("-"):
            return f"did you mean --set {shlex.quote(args[i + 1] + args[i + 2])}?"
    if any(a == "--set" or a.startswith("--set=") for a in args):
        return SET_HINT
    return None
