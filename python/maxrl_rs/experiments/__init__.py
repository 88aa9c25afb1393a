"""Reproductions of the paper's experiments sized for a CPU; each runs with ``python -m``."""

from __future__ import annotations

import argparse

#: Where an experiment writes its ``NAME.{md,png,json}`` by default. The write-ups shipped with the repository
#: are in docs/results and are replaced only when asked for, with ``--out docs/results``.
DEFAULT_OUT = "runs/results"


def experiment_parser(doc: str | None, outputs: str, work: str | None = None) -> argparse.ArgumentParser:
    """An experiment's argument parser (defaults shown in ``--help``) with the options every experiment has:
    ``--out`` (where ``outputs`` go, default :data:`DEFAULT_OUT`) and, with ``work``, ``--work``."""
    p = argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", default=DEFAULT_OUT, help=f"directory for {outputs}")
    if work is not None:
        p.add_argument("--work", default=work, help="directory for the run directories")
    return p
