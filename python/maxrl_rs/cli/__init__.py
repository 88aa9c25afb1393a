"""The ``maxrl`` command line: ``maxrl grade | train | eval``.

Each command lives in its own module and is imported only when it runs (or when ``--help`` lists it),
so ``maxrl grade`` never pays for torch. To add a command, append ``(name, "module:attribute")`` to
:data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import logging

import click

from maxrl_rs import __version__

#: Registered commands: name and the ``module:attribute`` of its click command.
COMMANDS: list[tuple[str, str]] = [
    ("grade", "maxrl_rs.cli.grade:grade"),
    ("train", "maxrl_rs.cli.train:train"),
    ("eval", "maxrl_rs.cli.eval:eval_command"),
]


class _LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(name for name, _ in COMMANDS)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for name, target in COMMANDS:
            if name == cmd_name:
                module, attr = target.split(":")
                return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, cmd_name)


class _StderrHandler(logging.Handler):
    """maxrl_rs warnings (rows left out of the data, a damaged checkpoint set aside) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {record.getMessage()}", err=True)


def _show_warnings() -> None:
    logger = logging.getLogger("maxrl_rs")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler(logging.WARNING))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="maxrl")
def main() -> None:
    """MaxRL: maximum likelihood RL for verifiable rewards (Rust-fast grading, training, evaluation)."""
    _show_warnings()


__all__ = ["COMMANDS", "main"]
