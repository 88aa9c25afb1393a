"""Reproductions of the paper's experiments sized for a CPU; each runs with ``python -m``."""

#: Where an experiment writes its ``NAME.{md,png,json}`` by default. The write-ups shipped with the repository
#: are in docs/results and are replaced only when asked for, with ``--out docs/results``.
DEFAULT_OUT = "runs/results"
