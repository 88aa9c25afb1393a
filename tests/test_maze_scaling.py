"""The maze scaling experiment's bookkeeping: the run list, the hard-prompt share, resuming, the write-up."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maxrl_rs import ConfigError
from maxrl_rs.experiments.maze_scaling import ScalingConfig, update_weight_shares


def test_hard_share_by_hand():
    # Group 7: 1/4 pass (rate 0.25, not hard); group 3: 0/4 (hard, all-fail); group 5: 1/8 (hard).
    rewards = np.array([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    groups = np.array([7] * 4 + [3] * 4 + [5] * 8)
    adv = np.array([3, -1, -1, -1] + [0] * 4 + [7, -1, -1, -1, -1, -1, -1, -1], dtype=np.float64)
    mask = np.ones(16, bool)
    out = update_weight_shares(rewards, groups, adv, mask)
    assert out["hard_weight_share"] == pytest.approx(14 / 20)
    assert out["hard_prompt_frac"] == pytest.approx(2 / 3)
    assert out["all_fail_frac"] == pytest.approx(1 / 3)


def test_hard_share_counts_only_graded_rollouts():
    rewards = np.array([1, 1, 0, 0], dtype=np.float32)
    groups = np.zeros(4, dtype=np.int64)
    adv = np.array([1.0, 5.0, -1.0, -1.0])
    # Rollout 1 is masked: it neither sets the pass rate (1 of 3 graded pass: not hard) nor carries weight.
    out = update_weight_shares(rewards, groups, adv, np.array([True, False, True, True]))
    assert out["hard_weight_share"] == 0.0 and out["hard_prompt_frac"] == 0.0
    # Masking rollout 0 as well: 0 of 2 graded pass, a hard all-fail prompt carrying all the weight.
    out = update_weight_shares(rewards, groups, adv, np.array([False, False, True, True]))
    assert out["hard_weight_share"] == 1.0 and out["all_fail_frac"] == 1.0


def test_hard_share_is_nan_without_any_update_weight():
    out = update_weight_shares(np.zeros(4), np.array([0, 0, 1, 1]), np.zeros(4), np.ones(4, bool))
    assert np.isnan(out["hard_weight_share"]) and out["hard_prompt_frac"] == 1.0


def test_run_list():
    c = ScalingConfig(ns=(4, 16, 64), seeds=(0,), extra_seeds=(1, 2), extra_seeds_n=16, budget_n=16)
    runs = c.runs()
    labels = [r.label for r in runs]
    assert len(labels) == len(set(labels)), "labels identify runs"
    sweep = [r for r in runs if r.group == "sweep" and r.seed == 0]
    assert sorted({(r.n, r.prompts) for r in sweep}) == [(4, 8), (16, 8), (64, 8)]
    budget = [r for r in runs if r.group == "budget"]
    assert sorted({(r.n, r.prompts) for r in budget}) == [(4, 32), (64, 2)]
    assert all(r.n * r.prompts == 128 for r in budget)
    extra = [r for r in runs if r.seed != 0 and r.group == "sweep"]
    assert {r.n for r in extra} == {16} and {r.seed for r in extra} == {1, 2} and len(extra) == 6
    long = [r for r in runs if r.group == "long"]
    assert len(long) == 3 and all(r.steps == 180 and r.eval_every == 60 for r in long)
    assert runs[-1].group == "long", "the longest runs come last"
    assert c.runs()[0].rollouts == 60 * 8 * 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ("maxrl", "ppo")}, "unknown method 'ppo'"),
        ({"ns": (1, 4)}, "ns must be"),
        ({"budget_n": 16, "ns": (4, 48)}, "multiple of every N"),
        ({"long_steps": 100, "long_eval_every": 60}, "long_eval_every"),
        ({"eval_n": 0}, "eval_n must be >= 1"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ScalingConfig(**kwargs)


def test_resume_refuses_other_shared_settings(tmp_path):
    from dataclasses import asdict

    from maxrl_rs.experiments.maze_scaling import run_experiment

    out = tmp_path / "out"
    out.mkdir()
    saved = asdict(ScalingConfig(lr=3e-4))
    (out / "maze_scaling.json").write_text(json.dumps({"config": saved, "runs": {}}))
    with pytest.raises(ConfigError, match="other lr"):
        run_experiment(ScalingConfig(), tmp_path / "work", out, progress=False)
