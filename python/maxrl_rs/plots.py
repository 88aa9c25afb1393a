"""Figures for evaluation reports and experiments, drawn with matplotlib's Agg canvas.

Figures are built as ``matplotlib.figure.Figure`` objects and saved directly, never through pyplot, so no
global backend is switched and nothing tries to open a window (safe on headless machines and in tests).
matplotlib is imported lazily: it is an optional dependency (the ``train`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from maxrl_rs.errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from maxrl_rs.evaluation import PassAtKReport


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    return path


def plot_pass_at_k(reports: Sequence[PassAtKReport], path: str | Path, *, title: str | None = None) -> Path:
    """Overlay the pass@k curves of several runs (log2 k axis) next to their per-prompt pass-rate histograms.

    Curves are drawn at every k in 1..n from the saved counts, with markers at the reported ks. Runs after the
    first are labelled with their test-time scaling efficiency over the first (SPEC §5).
    """
    from maxrl_rs.evaluation import scaling_efficiency

    if not reports:
        raise InvalidInputError("no reports to plot")
    fig, (ax, hx) = _figure(11.0, 4.2, ncols=2)
    for i, r in enumerate(reports):
        ks, values = r.full_curve()
        label = r.run
        if i > 0:
            label += f" ({scaling_efficiency(r, reports[0]).short()} vs {reports[0].run})"
        (line,) = ax.plot(ks, values, lw=1.8, label=label)
        ax.plot(r.ks, r.pass_at_k, "o", ms=4, color=line.get_color())
    from matplotlib.ticker import FixedLocator, MaxNLocator, NullFormatter, StrMethodFormatter

    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sorted(set().union(*(r.ks for r in reports)))))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("k (samples per prompt, log2 scale)")
    ax.set_ylabel("pass@k (unbiased, mean over prompts)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    tasks = sorted({r.task for r in reports})
    ax.set_title(
        title or f"{', '.join(tasks)}: pass@k ({reports[0].num_prompts} prompts, n = {reports[0].n})"
    )

    edges = np.asarray(reports[0].histogram.edges)
    width = np.diff(edges) / (len(reports) + 0.5)
    for i, r in enumerate(reports):
        counts = np.asarray(r.histogram.counts)
        hx.bar(edges[:-1] + i * width, counts, width=width, align="edge", label=r.run)
    hx.set_xlim(0.0, 1.0)
    hx.set_xlabel("per-prompt pass rate c/n")
    hx.set_ylabel("prompts")
    hx.yaxis.set_major_locator(MaxNLocator(integer=True))
    hx.set_title("distribution of per-prompt pass rates")
    hx.legend(fontsize=8)
    hx.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)
