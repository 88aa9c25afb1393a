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

from maxrl_rs.atomic import atomic_open
from maxrl_rs.errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from maxrl_rs.evaluation import PassAtKReport


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols)


def check_plot_path(path: str | Path) -> None:
    """InvalidInputError, before any work, when matplotlib is missing or cannot write ``path``'s format (its
    suffix: ``.png``, ``.pdf``, ``.svg``, ...)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise InvalidInputError(
            "plots need matplotlib: pip install 'maxrl-rs[train]' (or matplotlib)"
        ) from None
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    formats = Figure().canvas.get_supported_filetypes()
    if fmt not in formats:
        raise InvalidInputError(
            f"{str(path)!r}: matplotlib cannot write {fmt!r} files; use one of {', '.join(sorted(formats))}"
        )


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    with atomic_open(path, "wb") as f:  # the format from the name, as savefig(path) would pick it
        fig.savefig(f, dpi=130, format=path.suffix.lstrip(".").lower() or "png")
    return path


def plot_pass_at_k(reports: Sequence[PassAtKReport], path: str | Path, *, title: str | None = None) -> Path:
    """Overlay the pass@k curves of several runs (log2 k axis) next to their per-prompt pass-rate histograms.

    Curves are drawn at every k in 1..n from the saved counts, with markers at the reported ks. Runs after the
    first are labelled with their test-time scaling efficiency over the first (docs/evaluation.md).
    """
    if not reports:
        raise InvalidInputError("no reports to plot")
    fig, (ax, hx) = _figure(11.0, 4.2, ncols=2)
    _draw_pass_at_k(ax, reports, baseline=reports[0], title=title)
    _draw_histogram(hx, reports)
    return _save(fig, path)


def _draw_pass_at_k(
    ax: Any, reports: Sequence[PassAtKReport], *, baseline: PassAtKReport | None, title: str | None = None
) -> None:
    from matplotlib.ticker import FixedLocator, NullFormatter, StrMethodFormatter

    from maxrl_rs.evaluation import scaling_efficiency

    for r in reports:
        ks, values = r.full_curve()
        label = r.run
        if baseline is not None and r is not baseline:
            label += f" ({scaling_efficiency(r, baseline).short()} vs {baseline.run})"
        (line,) = ax.plot(ks, values, lw=1.8, label=label)
        ax.plot(r.ks, r.pass_at_k, "o", ms=4, color=line.get_color())
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


def _draw_histogram(hx: Any, reports: Sequence[PassAtKReport]) -> None:
    from matplotlib.ticker import MaxNLocator

    # Reports may hold different numbers of prompts (pooled seeds): compare shares, not counts, then.
    share = len({r.num_prompts for r in reports}) > 1
    edges = np.asarray(reports[0].histogram.edges)
    width = np.diff(edges) / (len(reports) + 0.5)
    for i, r in enumerate(reports):
        counts = np.asarray(r.histogram.counts, dtype=np.float64)
        hx.bar(
            edges[:-1] + i * width,
            counts / r.num_prompts if share else counts,
            width=width,
            align="edge",
            label=r.run,
        )
    hx.set_xlim(0.0, 1.0)
    hx.set_xlabel("per-prompt pass rate c/n")
    hx.set_ylabel("share of prompts" if share else "prompts")
    if not share:
        hx.yaxis.set_major_locator(MaxNLocator(integer=True))
    hx.set_title("distribution of per-prompt pass rates")
    hx.legend(fontsize=8)
    hx.grid(True, axis="y", alpha=0.3)


def plot_maze(
    reports: Sequence[PassAtKReport],
    runs: Sequence[dict[str, Any]],
    path: str | Path,
    *,
    baseline: str = "grpo",
) -> Path:
    """The maze experiment: pass@k per method (pooled over seeds; efficiency vs ``baseline``), pass-rate
    histograms, and each method's training reward per RL step (mean over seeds, 5-step moving average)."""
    fig, (ax, hx, tx) = _figure(16.0, 4.4, ncols=3)
    base = next((r for r in reports if r.run == baseline), None)
    _draw_pass_at_k(ax, reports, baseline=base, title="held-out pass@k (pooled over seeds)")
    _draw_histogram(hx, reports)
    for method in sorted({r["method"] for r in runs}):
        curves = [r["train_reward"] for r in runs if r["method"] == method]
        length = min(len(c) for c in curves)
        if length == 0:
            continue
        mean = np.mean([c[:length] for c in curves], axis=0)
        window = min(5, length)
        smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
        tx.plot(np.arange(window, length + 1), smooth, label=f"{method} ({len(curves)} seeds)")
    tx.set_xlabel("RL step")
    tx.set_ylabel("training reward (batch pass@1, 5-step mean)")
    tx.set_title("training reward")
    tx.grid(True, alpha=0.3)
    tx.legend(fontsize=8)
    return _save(fig, path)


def plot_ml_limit(
    rows: Sequence[dict[str, Any]], runs: Sequence[Any], path: str | Path, *, steps: int | None = None
) -> Path:
    """Three panels for the maximum-likelihood-limit experiment (paper §6.1).

    ``rows`` are per-(method, N) summaries with ``train_nll``/``grad_cosine`` means and ``_std``s
    (cross-entropy has N = 0 and is drawn as a horizontal line); ``runs`` are per-seed results with learning
    curves, of which cross-entropy and the largest N are drawn.
    """
    fig, (nll_ax, cos_ax, curve_ax) = _figure(14.0, 4.0, ncols=3)
    ce = next((r for r in rows if r["method"] == "cross_entropy"), None)
    colors = {"cross_entropy": "black", "reinforce": "tab:blue", "maxrl": "tab:red"}
    for metric, ax in (("train_nll", nll_ax), ("grad_cosine", cos_ax)):
        for method in ("reinforce", "maxrl"):
            pts = sorted(
                (
                    r
                    for r in rows
                    if r["method"] == method and r[metric] is not None and np.isfinite(r[metric])
                ),
                key=lambda r: r["n"],
            )
            if pts:
                ax.errorbar(
                    [r["n"] for r in pts],
                    [r[metric] for r in pts],
                    yerr=[r[metric + "_std"] for r in pts],
                    marker="o",
                    capsize=3,
                    color=colors[method],
                    label=method,
                )
        if ce is not None:
            level = ce[metric] if metric == "train_nll" else 1.0
            ax.axhline(level, color="black", ls="--", label="cross-entropy")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("N, sampled labels per example (log2)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    nll_ax.set_yscale("log")
    nll_ax.set_ylabel("train NLL after training (log scale)")
    nll_ax.set_title("train negative log-likelihood")
    cos_ax.set_ylabel("cos(E[gradient], log-likelihood gradient)")
    cos_ax.set_title("expected-gradient direction vs cross-entropy")

    n_max = max((r.n for r in runs if r.method != "cross_entropy"), default=0)
    for method in ("reinforce", "maxrl", "cross_entropy"):
        sel = [r for r in runs if r.method == method and r.n == (0 if method == "cross_entropy" else n_max)]
        if sel:
            curve = np.mean([r.curve_train_nll for r in sel], axis=0)
            dashed = method == "cross_entropy"
            label = "cross-entropy" if dashed else f"{method}, N = {n_max}"
            curve_ax.plot(
                sel[0].curve_steps, curve, color=colors[method], ls="--" if dashed else "-", label=label
            )
    curve_ax.set_yscale("log")
    curve_ax.set_xlabel("training step")
    curve_ax.set_ylabel("train NLL (mean over seeds, log scale)")
    curve_ax.set_title("learning curves" + (f" ({steps} steps)" if steps else ""))
    curve_ax.grid(True, which="both", alpha=0.3)
    curve_ax.legend(fontsize=8)
    return _save(fig, path)
