"""Reproductions of the paper's experiments sized for a CPU; each runs with ``python -m``."""
