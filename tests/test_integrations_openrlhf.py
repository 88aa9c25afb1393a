"""OpenRLHF integration: ``reward_func(queries, prompts, labels)`` without OpenRLHF installed.

OpenRLHF imports the file named by ``--reward.remote_url`` with ``importlib.util.spec_from_file_location``
and calls its ``reward_func`` positionally; the tests do the same.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

import maxrl_rs
from maxrl_rs.integrations import openrlhf
from maxrl_rs.integrations.openrlhf import response_text, reward_func

torch = pytest.importorskip("torch")

CHAT_PROMPT = "<|im_start|>user\nHow many legs do 2 cats have?<|im_end|>\n<|im_start|>assistant\n"


def _load_like_openrlhf(path: str):
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def test_response_is_the_query_minus_prompt_and_end_markers():
    assert response_text(CHAT_PROMPT + "2 * 4 = 8. #### 8<|im_end|>", CHAT_PROMPT) == "2 * 4 = 8. #### 8"
    assert response_text("Q: 1+1?\nA: 2</s>", "Q: 1+1?\nA:") == "2"
    assert response_text("#### 8<|im_end|><|endoftext|>", "") == "#### 8"
    # Decoding may not reproduce the prompt at the start; the response follows its last occurrence.
    assert response_text("<s> Q: hi A: #### 3", "Q: hi A:") == "#### 3"


def test_returns_rewards_scores_and_per_sample_extra_logs(monkeypatch):
    monkeypatch.setenv("MAXRL_VERIFIER", "gsm8k")
    monkeypatch.delenv("MAXRL_VERIFIER_OPTIONS", raising=False)
    queries = [
        CHAT_PROMPT + "Each cat has 4 legs, 2 * 4 = 8.\n#### 8<|im_end|>",
        CHAT_PROMPT + "#### 6<|im_end|>",
        CHAT_PROMPT + "I am not sure.<|im_end|>",
    ]
    out = reward_func(queries, [CHAT_PROMPT] * 3, ["8", "8", "8"])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert out["rewards"].dtype == torch.float32 and out["rewards"].tolist() == [1.0, 0.0, 0.0]
    assert out["scores"].tolist() == [1.0, 0.0, 0.0]
    logs = out["extra_logs"]
    assert logs["accuracy"].tolist() == [1.0, 0.0, 0.0]
    assert logs["no_answer"].tolist() == [0.0, 0.0, 1.0]
    assert logs["ungradable"].tolist() == [0.0, 0.0, 0.0]
    # OpenRLHF concatenates per-call tensors along dim 0, or takes element 0 of one-sample calls.
    assert all(v.shape == (3,) for v in logs.values())


def test_verifier_and_options_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAXRL_VERIFIER", "exact")
    monkeypatch.setenv("MAXRL_VERIFIER_OPTIONS", json.dumps({"case_sensitive": True}))
    out = reward_func(["Q: capital? A: Paris", "Q: capital? A: paris"], ["Q: capital? A:"] * 2, ["Paris"] * 2)
    assert out["rewards"].tolist() == [1.0, 0.0]
    monkeypatch.setenv("MAXRL_VERIFIER_OPTIONS", "[1, 2]")
    with pytest.raises(maxrl_rs.InvalidInputError, match="MAXRL_VERIFIER_OPTIONS must be a JSON object"):
        reward_func(["a"], [""], ["a"])


def test_keywords_override_the_environment(monkeypatch):
    monkeypatch.setenv("MAXRL_VERIFIER", "exact")
    out = reward_func(["Q: A: #### 12"], ["Q: A:"], ["12"], verifier="gsm8k", options={})
    assert out["rewards"].tolist() == [1.0]


def test_default_verifier_is_math(monkeypatch):
    monkeypatch.delenv("MAXRL_VERIFIER", raising=False)
    monkeypatch.delenv("MAXRL_VERIFIER_OPTIONS", raising=False)
    assert openrlhf.DEFAULT_VERIFIER == "math"
    out = reward_func([r"Q A: so $\boxed{\frac{1}{2}}$"], ["Q A:"], [r"\frac12"])
    assert out["rewards"].tolist() == [1.0]


def test_misaligned_inputs_are_an_error():
    with pytest.raises(maxrl_rs.InvalidInputError, match="aligned"):
        reward_func(["a", "b"], ["a"], ["1", "2"], verifier="exact")


def test_module_file_loads_the_way_openrlhf_loads_it(monkeypatch):
    monkeypatch.setenv("MAXRL_VERIFIER", "gsm8k")
    fn = _load_like_openrlhf(openrlhf.__file__)
    out = fn([CHAT_PROMPT + "#### 8<|im_end|>"], [CHAT_PROMPT], ["8"])  # one sample per call, positional
    assert out["rewards"].tolist() == [1.0]
