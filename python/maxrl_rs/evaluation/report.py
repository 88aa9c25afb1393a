"""pass@k reports from per-prompt sample counts, and test-time scaling efficiency (docs/evaluation.md).

Evaluation samples n responses for each held-out prompt and counts the correct ones, c. Everything after the
sampling works from those counts alone, so this module needs neither torch nor a model:

- unbiased pass@k for each requested k (mean over prompts of 1 − C(n − c, k)/C(n, k));
- the MaxRL objective J^(T) = −Σ_{k=1}^{T} fail@k / k estimated for T in the same list (J^(1) = pass@1 − 1,
  J^(T) → log p as T grows; Tajwar et al. 2026, arXiv 2602.02710, §3);
- a histogram of per-prompt pass rates c/n;
- the test-time scaling efficiency of a run over a baseline: the smallest k at which the baseline reaches its
  pass@k_max (k_max itself while its curve still rises) divided by the smallest k at which the run does.

JSON report schema (``PassAtKReport.to_dict``; ``schema`` = ``"maxrl-rs/passk-report/v1"``)::

    {
      "schema": "maxrl-rs/passk-report/v1",
      "run": str,                     # run name (a run or model directory, or any label)
      "task": str,                    # task name, e.g. "maze"
      "n": int,                       # samples per prompt (the smallest, if prompts differ)
      "num_prompts": int,
      "ks": [int],                    # ascending, each 1 <= k <= n
      "pass_at_k": [float],           # mean unbiased pass@k over prompts, aligned with ks
      "maxrl_objective": [float],     # mean unbiased J^(T) estimate over prompts for T = ks[i]
      "prompts": {"ids": [str], "n": [int], "c": [int]},   # per-prompt counts; everything above follows
      "histogram": {"edges": [float], "counts": [int],     # pass rate c/n in equal-width bins on [0, 1]
                    "all_fail": int, "all_pass": int},     # prompts with c = 0 and with c = n
      "meta": {...}                   # free-form: sampling settings, checkpoint, timings
    }
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.atomic import write_text
from maxrl_rs.errors import InvalidInputError
from maxrl_rs.passk import maxrl_objective, pass_at_k_curve

SCHEMA = "maxrl-rs/passk-report/v1"

# A run "reaches" a pass@k value when it is within this of it: the means are over the same finite counts, so a
# tie computed along two paths must not be lost to rounding.
_REACH_TOL = 1e-12


def default_ks(n: int) -> list[int]:
    """Powers of two up to ``n``, plus ``n`` itself: 1, 2, 4, …, n."""
    if n < 1:
        raise InvalidInputError(f"n must be >= 1, got {n}")
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) <= n]
    if ks[-1] != n:
        ks.append(n)
    return ks


def parse_ks(text: str | Sequence[int] | None, n: int) -> list[int]:
    """ks from ``"1,2,4"`` (or a sequence, or None for :func:`default_ks`); sorted, unique, each in 1..n."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return default_ks(n)
    items: Iterable[Any] = text.split(",") if isinstance(text, str) else text
    ks = []
    for i, item in enumerate(items):  # every item an integer first: a typo is named before a range
        try:
            ks.append(int(str(item).strip()))
        except ValueError:
            raise InvalidInputError(f"ks[{i}] is not an integer: {item!r}") from None
    for i, k in enumerate(ks):
        if not 1 <= k <= n:
            raise InvalidInputError(f"ks[{i}] = {k} is outside 1..n = 1..{n}")
    return sorted(set(ks))


@dataclass(frozen=True)
class PassRateHistogram:
    """Per-prompt pass rates c/n binned on [0, 1]; ``all_fail`` and ``all_pass`` count c = 0 and c = n."""

    edges: list[float]
    counts: list[int]
    all_fail: int
    all_pass: int

    @classmethod
    def from_counts(cls, n: np.ndarray, c: np.ndarray, bins: int = 10) -> PassRateHistogram:
        if bins < 1:
            raise InvalidInputError(f"bins must be >= 1, got {bins}")
        edges = np.linspace(0.0, 1.0, bins + 1)
        counts, _ = np.histogram(c / n, bins=edges)
        return cls(
            edges=edges.tolist(),
            counts=counts.astype(int).tolist(),
            all_fail=int(np.count_nonzero(c == 0)),
            all_pass=int(np.count_nonzero(c == n)),
        )


@dataclass(frozen=True)
class PassAtKReport:
    """pass@k and J^(T) of one run on one task, with the per-prompt counts they were computed from."""

    run: str
    task: str
    n: int
    ks: list[int]
    pass_at_k: list[float]
    maxrl_objective: list[float]
    prompt_ids: list[str]
    prompt_n: list[int]
    prompt_c: list[int]
    histogram: PassRateHistogram
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_prompts(self) -> int:
        return len(self.prompt_n)

    @property
    def k_max(self) -> int:
        return self.ks[-1]

    def value_at(self, k: int) -> float:
        """pass@k for a k in ``ks``."""
        try:
            return self.pass_at_k[self.ks.index(k)]
        except ValueError:
            raise InvalidInputError(f"k = {k} is not among the report's ks {self.ks}") from None

    def full_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """pass@k for every k in 1..n, recomputed from the per-prompt counts."""
        curve = pass_at_k_curve(np.asarray(self.prompt_n), np.asarray(self.prompt_c))
        return curve.ks, curve.values

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run": self.run,
            "task": self.task,
            "n": self.n,
            "num_prompts": self.num_prompts,
            "ks": list(self.ks),
            "pass_at_k": list(self.pass_at_k),
            "maxrl_objective": list(self.maxrl_objective),
            "prompts": {"ids": list(self.prompt_ids), "n": list(self.prompt_n), "c": list(self.prompt_c)},
            "histogram": {
                "edges": list(self.histogram.edges),
                "counts": list(self.histogram.counts),
                "all_fail": self.histogram.all_fail,
                "all_pass": self.histogram.all_pass,
            },
            "meta": dict(self.meta),
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def from_dict(cls, d: Any) -> PassAtKReport:
        """Rebuild a report from its JSON form.

        pass@k and J^(T) are recomputed from the per-prompt counts; stored values that disagree with them
        (an edited or corrupted file) are an error.

        Raises:
            InvalidInputError: another schema, a missing or null key, a value of the wrong type or length,
                counts outside 0 <= c <= n, or stored values (``n``, ``num_prompts``, ``pass_at_k``,
                ``maxrl_objective``) that disagree with the counts; the message names the key and the value.
        """
        if not isinstance(d, dict):
            raise InvalidInputError(f"a report is a JSON object, got {type(d).__name__}")
        if d.get("schema") != SCHEMA:
            raise InvalidInputError(f"schema is {d.get('schema')!r}, expected {SCHEMA!r}")
        for key in ("run", "task", "ks", "prompts"):
            if key not in d:
                raise InvalidInputError(f"report is missing key {key!r}")
        for key in ("run", "task"):
            if not isinstance(d[key], str):
                raise InvalidInputError(f"{key} must be a string, got {d[key]!r}")
        p = d["prompts"]
        if not isinstance(p, dict):
            raise InvalidInputError(f"prompts must be an object with ids, n and c, got {_brief(p)}")
        for key in ("n", "c"):
            if key not in p:
                raise InvalidInputError(f"report is missing key 'prompts.{key}'")
        n, c = _int_list(p["n"], "prompts.n"), _int_list(p["c"], "prompts.c")
        if len(n) != len(c):
            raise InvalidInputError(f"prompts.n has {len(n)} entries but prompts.c has {len(c)}")
        ids = p.get("ids")
        if ids is not None and (not isinstance(ids, list) or len(ids) != len(c)):
            raise InvalidInputError(
                f"prompts.ids must be a list of {len(c)} ids (one per count), got {_brief(ids)}"
            )
        ks = _int_list(d["ks"], "ks")
        hist = d.get("histogram")
        counts = hist.get("counts") if isinstance(hist, dict) else None
        meta = d.get("meta", {})
        if not isinstance(meta, dict):
            raise InvalidInputError(f"meta must be an object, got {_brief(meta)}")
        report = passk_report(
            n,
            c,
            run=d["run"],
            task=d["task"],
            ks=ks,
            prompt_ids=ids,
            bins=len(counts) if isinstance(counts, list) and counts else 10,
            meta=meta,
        )
        for key, fresh in (("n", report.n), ("num_prompts", report.num_prompts)):
            if key in d and d[key] != fresh:
                raise InvalidInputError(
                    f"{key} = {d[key]!r} in the report, but its per-prompt counts give {fresh}"
                    + (" (the smallest prompts.n)" if key == "n" else "")
                )
        for key in ("pass_at_k", "maxrl_objective"):
            if key in d:
                _check_stored(d[key], getattr(report, key), report.ks, key)
        return report

    @classmethod
    def load(cls, path: str | Path) -> PassAtKReport:
        """The report saved at ``path`` (``SCHEMA``); errors name the file (see :func:`load_reports`)."""
        return _in_file(path, lambda d: [cls.from_dict(d)])[0]


def _brief(value: Any, limit: int = 60) -> str:
    """``value`` for an error message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int_list(value: Any, key: str) -> list[int]:
    """``value`` as a list of integers (an integral float such as 3.0 counts); errors name ``key``."""
    if value is None:
        raise InvalidInputError(f"{key} is null: need a list of integers")
    if not isinstance(value, list):
        raise InvalidInputError(f"{key} must be a list of integers, got {_brief(value)}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
            raise InvalidInputError(f"{key}[{i}] = {_brief(v)} is not an integer")
    return [int(v) for v in value]


def _check_stored(stored: Any, fresh: Sequence[float], ks: Sequence[int], key: str) -> None:
    """Stored means (``pass_at_k`` or ``maxrl_objective``, aligned with ``ks``) equal those recomputed."""
    if not isinstance(stored, list) or len(stored) != len(ks):
        got = f"{len(stored)} values" if isinstance(stored, list) else _brief(stored)
        raise InvalidInputError(f"{key} must hold one value per k in ks = {list(ks)}, got {got}")
    for k, v, f in zip(ks, stored, fresh, strict=True):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InvalidInputError(f"{key} at k = {k} is {_brief(v)}, not a number")
        if not abs(v - f) <= 1e-9:
            raise InvalidInputError(
                f"{key} in the report does not match its per-prompt counts at k = {k}: stored {v!r}, "
                f"recomputed {f!r} (the report was edited or damaged)"
            )


def passk_report(
    n: Any,
    c: Any,
    *,
    run: str,
    task: str,
    ks: Sequence[int] | str | None = None,
    prompt_ids: Sequence[Any] | None = None,
    bins: int = 10,
    meta: dict[str, Any] | None = None,
) -> PassAtKReport:
    """Build a :class:`PassAtKReport` from per-prompt sample counts.

    Args:
        n: samples per prompt (an int for all prompts, or one per prompt).
        c: correct samples per prompt, 0 <= c <= n.
        run, task: labels stored in the report.
        ks: the k (and T) values; default powers of two up to n, plus n. Each must be <= the smallest n.
        prompt_ids: one id per prompt (default "0", "1", …).
        bins: number of equal-width pass-rate bins on [0, 1].
        meta: free-form settings to store.
    """
    c_ = np.atleast_1d(np.asarray(c)).ravel()
    if c_.size == 0:
        raise InvalidInputError("c is empty: need at least one prompt")
    n_ = np.full(c_.shape, n) if np.ndim(n) == 0 else np.atleast_1d(np.asarray(n)).ravel()
    if n_.shape != c_.shape:
        raise InvalidInputError(f"n has {n_.size} entries but c has {c_.size}; give one n per prompt")
    for name, a in (("n", n_), ("c", c_)):
        if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(a == np.round(a))):
            raise InvalidInputError(f"{name} must hold integers, got dtype {a.dtype}")
    n_, c_ = n_.astype(np.int64), c_.astype(np.int64)
    ids = [str(i) for i in range(c_.size)] if prompt_ids is None else [str(x) for x in prompt_ids]
    if len(ids) != c_.size:
        raise InvalidInputError(f"prompt_ids has {len(ids)} entries but there are {c_.size} prompts")
    bad = np.flatnonzero((n_ < 1) | (c_ < 0) | (c_ > n_))
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(
            f"prompt {i} (id {ids[i]!r}): need 0 <= c <= n and n >= 1, got n = {n_[i]}, c = {c_[i]}"
        )
    n_min = int(n_.min())
    ks_ = parse_ks(ks, n_min)
    curve = pass_at_k_curve(n_, c_, ks_)
    objective = [float(np.mean(maxrl_objective(n_, c_, t))) for t in ks_]
    return PassAtKReport(
        run=str(run),
        task=str(task),
        n=n_min,
        ks=ks_,
        pass_at_k=[float(v) for v in curve.values],
        maxrl_objective=objective,
        prompt_ids=ids,
        prompt_n=n_.tolist(),
        prompt_c=c_.tolist(),
        histogram=PassRateHistogram.from_counts(n_, c_, bins),
        meta=dict(meta or {}),
    )


@dataclass(frozen=True)
class ScalingEfficiency:
    """Test-time scaling efficiency of ``run`` over ``baseline`` (docs/evaluation.md, the paper's definition).

    ``target`` is the baseline's pass@k_max, its best. ``baseline_k_reach`` is the smallest k at which the
    baseline itself reaches that target and ``k_reach`` the smallest k at which the run does.
    ``efficiency`` = baseline_k_reach / k_reach: how many times fewer samples the run needs to match the
    baseline's best. While the baseline's curve still rises at k_max, baseline_k_reach = k_max and this is the
    paper's k_max / k_reach; where it has gone flat (every prompt it solves is solved by k < k_max), the
    paper's ratio would credit a copy of the baseline with more than 1x, this one gives exactly 1x.
    ``status`` qualifies it:

    - ``"reached"``: the run reaches the target at some k > 1; ``efficiency`` is exact.
    - ``"at_k1"``: the run's pass@1 already reaches the target; k_reach = 1 is the smallest k that can be
      measured, so baseline_k_reach is a lower bound (the run would need "less than one sample").
    - ``"never"``: the run stays below the target up to its largest k, ``run_k_max``; k_reach is unknown and
      > run_k_max, so ``efficiency`` holds the strict upper bound baseline_k_reach / run_k_max.
    - ``"undefined"``: the baseline's pass@k_max is 0 (it never solves anything), so any run "reaches" it
      without a sample; ``efficiency`` is NaN and ``baseline_k_reach`` None (there is nothing to reach).
    """

    run: str
    baseline: str
    k_max: int
    target: float
    run_k_max: int
    k_reach: int | None
    efficiency: float
    status: str
    baseline_k_reach: int | None

    def describe(self) -> str:
        head = f"{self.run} vs {self.baseline}: baseline pass@{self.k_max} = {self.target:.4f}"
        if self.status == "undefined":
            return f"{head}: the baseline solves nothing, efficiency undefined"
        if self.baseline_k_reach is not None and self.baseline_k_reach < self.k_max:
            head += f" (first at k = {self.baseline_k_reach})"
        if self.status == "reached":
            return f"{head}, reached at k = {self.k_reach}: efficiency {self.efficiency:.3g}x"
        if self.status == "at_k1":
            return f"{head}, already reached at k = 1: efficiency >= {self.efficiency:.3g}x"
        return (
            f"{head}, never reached up to k = {self.run_k_max}: efficiency < {self.efficiency:.3g}x "
            "(the run never matches the baseline's best)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain fields for JSON; an undefined efficiency is null."""
        d = asdict(self)
        if math.isnan(d["efficiency"]):
            d["efficiency"] = None
        return d

    def short(self) -> str:
        """``12.5x``, ``>=256x``, ``<1x`` or ``n/a`` for tables."""
        if self.status == "undefined":
            return "n/a"
        if self.status == "reached":
            return f"{self.efficiency:.3g}x"
        return f"{'>=' if self.status == 'at_k1' else '<'}{self.efficiency:.3g}x"


def efficiency_from_curves(
    run_ks: Sequence[int] | np.ndarray,
    run_values: Sequence[float] | np.ndarray,
    baseline_ks: Sequence[int] | np.ndarray,
    baseline_values: Sequence[float] | np.ndarray,
    *,
    run: str = "run",
    baseline: str = "baseline",
) -> ScalingEfficiency:
    """Scaling efficiency from two pass@k curves given on ascending k grids.

    The baseline's k_max is its largest k and its target the pass@k there. k_reach (run) and
    baseline_k_reach are the smallest k on each grid where that curve is >= the target (None for a target
    of 0, status ``"undefined"``); give full 1..n curves for exact values.

    Raises:
        InvalidInputError: a curve is empty, its ks and values differ in length, or its ks are not ascending
            positive integers.
    """
    rk, rv = np.asarray(run_ks, dtype=np.int64), np.asarray(run_values, dtype=np.float64)
    bk, bv = np.asarray(baseline_ks, dtype=np.int64), np.asarray(baseline_values, dtype=np.float64)
    for name, k, v in (("run", rk, rv), ("baseline", bk, bv)):
        if k.ndim != 1 or k.size == 0 or k.shape != v.shape:
            raise InvalidInputError(f"{name} curve needs equal-length, non-empty ks and values")
        if np.any(np.diff(k) <= 0) or k[0] < 1:
            raise InvalidInputError(f"{name} ks must be ascending positive integers, got {k.tolist()}")
    k_max, target, run_k_max = int(bk[-1]), float(bv[-1]), int(rk[-1])
    found = functools.partial(ScalingEfficiency, run, baseline, k_max, target, run_k_max)
    if target <= 0.0:
        return found(None, math.nan, "undefined", None)
    k_base = int(bk[np.flatnonzero(bv >= target - _REACH_TOL)[0]])
    hit = np.flatnonzero(rv >= target - _REACH_TOL)
    if hit.size == 0:
        return found(None, k_base / run_k_max, "never", k_base)
    k_reach = int(rk[hit[0]])
    return found(k_reach, k_base / k_reach, "at_k1" if k_reach == 1 else "reached", k_base)


def check_comparable(reports: Sequence[PassAtKReport], sources: Sequence[str] | None = None) -> None:
    """Refuse reports that cannot be compared with the first: another task, or another set of prompts.

    Efficiency and side-by-side pass@k only mean something on the same prompts of the same task. Prompt
    sets are compared by their distinct ids (a report pooled over seeds repeats each id once per seed).
    ``sources`` (one per report, e.g. the file each came from) is named in the message with the run.

    Raises:
        InvalidInputError: naming both runs and their tasks, or how many prompt ids differ and the first.
    """
    if sources is not None and len(sources) != len(reports):
        raise InvalidInputError(f"{len(sources)} sources for {len(reports)} reports")

    labels = [r.run for r in unique_labels(reports)]  # two runs of one name are told apart

    def name(i: int) -> str:
        where = f" (from {sources[i]})" if sources is not None else ""
        return f"{labels[i]!r}{where}"

    base = reports[0] if reports else None
    for i, r in enumerate(reports[1:], start=1):
        assert base is not None
        if r.task != base.task:
            raise InvalidInputError(
                f"cannot compare {name(i)} on task {r.task!r} with {name(0)} on task {base.task!r}: "
                "reports must be on the same task"
            )
        mine, theirs = set(r.prompt_ids), set(base.prompt_ids)
        if mine != theirs:
            only_base = [x for x in dict.fromkeys(base.prompt_ids) if x not in mine]
            only_run = [x for x in dict.fromkeys(r.prompt_ids) if x not in theirs]
            first = (
                f"{only_base[0]!r} is in {labels[0]!r} only"
                if only_base
                else f"{only_run[0]!r} is in {labels[i]!r} only"
            )
            raise InvalidInputError(
                f"cannot compare {name(i)} with {name(0)} on task {base.task!r}: their prompts differ "
                f"({len(only_base)} of the {len(theirs)} ids of {labels[0]!r} are not in {labels[i]!r}, "
                f"{len(only_run)} of the {len(mine)} of {labels[i]!r} not in {labels[0]!r}; first: {first}); "
                f"evaluate both on the same held-out prompts{_subset_hint(mine, theirs)}"
            )


def _subset_hint(a: set[str], b: set[str]) -> str:
    """When one prompt set holds the other, how ``maxrl eval`` samples the smaller one."""
    small, large = sorted((a, b), key=len)
    if not small < large:
        return ""
    return (
        f" (all {len(small)} prompts of one are among the {len(large)} of the other: `maxrl eval --prompts "
        f"{len(small)}` samples that many held-out prompts)"
    )


def unique_labels(reports: Sequence[PassAtKReport]) -> list[PassAtKReport]:
    """The reports with repeated run labels numbered from their second use: ``a``, ``a#2``, ``a#3``."""
    seen: dict[str, int] = {}
    out = []
    for r in reports:
        count = seen.get(r.run, 0)
        seen[r.run] = count + 1
        out.append(replace(r, run=f"{r.run}#{count + 1}") if count else r)
    return out


def scaling_efficiency(run: PassAtKReport, baseline: PassAtKReport) -> ScalingEfficiency:
    """Scaling efficiency of ``run`` over ``baseline``; k_max is the baseline's largest reported k.

    Both curves are recomputed at every k in 1..n from their counts, so k_reach and baseline_k_reach are
    exact, not rounded up to the next reported k.

    Raises:
        InvalidInputError: the two are on different tasks or prompt sets (:func:`check_comparable`).
    """
    check_comparable([baseline, run])
    baseline, run = unique_labels([baseline, run])  # a run compared with a namesake is "a#2 vs a"
    ks, values = run.full_curve()
    bks, bvalues = baseline.full_curve()
    keep = bks <= baseline.k_max
    return efficiency_from_curves(ks, values, bks[keep], bvalues[keep], run=run.run, baseline=baseline.run)


def format_table(reports: Sequence[PassAtKReport], *, precision: int = 4) -> str:
    """Plain-text table: a row per k (pass@k and J^(k) of each run), then efficiencies over the first run.

    Repeated run labels are numbered (:func:`unique_labels`) so that every column is told apart.

    Raises:
        InvalidInputError: no reports, or reports on different tasks or prompts (:func:`check_comparable`).
    """
    if not reports:
        raise InvalidInputError("no reports to tabulate")
    check_comparable(reports)
    reports = unique_labels(reports)
    ks = sorted(set().union(*(r.ks for r in reports)))
    head = ["k"]
    for r in reports:
        head += [f"pass@k {r.run}", f"J^(k) {r.run}"]
    rows = [head]
    for k in ks:
        row = [str(k)]
        for r in reports:
            if k in r.ks:
                i = r.ks.index(k)
                row += [f"{r.pass_at_k[i]:.{precision}f}", f"{r.maxrl_objective[i]:.{precision}f}"]
            else:
                row += ["-", "-"]
        rows.append(row)
    widths = [max(len(row[j]) for row in rows) for j in range(len(head))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in reports:
        h = r.histogram
        lines.append(
            f"{r.run}: {r.num_prompts} prompts, n = {r.n}, all-fail {h.all_fail}, all-pass {h.all_pass}"
        )
    for r in reports[1:]:
        lines.append("efficiency: " + scaling_efficiency(r, reports[0]).describe())
    return "\n".join(lines)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of finite values."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


COMPARISON_SCHEMA = "maxrl-rs/passk-comparison/v1"


def save_reports(reports: Sequence[PassAtKReport], path: str | Path) -> Path:
    """One report: its own JSON (``SCHEMA``). Several: ``COMPARISON_SCHEMA``, the first run as baseline::

    {"schema": "maxrl-rs/passk-comparison/v1", "baseline": str, "reports": [report, ...],
     "efficiency": [{"run", "baseline", "k_max", "target", "run_k_max", "k_reach", "efficiency", "status",
                     "baseline_k_reach"}]}

    ``k_reach`` is null unless the target was reached (status ``reached`` or ``at_k1``); ``efficiency`` and
    ``baseline_k_reach`` are null when the efficiency is undefined (the baseline solves nothing). Repeated
    run labels are numbered as in :func:`format_table`.

    Raises:
        InvalidInputError: no reports, or reports on different tasks or prompts (:func:`check_comparable`).
    """
    if not reports:
        raise InvalidInputError("no reports to save")
    if len(reports) == 1:
        return reports[0].save(path)
    check_comparable(reports)
    reports = unique_labels(reports)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "schema": COMPARISON_SCHEMA,
        "baseline": reports[0].run,
        "reports": [r.to_dict() for r in reports],
        "efficiency": [scaling_efficiency(r, reports[0]).to_dict() for r in reports[1:]],
    }
    write_text(path, json.dumps(payload, indent=1) + "\n")
    return path


def load_reports(path: str | Path) -> list[PassAtKReport]:
    """The report(s) in a file written by :func:`save_reports` (either schema).

    Raises:
        InvalidInputError: the file cannot be read, is not JSON, is a run's or a model's config.json, or holds
            a report :meth:`PassAtKReport.from_dict` refuses; the message starts with the file's path.
    """
    return _in_file(path, _reports_in)


def _in_file(path: str | Path, parse: Callable[[Any], list[PassAtKReport]]) -> list[PassAtKReport]:
    """``parse`` of the JSON in ``path``; every error it raises is prefixed with the path."""
    where = str(path)
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"cannot read a pass@k report from {where!r}: {e}") from None
    if isinstance(d, dict) and "schema" not in d:
        if "task" in d and "rollout" in d:
            raise InvalidInputError(
                f"{where!r} is a training run's config, not a pass@k report: to evaluate the run, give its "
                f"directory: maxrl eval {Path(path).parent}"
            )
        if "model_type" in d:
            raise InvalidInputError(
                f"{where!r} is a model's config, not a pass@k report: to evaluate the model, give its "
                f"directory: maxrl eval {Path(path).parent}"
            )
    try:
        return parse(d)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where!r}: {e}") from None


def _reports_in(d: Any) -> list[PassAtKReport]:
    """The report, or the reports of a comparison, in a file's JSON."""
    if not isinstance(d, dict):
        raise InvalidInputError(f"does not hold a pass@k report (its top level is a {type(d).__name__})")
    if d.get("schema") != COMPARISON_SCHEMA:
        return [PassAtKReport.from_dict(d)]
    items = d.get("reports")
    if not isinstance(items, list) or not items:
        raise InvalidInputError(f"reports must be a non-empty list of reports, got {_brief(items)}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(PassAtKReport.from_dict(item))
        except InvalidInputError as e:
            raise InvalidInputError(f"reports[{i}]: {e}") from None
    return out
