"""pass@k reports, their JSON form, scaling efficiency and the pass@k plot (SPEC §5)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs.evaluation import (
    SCHEMA,
    PassAtKReport,
    default_ks,
    efficiency_from_curves,
    format_table,
    parse_ks,
    passk_report,
    scaling_efficiency,
)


def _counts(seed: int, prompts: int = 40, n: int = 32, a: float = 0.5, b: float = 0.5):
    rng = np.random.default_rng(seed)
    return rng.binomial(n, rng.beta(a, b, prompts))


def test_default_ks_are_powers_of_two_plus_n():
    assert default_ks(1) == [1]
    assert default_ks(8) == [1, 2, 4, 8]
    assert default_ks(12) == [1, 2, 4, 8, 12]
    assert parse_ks("4, 1,2,2", 8) == [1, 2, 4]
    with pytest.raises(maxrl_rs.InvalidInputError, match="ks\\[1\\] = 9"):
        parse_ks("1,9", 8)
    with pytest.raises(maxrl_rs.InvalidInputError, match="not an integer"):
        parse_ks("1,x", 8)


def test_json_values_match_pass_at_k_on_saved_counts(tmp_path):
    c = _counts(0)
    report = passk_report(32, c, run="a", task="maze", meta={"temperature": 1.0})
    path = report.save(tmp_path / "a.json")
    d = json.loads(path.read_text())
    assert d["schema"] == SCHEMA and d["run"] == "a" and d["task"] == "maze"
    assert d["n"] == 32 and d["num_prompts"] == 40 and d["ks"] == [1, 2, 4, 8, 16, 32]
    n, c_saved = np.array(d["prompts"]["n"]), np.array(d["prompts"]["c"])
    np.testing.assert_array_equal(c_saved, c)
    for k, v, j in zip(d["ks"], d["pass_at_k"], d["maxrl_objective"], strict=True):
        assert v == pytest.approx(float(np.mean(maxrl_rs.pass_at_k(n, c_saved, k))), abs=1e-12)
        assert j == pytest.approx(float(np.mean(maxrl_rs.maxrl_objective(n, c_saved, k))), abs=1e-12)
    # J^(1) = pass@1 − 1 (SPEC §5)
    assert d["maxrl_objective"][0] == pytest.approx(d["pass_at_k"][0] - 1.0, abs=1e-12)
    h = d["histogram"]
    assert sum(h["counts"]) == 40 and len(h["edges"]) == len(h["counts"]) + 1
    assert h["all_fail"] == int(np.sum(c == 0)) and h["all_pass"] == int(np.sum(c == 32))
    assert d["meta"] == {"temperature": 1.0}
    assert PassAtKReport.load(path) == report
    d["pass_at_k"][0] += 0.01
    with pytest.raises(maxrl_rs.InvalidInputError, match="does not match"):
        PassAtKReport.from_dict(d)


def test_varying_n_per_prompt_uses_smallest_n():
    report = passk_report([8, 10, 16], [1, 0, 16], run="a", task="t")
    assert report.n == 8 and report.ks == [1, 2, 4, 8]
    assert report.pass_at_k[0] == pytest.approx((1 / 8 + 0 + 1) / 3)


@pytest.mark.parametrize(
    ("n", "c", "match"),
    [(4, [5], "prompt 0"), ([4, 0], [1, 0], "prompt 1"), (4, [], "empty"), ([4, 4], [1], "one n per prompt")],
)
def test_bad_counts_are_rejected(n, c, match):
    with pytest.raises(maxrl_rs.InvalidInputError, match=match):
        passk_report(n, c, run="a", task="t")


def test_efficiency_on_constructed_curves():
    ks = [1, 2, 4, 8, 16]
    base = [0.1, 0.2, 0.3, 0.4, 0.5]
    # Reaches the baseline's pass@16 = 0.5 first at k = 4: 16 / 4 = 4x.
    e = efficiency_from_curves(ks, [0.3, 0.45, 0.5, 0.6, 0.7], ks, base)
    assert (e.status, e.k_reach, e.efficiency, e.target, e.k_max) == ("reached", 4, 4.0, 0.5, 16)
    assert e.short() == "4x"
    # Already above at k = 1: efficiency is at least k_max.
    e = efficiency_from_curves(ks, [0.55, 0.6, 0.7, 0.8, 0.9], ks, base)
    assert (e.status, e.k_reach, e.efficiency) == ("at_k1", 1, 16.0)
    assert e.short() == ">=16x" and ">=" in e.describe()
    # Never reaches: k_reach unknown, efficiency < k_max / run's largest k.
    e = efficiency_from_curves(ks, [0.1, 0.15, 0.2, 0.25, 0.3], ks, base)
    assert (e.status, e.k_reach, e.efficiency) == ("never", None, 1.0)
    assert e.short() == "<1x" and "never" in e.describe()
    # A run compared with itself is exactly 1x.
    e = efficiency_from_curves(ks, base, ks, base)
    assert (e.status, e.k_reach, e.efficiency) == ("reached", 16, 1.0)
    with pytest.raises(maxrl_rs.InvalidInputError, match="ascending"):
        efficiency_from_curves([2, 1], [0.1, 0.2], ks, base)


def test_efficiency_from_reports_uses_every_k():
    # Baseline: every prompt has p = 1/2 exactly (c = 8 of 16); pass@16 = 1.
    base = passk_report(16, [8, 8], run="base", task="t")
    # Run: one prompt always right, one right in 12 of 16: pass@k = 1 once 16 − 12 = 4 < k, i.e. k = 5.
    run = passk_report(16, [16, 12], run="run", task="t")
    e = scaling_efficiency(run, base)
    assert e.status == "reached" and e.k_reach == 5  # not 8, the next reported k
    assert e.efficiency == pytest.approx(16 / 5)
    assert "efficiency" in format_table([base, run])


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from maxrl_rs.plots import plot_pass_at_k

    a = passk_report(32, _counts(1), run="grpo", task="maze")
    b = passk_report(32, _counts(2, a=2.0, b=0.5), run="maxrl", task="maze")
    out = plot_pass_at_k([a, b], tmp_path / "sub" / "passk.png")
    assert out.exists() and out.stat().st_size > 5000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
