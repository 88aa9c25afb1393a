"""verl integration: compute_score conventions and the ``maxrl`` advantage estimator.

The reward functions and the estimator are plain functions and are tested without verl. The registry tests
import verl's real ``verl.trainer.ppo.core_algos`` and are skipped, with the reason, where verl is not
importable. ``make test-peers`` installs it: ``pip install --no-deps verl==0.9.1 tensordict==0.10.0`` plus
ray, omegaconf, codetiming, cloudpickle, orjson and ``pyvers<0.2`` (see docs/integrations.md).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs.integrations import verl as mverl

torch = pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------------------
# compute_score / compute_score_batch


def test_compute_score_returns_score_acc_pred_status():
    out = mverl.compute_score("openai/gsm8k", "She has 3 + 4 = 7 apples.\n#### 7", "7", {"split": "train"})
    assert out == {"score": 1.0, "acc": 1.0, "pred": "7", "status": "correct"}
    wrong = mverl.compute_score("openai/gsm8k", "#### 8", "7")
    assert (wrong["score"], wrong["acc"], wrong["pred"], wrong["status"]) == (0.0, 0.0, "8", "incorrect")
    empty = mverl.compute_score("openai/gsm8k", "no idea", "7")
    assert (empty["score"], empty["pred"], empty["status"]) == (0.0, "", "no_answer")


def test_data_source_picks_the_verifier():
    assert mverl.verifier_for("openai/gsm8k") == "gsm8k"
    assert mverl.verifier_for("Jiayi-Pan/Countdown-Tasks-3to4") == "countdown"
    assert mverl.verifier_for("maze-5x5") == "maze"
    assert mverl.verifier_for("lighteval/MATH") == "math"
    assert mverl.verifier_for("DigitalLearningGmbH/MATH-lighteval") == "math"


def test_batch_grades_mixed_sources_in_order_with_parquet_style_ground_truths():
    maze = ["S.#", "..G"]
    out = mverl.compute_score_batch(
        data_sources=np.array(["countdown", "openai/gsm8k", "maze", "openai/gsm8k"], dtype=object),
        solution_strs=["<answer>(3 + 1) * (8 - 2)</answer>", "#### 5", "RIGHT DOWN RIGHT DONE", "#### 6"],
        # verl reads parquet: lists arrive as NumPy arrays, also nested in dicts.
        ground_truths=[
            {"target": 24, "numbers": np.array([3, 1, 8, 2])},
            "5",
            np.array(maze, dtype=object),
            "5",
        ],
        extra_infos=[{}, {}, {}, {}],
    )
    assert [o["score"] for o in out] == [1.0, 1.0, 1.0, 0.0]
    assert [o["status"] for o in out] == ["correct", "correct", "correct", "incorrect"]


def test_verifier_keyword_and_options_come_from_reward_kwargs():
    # verl merges custom_reward_function.reward_kwargs into every call; model-RM extras are dropped.
    kwargs = {"verifier": "exact", "case_sensitive": True, "reward_router_address": None}
    assert mverl.compute_score("anything", "Paris", "Paris", None, **kwargs)["score"] == 1.0
    assert mverl.compute_score("anything", "paris", "Paris", None, **kwargs)["score"] == 0.0
    with pytest.raises(maxrl_rs.InvalidInputError, match="casesensitive"):
        mverl.compute_score("anything", "x", "x", verifier="exact", casesensitive=True)


def test_misaligned_batch_is_an_error():
    with pytest.raises(maxrl_rs.InvalidInputError, match="aligned"):
        mverl.compute_score_batch(["a", "b"], ["x"], ["1", "2"])


# --------------------------------------------------------------------------------------------------------
# The estimator, called as verl calls it


def _batch():
    """Two prompts x 4 responses, verl style: reward on the last response token, right-padded masks."""
    lengths = [3, 5, 2, 4, 5, 1, 3, 2]
    success = [1, 0, 0, 0, 1, 1, 0, 1]
    mask = torch.zeros(8, 6)
    rewards = torch.zeros(8, 6)
    for i, (n, s) in enumerate(zip(lengths, success, strict=True)):
        mask[i, :n] = 1
        rewards[i, n - 1] = s
    uid = np.array(["p-1"] * 4 + ["p-0"] * 4, dtype=object)
    return rewards, mask, uid, np.array(success, dtype=np.float64)


class _Cfg(dict):
    """Stands in for verl's algorithm DictConfig (``.get(key, default)``)."""


def test_estimator_is_algorithm_1_broadcast_over_the_response_mask():
    rewards, mask, uid, success = _batch()
    adv, returns = mverl.maxrl_outcome_advantage(
        token_level_rewards=rewards, response_mask=mask, index=uid, config=_Cfg(adv_estimator="maxrl")
    )
    # Group p-1: K=1 of 4 -> success 4/1 - 1 = 3, failures -1. Group p-0: K=3 of 4 -> 1/3, failure -1.
    per_response = torch.tensor([3, -1, -1, -1, 1 / 3, 1 / 3, -1, 1 / 3])
    torch.testing.assert_close(adv, per_response.unsqueeze(-1) * mask)
    assert returns is adv or torch.equal(returns, adv)
    assert adv.dtype == rewards.dtype and adv.shape == rewards.shape
    expected = maxrl_rs.advantages(success, uid, "maxrl")
    np.testing.assert_allclose(adv[:, 0].numpy(), expected, rtol=1e-6)


def test_estimator_reads_order_and_drop_all_fail_from_the_algorithm_config():
    rewards, mask, uid, success = _batch()
    rewards[4:] = 0  # group p-0 fails entirely
    success[4:] = 0
    cfg = _Cfg(adv_estimator="maxrl", maxrl_order=2, maxrl_drop_all_fail=False)
    adv, _ = mverl.maxrl_outcome_advantage(rewards, mask, index=uid, config=cfg)
    expected = maxrl_rs.advantages(success, uid, "maxrl", order=2, drop_all_fail=False)
    np.testing.assert_allclose(adv[:, 0].numpy(), expected, rtol=1e-6)
    assert adv[4:, 0].tolist() == [-1.0] * 4


def test_estimator_rejects_non_binary_rewards_and_missing_uid():
    rewards, mask, uid, _ = _batch()
    rewards[0, 0] = 0.25  # e.g. a KL penalty folded into the reward
    with pytest.raises(maxrl_rs.InvalidInputError):
        mverl.maxrl_outcome_advantage(rewards, mask, index=uid)
    with pytest.raises(maxrl_rs.InvalidInputError, match="uid"):
        mverl.maxrl_outcome_advantage(rewards, mask)


@pytest.mark.parametrize(
    "uid",
    [
        [(1, "a")] * 4 + [(0, "a")] * 4,  # tuples: one group each, never split into columns
        [1] * 4 + ["1"] * 4,  # ids that print alike are still two prompts
        np.array([None] * 4 + ["None"] * 4, dtype=object),
    ],
    ids=["tuples", "int-and-str", "none-and-str"],
)
def test_estimator_groups_by_python_equality_of_the_uids(uid):
    rewards, mask, _, _ = _batch()
    adv, _ = mverl.maxrl_outcome_advantage(rewards, mask, index=uid, config=_Cfg())
    np.testing.assert_allclose(adv[:, 0].numpy(), [3, -1, -1, -1, 1 / 3, 1 / 3, -1, 1 / 3], rtol=1e-6)


def test_estimator_names_an_unhashable_uid():
    rewards, mask, _, _ = _batch()
    uid = [[0]] * 8
    with pytest.raises(maxrl_rs.InvalidInputError, match=r"group_ids\[0\] is not hashable: list \[0\]"):
        mverl.maxrl_outcome_advantage(rewards, mask, index=uid)


# --------------------------------------------------------------------------------------------------------
# verl's real registry


def _import_verl_core_algos():
    try:
        return importlib.import_module("verl.trainer.ppo.core_algos")
    except Exception as e:  # not installed, or installed without what core_algos imports
        pytest.skip(
            f"verl.trainer.ppo.core_algos is not importable here ({type(e).__name__}: {e}); "
            "`make test-peers` installs verl as CI does"
        )


def test_registered_in_verls_registry_and_called_like_verls_compute_advantage():
    core_algos = _import_verl_core_algos()
    assert mverl.register() is True
    fn = core_algos.get_adv_estimator_fn("maxrl")
    assert fn is mverl.maxrl_outcome_advantage
    rewards, mask, uid, success = _batch()
    # verl.trainer.ppo.ray_trainer.compute_advantage, branch for registered estimators:
    from omegaconf import OmegaConf

    config = OmegaConf.create({"adv_estimator": "maxrl", "gamma": 1.0, "lam": 1.0, "maxrl_order": 3})
    adv, returns = fn(token_level_rewards=rewards, response_mask=mask, config=config, index=uid)
    expected = maxrl_rs.advantages(success, uid, "maxrl", order=3)
    np.testing.assert_allclose(adv[:, 0].numpy(), expected, rtol=1e-6)
    torch.testing.assert_close(returns, adv)
    # The dataclass form of the algorithm config works too (defaults: T = N, drop all-fail groups).
    from verl.trainer.config import AlgoConfig

    adv, _ = fn(
        token_level_rewards=rewards, response_mask=mask, config=AlgoConfig(adv_estimator="maxrl"), index=uid
    )
    np.testing.assert_allclose(adv[:, 0].numpy(), maxrl_rs.advantages(success, uid, "maxrl"), rtol=1e-6)


def test_reward_function_loads_through_verls_custom_reward_path():
    _import_verl_core_algos()
    from verl.utils.import_utils import load_extern_object

    by_pkg = load_extern_object("pkg://maxrl_rs.integrations.verl", "compute_score")
    assert by_pkg is mverl.compute_score
    # A file path executes the module again under another name: registration must not clash.
    by_file = load_extern_object(mverl.__file__, "compute_score")
    assert by_file("openai/gsm8k", "#### 2", "2")["score"] == 1.0
    assert mverl.register() is True


def test_external_modules_env_var_registers_in_a_fresh_process():
    # How verl's Ray workers (including the trainer actor that computes advantages) get the estimator.
    _import_verl_core_algos()
    code = (
        "import verl\n"
        "from verl.trainer.ppo.core_algos import get_adv_estimator_fn\n"
        "print(get_adv_estimator_fn('maxrl').__module__)\n"
    )
    env = dict(os.environ, VERL_USE_EXTERNAL_MODULES="maxrl_rs.integrations.verl")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("maxrl_rs.integrations.verl")
