"""The ``--set KEY=VALUE`` option of ``maxrl train`` and ``maxrl eval``, and its usage errors.

A value written with a space (``--set model.path FILE``) leaves ``FILE`` as a stray argument, which click
reports as "unexpected extra argument" without naming ``--set``: the option checks each value for ``=``,
and the commands recall the ``--set`` form when the word a usage error names follows a ``--set`` value.
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
    """A command whose stray words recall the ``--set`` form when they follow a ``--set`` value: a word
    left over (``--set KEY=two words``), or, for a command taking paths, a path that does not exist, is then
    most likely the rest of a value split off by a space. Every other usage error is click's alone."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        split = _split_words(args)
        allow_extra = ctx.allow_extra_args
        ctx.allow_extra_args = True  # the leftover words are checked below, where they can be named
        try:
            rest = super().parse_args(ctx, args)
        except click.BadParameter as e:
            hint = next((h for word, h in split if repr(word) in e.message), None)
            if hint is None or not isinstance(e.param, click.Argument):
                raise
            raise click.UsageError(f"{e.format_message()}\n({hint})", e.ctx) from None
        finally:
            ctx.allow_extra_args = allow_extra
        if rest and not allow_extra and not ctx.resilient_parsing:
            s = "s" if len(rest) > 1 else ""
            message = f"Got unexpected extra argument{s} ({' '.join(rest)})"
            hint = dict(split).get(rest[0])
            ctx.fail(f"{message}\n({hint})" if hint else message)
        return rest


def _split_words(args: list[str]) -> list[tuple[str, str]]:
    """The word right after each ``--set`` value when it is not an option, with how that ``--set`` should
    have been written: ``--set KEY= VALUE`` joined up, else the general form."""
    split: list[tuple[str, str]] = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--set" and i + 2 < len(args):
            value, word = args[i + 1], args[i + 2]
        elif arg.startswith("--set=") and i + 1 < len(args):
            value, word = arg.removeprefix("--set="), args[i + 1]
        else:
            continue
        if not word.startswith("-"):
            joined = value.endswith("=")
            split.append((word, f"did you mean --set {shlex.quote(value + word)}?" if joined else SET_HINT))
    return split
