"""TRL reward-function throughput: maxrl_rs ``math_reward`` (Rust) vs TRL's ``accuracy_reward`` (math-verify).

Both grade the same 800 real Qwen2.5-Math responses (tests/data/qwen25_math_responses.jsonl) as
conversational completions, in this process, called the way GRPOTrainer calls them (one batch per call, on
the main thread, where math-verify keeps its signal-based timeouts). Each round of ours starts from a fresh
grader, so the reference cache is cold as it is for a new batch of prompts.

pytest bench/bench_rewards.py --benchmark-only      # pytest-benchmark table
python bench/bench_rewards.py                       # items/s of each and the ratio (docs/integrations.md)
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import maxrl_rs
from maxrl_rs.integrations import _grading
from maxrl_rs.integrations.trl import math_reward
from script_support import pytest, script_parser

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "qwen25_math_responses.jsonl"


def load() -> tuple[list, list[str], list[bool]]:
    """Conversational completions, gold answers (TRL's ``solution`` column) and the reference labels.

    The gold answers are given in LaTeX math mode (``$4a-2$``), the form TRL's math datasets use: math-verify
    misreads some bare answers (``4a-2``) and TRL would then skip or fail 8% of the items.
    """
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    completions = [[{"role": "assistant", "content": r["response"]}] for r in rows]
    return completions, [f"${r['gold']}$" for r in rows], [bool(r["label"]) for r in rows]


def ours(completions: list, solution: list[str]) -> list[float | None]:
    _grading.clear_graders()  # cold reference cache, as for a new batch of prompts
    return math_reward(prompts=None, completions=completions, solution=solution)


def ours_one_thread(completions: list, solution: list[str]) -> list[float | None]:
    before = maxrl_rs.get_num_threads()
    maxrl_rs.set_num_threads(1)
    try:
        return ours(completions, solution)
    finally:
        maxrl_rs.set_num_threads(before)


def trl_accuracy_reward(completions: list, solution: list[str]) -> list[float | None]:
    from trl.rewards import accuracy_reward

    return accuracy_reward(completions=completions, solution=solution)


IMPLS = {
    "maxrl_rs": ours,
    "maxrl_rs_1_thread": ours_one_thread,
    "trl_accuracy_reward": trl_accuracy_reward,
}
ROUNDS = {"maxrl_rs": 20, "maxrl_rs_1_thread": 10, "trl_accuracy_reward": 3}


def agreement(rewards: list[float | None], labels: list[bool]) -> float:
    """Fraction of items where the reward (None counts as 0) matches the reference grader's label."""
    return sum(((r or 0.0) >= 0.5) == y for r, y in zip(rewards, labels, strict=True)) / len(labels)


def _skip_without_math_verify() -> None:
    if not _has_math_verify():
        pytest.skip("math-verify is not installed (pip install 'maxrl-rs[bench]')")


def _has_math_verify() -> bool:
    try:
        import math_verify  # noqa: F401
        import trl.rewards  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def batch():
    _skip_without_math_verify()
    return load()


@pytest.mark.parametrize("impl", list(IMPLS))
def test_reward_throughput(benchmark, batch, impl):
    completions, solution, labels = batch
    benchmark.group = f"trl-reward-math-{len(completions)}"
    rewards = benchmark.pedantic(IMPLS[impl], args=(completions, solution), rounds=ROUNDS[impl], iterations=1)
    benchmark.extra_info["items"] = len(completions)
    benchmark.extra_info["items_per_s"] = len(completions) / benchmark.stats.stats.median
    benchmark.extra_info["agreement_with_labels"] = agreement(rewards, labels)
    assert len(rewards) == len(completions)


def main() -> None:
    script_parser(__doc__).parse_args()
    if not _has_math_verify():
        raise SystemExit("math-verify and trl are needed: pip install 'maxrl-rs[bench,trl]'")
    completions, solution, labels = load()
    n = len(completions)
    print(
        f"{n} responses, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"maxrl_rs threads={maxrl_rs.get_num_threads()}"
    )
    results = {}
    for name, fn in IMPLS.items():
        fn(completions, solution)  # warm-up: imports, thread pool
        times, rewards = [], None
        for _ in range(ROUNDS[name]):
            t0 = time.perf_counter()
            rewards = fn(completions, solution)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        results[name] = n / median
        print(
            f"{name:>22}: {median * 1e3:9.1f} ms / batch  {n / median:10.0f} items/s  "
            f"agreement with labels {agreement(rewards, labels):.4f}"
        )
    base = results["trl_accuracy_reward"]
    for name in ("maxrl_rs", "maxrl_rs_1_thread"):
        print(f"{name} / trl_accuracy_reward: {results[name] / base:.0f}x")


if __name__ == "__main__":
    main()
