"""Tables, figure and write-up of :mod:`maxrl_rs.experiments.maze_scaling`, from its saved JSON.

Every number in ``maze_scaling.md`` is computed here from ``maze_scaling.json`` (the per-maze sample counts
and the per-step logs), so ``--summarise-only`` rewrites the write-up from the raw data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maxrl_rs.evaluation.report import PassAtKReport, mean_std, scaling_efficiency
from maxrl_rs.experiments.maze import METHODS, pooled
from maxrl_rs.experiments.maze_scaling import HARD

TABLE_KS = (1, 4, 16, 64, 256)
# Interpretation of the run recorded in docs/results/maze_scaling.json, written after reading it (the
# computed bullets of the Reading section are regenerated from the JSON; this text is not).
DISCUSSION = """### What matches the paper

- **Coverage grows with N for MaxRL only.** From N = 4 to 64 (three seeds each) MaxRL's pass@64 and pass@256
  rise by +14.1 and +9.9 points while GRPO's stay flat (−1.1, −0.5) and RLOO's fall (−8.4, −8.9). At N = 64
  MaxRL ends at the SFT start's coverage (pass@256 93.2 ± 0.9% against the start's 93.8%: 60 of 64 mazes
  solved at least once), GRPO at 84.4 ± 5.4% and RLOO at 68.2 ± 17.1%. MaxRL leads GRPO by +12.4 points at
  pass@64 (86.5 ± 2.5 vs 74.1 ± 6.4; by seed +16.8, +9.4, +11.0) and its scaling efficiency over GRPO is
  5.6× (below 1× at N = 4, 2.0× at N = 16): both past the targets set for this experiment (+10 points,
  4×). The single-N experiment of [maze.md](maze.md) (N = 8) had every method, MaxRL included, end well
  below the SFT start at large k; at N = 64 MaxRL no longer does.
- **At N = 4 MaxRL has no edge**, as the theory says it should not: with 4 rollouts the objective is of
  order 3, close to pass@1. MaxRL and GRPO are level within the seed spread at every k (pass@64 72.4 ± 5.1
  vs 75.2 ± 6.4).
- **MaxRL puts more of its update on hard prompts, more so as N grows.** Its share of Σ|A| on prompts
  with batch pass rate < 0.25 is 0.67 ± 0.06 at N = 16 and 0.83 ± 0.05 at N = 64, against GRPO's
  0.46 ± 0.02 and 0.58 ± 0.06 and RLOO's 0.41 ± 0.07 and 0.45 ± 0.07 (figure, bottom row). This is the
  mechanism the paper names: the weight of a prompt solved with rate p grows like 1/p up to order N − 1, so
  a larger N lets MaxRL pay for rarely solved mazes where GRPO's std-normalised weight saturates.
- J^(256), the order-256 MaxRL objective estimate (→ mean log pass rate), is best for MaxRL at every N and
  improves with N (−3.09 → −2.72 → −2.49; the SFT start is −2.79, so at N = 16 and 64 MaxRL improves on
  it); GRPO's and RLOO's stay below the start at every N.

### What does not

- **pass@1.** The paper's MaxRL also leads at pass@1. Here it does not: MaxRL's pass@1 is flat in N
  (14.5 / 15.8 / 15.9%) while GRPO's rises (11.7 → 18.9 → 18.7%), so at N = 16 and 64 GRPO is ahead by
  about 3 points (18.9 ± 1.3 vs 15.8 ± 1.8; 18.7 ± 1.5 vs 15.9 ± 1.1). At this short budget (60 steps,
  lr 1e-4) pass@1 moves most by sharpening mazes the policy already solves often, which is where GRPO and
  RLOO put most of their weight and MaxRL puts less; the paper trains far longer. The long run (one seed)
  points the same way: MaxRL's pass@1 keeps rising (17.7 → 21.2 → 22.3% at steps 60 / 120 / 180) while it
  keeps more coverage than GRPO, but after 180 steps GRPO is still ahead at pass@1 (28.5%).
- **RL does not keep the SFT start's coverage at N = 16, even MaxRL.** Over 180 steps MaxRL's pass@256
  stays at 86–89% (the start is 93.8%), GRPO's falls 81.2 → 75.0% and RLOO's 78.1 → 57.8% while their
  pass@1 rises: RLOO in particular trades coverage for pass@1. Only N = 64 kept the start's coverage,
  and only over 60 steps: a long run at N = 64 (≈ 3 minutes per 60 steps on a quiet core) is not part of
  the default command.
- **At equal cost, more prompts beat more rollouts at pass@1, and MaxRL's large-k edge shrinks.** With
  128 rollouts per step, 32 prompts × 4 rollouts gives every method its best pass@1 (22.2–23.2%) and
  2 prompts × 64 its worst (13.2–15.9%). MaxRL's coverage is best with 64 or 16 rollouts per prompt
  (pass@256 89.6 ± 2.4 and 87.5 ± 1.6%, vs 80.7 ± 5.5% at N = 4), and it stays ahead of GRPO at large k
  at every split, but by less than in the sweep: scaling efficiency 2.3× at N = 4, 2.0× at 16 and 1.6× at
  64, where the pass@256 gap (89.6 vs 87.5 ± 8.3) is inside GRPO's seed spread. So the headline above
  (N = 64, 5.6×) combines a larger N with a 4× larger budget than the N = 16 runs; the equal-budget rows
  separate the two.

### How far to trust it

- Three seeds for every sweep and equal-budget cell; one seed for the long run. The seed-to-seed std is
  1–6 points for MaxRL and GRPO at every k, up to 17 points for RLOO at N = 64 (one seed collapsed to
  pass@256 54.7%). The N = 64 gap over GRPO at pass@64 (+12.4) is about three standard errors of the
  difference, and holds on every seed.
- 64 held-out mazes: one maze is 1.6 points of "solved ≥ 1", which with n = 256 samples is pass@256 by
  definition (pass@n is the fraction of prompts with at least one success).
- At N = 4 the hard share is 0 by construction (a prompt with one success out of 4 has pass rate 0.25).
- The setting is small: 7×7 mazes (4×4 cells), a 264k-parameter model, 60 steps of 8 prompts; the
  paper's 17×17 mazes and training length are out of reach of one CPU core.

## How the sizes were chosen

- **Start.** Candidates measured on 64 held-out mazes with 64 samples each (SFT at lr 3e-3, batch 32):
  7×7 after 100 steps: pass@1 0.032, 36% of mazes never solved; 7×7 after 150 steps: pass@1 0.122,
  per-maze pass rates spread with quartiles 0.03 / 0.09 / 0.21 and 12.5% never solved; 9×9 after 150
  steps: 0.020 with 56% never solved; 9×9 after 300 steps: 0.066 with 39% never solved. 7×7 after 150
  steps is weak (pass@1 ≤ 0.15) with the widest spread of per-maze rates and few all-fail mazes (which
  give no signal to any estimator), and is the cheapest per rollout; on the evaluation set it measures
  pass@1 0.112 and pass@256 0.938.
- **RL.** lr 1e-4 and 5 warm-up steps as in [maze.md](maze.md), where 1e-3 collapsed every method and
  3e-4 was noisy. 8 prompts × 60 steps puts the N = 64 runs at 30,720 rollouts; one N = 64 step took
  2.5–6.5 s (quiet to loaded machine), about 80% of it the update (forward and backward over 512 sequences
  of ~75 tokens) once rollouts used `fast_sample`.
- **Time.** The 48 runs add up to 98 minutes of one core (training and evaluation, from the JSON). They were
  recorded in three invocations that share the SFT start: the seed-0 grid with seeds 1 and 2 at N = 16 and
  the long runs (63 minutes under load average 5–14), then seeds 1 and 2 of the other cells as two
  processes with disjoint `--seeds` (18 minutes each, in parallel). The SFT start was made again for the
  later ones and evaluated identically to the first. The default command runs all 48 in one invocation.
"""
COLORS = {"maxrl": "tab:red", "grpo": "tab:blue", "rloo": "tab:green"}


def final_report(run: dict[str, Any]) -> PassAtKReport:
    """The evaluation of a run's last checkpoint."""
    return PassAtKReport.from_dict(run["reports"][max(run["reports"], key=int)])


def solved_frac(report: PassAtKReport) -> float:
    """Fraction of held-out mazes solved by at least one of the n samples."""
    return float(np.mean(np.asarray(report.prompt_c) > 0))


def hard_share(run: dict[str, Any], last: int | None = None) -> float:
    """Mean over steps (the last ``last`` if given) of the share of Σ|A| on prompts with pass rate < 0.25."""
    vals = [s["hard_weight_share"] for s in run["steps_log"] if s["hard_weight_share"] is not None]
    vals = vals[-last:] if last else vals
    return float(np.mean(vals)) if vals else float("nan")


def select(result: dict[str, Any], group: str, **match: Any) -> list[dict[str, Any]]:
    """Runs of ``group`` whose fields equal ``match``, ordered by seed."""
    runs = [r for r in result["runs"].values() if r["group"] == group]
    runs = [r for r in runs if all(r[k] == v for k, v in match.items())]
    return sorted(runs, key=lambda r: r["seed"])


def mid_k(report: PassAtKReport) -> int:
    """64 (the k of the paper's headline comparison), or the middle k when n is smaller."""
    return 64 if 64 in report.ks else report.ks[len(report.ks) // 2]


def _ks(report: PassAtKReport) -> list[int]:
    return [k for k in TABLE_KS if k in report.ks]


def _cell(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    m, s = mean_std(list(values))
    if len(values) > 1:
        return f"{scale * m:.{digits}f} ± {scale * s:.{digits}f}"
    return f"{scale * m:.{digits}f}"


def _row(label: str, runs: Sequence[dict[str, Any]], ks: Sequence[int], extra: Sequence[str] = ()) -> str:
    reps = [final_report(r) for r in runs]
    cells = [label, *extra, str(len(runs))]
    cells += [_cell([r.value_at(k) for r in reps]) for k in ks]
    cells.append(_cell([solved_frac(r) for r in reps]))
    cells.append(_cell([r.maxrl_objective[-1] for r in reps], scale=1.0, digits=3))
    cells.append(_cell([hard_share(r) for r in runs], scale=1.0, digits=2))
    return "| " + " | ".join(cells) + " |"


def _sft_row(sft: PassAtKReport, ks: Sequence[int], blanks: int) -> str:
    cells = ["SFT start", *["—"] * blanks, "1"]
    cells += [f"{100 * sft.value_at(k):.1f}" for k in ks]
    cells += [f"{100 * solved_frac(sft):.1f}", f"{sft.maxrl_objective[-1]:.3f}", "—"]
    return "| " + " | ".join(cells) + " |"


def _head(ks: Sequence[int], n_eval: int, extra: Sequence[str] = ()) -> str:
    head = [
        "method",
        *extra,
        "seeds",
        *[f"pass@{k}" for k in ks],
        "solved ≥ 1",
        f"J^({n_eval})",
        "hard share",
    ]
    return "| " + " | ".join(head) + " |\n|" + "---|" * len(head)


def sweep_table(result: dict[str, Any]) -> str:
    sft = PassAtKReport.from_dict(result["sft"])
    ks = _ks(sft)
    c = result["config"]
    lines = [_head(ks, sft.n, ["N", "rollouts/run"]), _sft_row(sft, ks, 2)]
    for n in c["ns"]:
        for m in c["methods"]:
            runs = select(result, "sweep", method=m, n=n)
            if runs:
                lines.append(_row(m, runs, ks, [str(n), f"{runs[0]['rollouts']:,}"]))
    return "\n".join(lines)


def budget_table(result: dict[str, Any]) -> str:
    sft = PassAtKReport.from_dict(result["sft"])
    ks = _ks(sft)
    c = result["config"]
    budget = c["budget_n"] * c["prompts_per_step"]
    lines = [_head(ks, sft.n, ["N × prompts"])]
    for n in c["ns"]:
        for m in c["methods"]:
            group = "sweep" if n == c["budget_n"] else "budget"
            runs = select(result, group, method=m, n=n, prompts=budget // n)
            if runs:
                lines.append(_row(m, runs, ks, [f"{n} × {budget // n}"]))
    return "\n".join(lines)


def long_table(result: dict[str, Any]) -> str:
    sft = PassAtKReport.from_dict(result["sft"])
    ks = _ks(sft)
    head = ["method", "step", *[f"pass@{k}" for k in ks], "solved ≥ 1", f"J^({sft.n})"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append(
        "| SFT start | 0 | "
        + " | ".join(f"{100 * sft.value_at(k):.1f}" for k in ks)
        + f" | {100 * solved_frac(sft):.1f} | {sft.maxrl_objective[-1]:.3f} |"
    )
    for m in result["config"]["long_methods"]:
        for run in select(result, "long", method=m):
            for step in sorted(run["reports"], key=int):
                r = PassAtKReport.from_dict(run["reports"][step])
                cells = [m, step, *[f"{100 * r.value_at(k):.1f}" for k in ks]]
                cells += [f"{100 * solved_frac(r):.1f}", f"{r.maxrl_objective[-1]:.3f}"]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def efficiencies(result: dict[str, Any], group: str = "sweep") -> dict[int, dict[str, str]]:
    """Test-time scaling efficiency of MaxRL over each baseline at every N (pass@k pooled over seeds)."""
    c = result["config"]
    out: dict[int, dict[str, str]] = {}
    for n in c["ns"]:
        reps = {m: [final_report(r) for r in select(result, group, method=m, n=n)] for m in c["methods"]}
        if not reps.get("maxrl"):
            continue
        a = pooled(reps["maxrl"], "maxrl")
        for base in ("grpo", "rloo"):
            if reps.get(base):
                e = scaling_efficiency(a, pooled(reps[base], base))
                out.setdefault(n, {})[base] = e.short()
    return out


def _smooth(values: Sequence[float | None], width: int = 5) -> np.ndarray:
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    out = np.full_like(v, np.nan)
    for i in range(len(v)):
        w = v[max(0, i - width + 1) : i + 1]
        w = w[~np.isnan(w)]
        out[i] = w.mean() if w.size else np.nan
    return out


def plot(result: dict[str, Any], path: Path) -> Path:
    """pass@1 / pass@64 / pass@256 vs N per method, the hard-prompt share over training, the long run."""
    from matplotlib.figure import Figure

    c = result["config"]
    sft = PassAtKReport.from_dict(result["sft"])
    fig = Figure(figsize=(15, 7.5), layout="constrained")
    axes = fig.subplots(2, 3)
    ns = c["ns"]
    for ax, k in zip(axes[0], (1, mid_k(sft), sft.n), strict=True):
        for m in c["methods"]:
            xs, ys, es = [], [], []
            for n in ns:
                runs = select(result, "sweep", method=m, n=n)
                if runs:
                    mean, std = mean_std([final_report(r).value_at(k) for r in runs])
                    xs.append(n)
                    ys.append(mean)
                    es.append(std)
            ax.errorbar(xs, ys, yerr=es, marker="o", color=COLORS.get(m), label=m, capsize=3)
        ax.axhline(sft.value_at(k), color="gray", ls="--", label="SFT start")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("rollouts per prompt N (same prompts per step)")
        ax.set_ylabel(f"held-out pass@{k}")
        ax.set_title(f"pass@{k} vs N")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    # At N <= 4 a prompt with any success has batch pass rate >= 0.25: only all-fail prompts (A = 0) are
    # "hard", so the share is 0 by construction; show the two largest N.
    for ax, n in zip(axes[1][:2], sorted(ns)[-2:] if len(ns) > 1 else [ns[0]] * 2, strict=True):
        seeds = 0
        for m in c["methods"]:
            runs = select(result, "sweep", method=m, n=n)
            if not runs:
                continue
            seeds = max(seeds, len(runs))
            # Mean over seeds per step (steps without signal are NaN and left out), then a 5-step mean.
            per_step = np.array(
                [
                    [
                        np.nan if s["hard_weight_share"] is None else s["hard_weight_share"]
                        for s in r["steps_log"]
                    ]
                    for r in runs
                ],
                dtype=float,
            )
            seen = ~np.isnan(per_step)
            sums, counts = np.where(seen, per_step, 0.0).sum(axis=0), seen.sum(axis=0)
            share = _smooth([float(t / c) if c else None for t, c in zip(sums, counts, strict=True)])
            ax.plot(np.arange(1, len(share) + 1), share, color=COLORS.get(m), label=m)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("RL step")
        ax.set_ylabel("share of Σ|A| on prompts with pass rate < 0.25")
        ax.set_title(f"hard-prompt share, N = {n} ({seeds}-seed mean, 5-step mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[1][2]
    for m in c["long_methods"]:
        for run in select(result, "long", method=m)[:1]:
            steps = [0, *sorted(map(int, run["reports"]))]
            reps = [sft, *[PassAtKReport.from_dict(run["reports"][str(s)]) for s in steps[1:]]]
            ax.plot(
                steps,
                [r.value_at(sft.n) for r in reps],
                marker="o",
                color=COLORS.get(m),
                label=f"{m} pass@{sft.n}",
            )
            ax.plot(
                steps,
                [r.value_at(1) for r in reps],
                marker="s",
                ls=":",
                color=COLORS.get(m),
                label=f"{m} pass@1",
            )
    ax.set_xlabel("RL step")
    ax.set_ylabel("held-out pass@k")
    ax.set_title(f"long run, N = {c['long_n']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def findings(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers the reading rests on."""
    c = result["config"]
    sft = PassAtKReport.from_dict(result["sft"])
    ns = c["ns"]
    lo, hi = min(ns), max(ns)

    def at(m: str, n: int, k: int, group: str = "sweep") -> float:
        runs = select(result, group, method=m, n=n)
        return float(np.mean([final_report(r).value_at(k) for r in runs])) if runs else float("nan")

    out: dict[str, Any] = {"lo": lo, "hi": hi, "k_max": sft.n, "k_mid": mid_k(sft), "ns": list(ns)}
    out["methods"] = list(c["methods"])
    for m in c["methods"]:
        for k in (1, mid_k(sft), sft.n):
            out[f"{m}@{k}:gain"] = at(m, hi, k) - at(m, lo, k)
            out[f"{m}@{k}:hi"] = at(m, hi, k)
        for n in ns:
            runs = select(result, "sweep", method=m, n=n)
            out[f"{m}:share@{n}"] = float(np.mean([hard_share(r) for r in runs])) if runs else float("nan")
    out["sft"] = {k: sft.value_at(k) for k in (1, mid_k(sft), sft.n)}
    return out


def _reading(result: dict[str, Any]) -> str:
    f = findings(result)
    lo, hi, kmax, kmid = f["lo"], f["hi"], f["k_max"], f["k_mid"]
    out = []
    for k in (1, kmid, kmax):
        parts = [f"{m} {100 * f[f'{m}@{k}:gain']:+.1f}" for m in METHODS if f"{m}@{k}:gain" in f]
        out.append(f"- pass@{k} change from N = {lo} to N = {hi} (points): " + ", ".join(parts) + ".")
    if f"grpo@{kmid}:hi" in f and f"maxrl@{kmid}:hi" in f:
        d = 100 * (f[f"maxrl@{kmid}:hi"] - f[f"grpo@{kmid}:hi"])
        out.append(
            f"- At N = {hi}, MaxRL minus GRPO at pass@{kmid}: {d:+.1f} points "
            f"({'meets' if d >= 10 else 'short of'} the +10 targeted)."
        )
    ns = f["ns"]
    shares = [
        f"{m} " + " / ".join(f"{f[f'{m}:share@{n}']:.2f}" for n in ns) for m in METHODS if m in f["methods"]
    ]
    note = "."
    if min(ns) * HARD <= 1:
        note = (
            f" (at N = {min(ns)} a prompt with any success has pass rate ≥ 1/{min(ns)} ≥ {HARD}: only "
            "all-fail prompts, whose advantages are 0, count as hard, so the share is 0 by construction)."
        )
    out.append(
        "- Mean share of the update weight Σ|A| on hard prompts (batch pass rate < 0.25) at N = "
        + " / ".join(map(str, ns))
        + ": "
        + ", ".join(shares)
        + note
    )
    return "\n".join(out)


def _describe_eff(eff: dict[int, dict[str, str]]) -> str:
    parts = [f"N = {n}: " + ", ".join(f"over {b} {v}" for b, v in e.items()) for n, e in eff.items()]
    return "; ".join(parts) or "—"


def markdown(result: dict[str, Any], discussion: str = "") -> str:
    c = result["config"]
    sft = PassAtKReport.from_dict(result["sft"])
    secs = result.get("seconds", {})
    train_s = sum(r["train_seconds"] for r in result["runs"].values())
    eval_s = sum(r["eval_seconds"] for r in result["runs"].values())
    cells = (c["size"] + 1) // 2
    eff = efficiencies(result)
    eff_lines = "\n".join(
        f"| {n} | " + " | ".join(e.get(b, "—") for b in ("grpo", "rloo")) + " |" for n, e in eff.items()
    )
    beff = efficiencies(result, "budget")
    command = result.get("command", "python -m maxrl_rs.experiments.maze_scaling --out docs/results")
    budget = c["budget_n"] * c["prompts_per_step"]
    extra = f"; extra seeds {c['extra_seeds']} at N = {c['extra_seeds_n']}" if c["extra_seeds"] else ""
    return f"""# Maze: more rollouts per prompt, MaxRL vs GRPO vs RLOO

MaxRL with N rollouts per prompt optimises a truncated maximum-likelihood objective of order N − 1; GRPO and
RLOO estimate the pass@1 gradient with less variance as N grows (Tajwar et al. 2026, arXiv 2602.02710, §6).
This is that comparison on the CPU-sized maze task of [maze.md](maze.md), from one SFT start.

## Settings

- Task: Prim's mazes on a {c["size"]}×{c["size"]} grid ({cells}×{cells} cells); the maze task's tiny
  Llama-style transformer (hidden {c["hidden_size"]}, {c["num_layers"]} layers), SFT on BFS paths for
  {c["sft_steps"]} steps × {c["sft_batch_size"]} mazes at lr {c["sft_lr"]}. Every run starts from this model.
- RL: AdamW lr {c["lr"]} ({c["warmup_steps"]} warm-up steps), token-mean loss, one on-policy update per step,
  temperature 1; estimators `maxrl`, `grpo`, `rloo` from `maxrl_rs.advantages`. Nothing tuned per method.
- **N sweep**: {c["prompts_per_step"]} prompts per step for {c["rl_steps"]} steps at N ∈ {c["ns"]}, seed(s)
  {c["seeds"]}{extra} (mean ± std over seeds where there are several).
- **Equal budget**: {budget} rollouts per step at every N (N × prompts per step), {c["rl_steps"]} steps.
- **Long run**: N = {c["long_n"]}, {c["long_steps"]} steps (the single-N maze experiment runs 60), evaluated
  every {c["long_eval_every"]} steps.
- Evaluation: the same {c["eval_prompts"]} held-out mazes for every policy, n = {c["eval_n"]} samples each at
  temperature 1 under a fixed seed; unbiased pass@k; "solved ≥ 1" is the fraction of mazes with at least one
  correct sample; J^({sft.n}) is the MaxRL objective estimate of that order (`maxrl_rs.maxrl_objective`,
  → mean log pass rate); "hard share" is the per-step share of Σ|A| on prompts whose batch pass rate is
  below 0.25, averaged over training.
- Time: SFT {secs.get("sft") or 0:.0f} s, RL {train_s / 60:.1f} min, evaluation {eval_s / 60:.1f} min on
  {result.get("machine", "?")}, one torch thread, shared with other work.

Reproduce: `{command}`

## N sweep (same prompts per step: the budget grows with N)

pass@k and solved ≥ 1 in percent:

{sweep_table(result)}

Test-time scaling efficiency of MaxRL (pass@k pooled over seeds; the k at which MaxRL reaches the baseline's
pass@{sft.n}, as in [maze.md](maze.md)):

| N | over GRPO | over RLOO |
|---|---|---|
{eff_lines}

![pass@k vs N, hard-prompt share, long run](maze_scaling.png)

## Equal budget ({budget} rollouts per step)

{budget_table(result)}

Scaling efficiency of MaxRL at equal budget: {_describe_eff(beff)} (N = {c["budget_n"]}: the sweep above).

## Long run: does RL keep the SFT start's coverage?

{long_table(result)}

## Reading

{_reading(result)}

{discussion}
"""


def write_outputs(result: dict[str, Any], out: Path, discussion: str = "") -> None:
    """``maze_scaling.md`` and ``maze_scaling.png`` beside the JSON."""
    out.mkdir(parents=True, exist_ok=True)
    plot(result, out / "maze_scaling.png")
    (out / "maze_scaling.md").write_text(markdown(result, discussion or DISCUSSION))
    print(sweep_table(result))
