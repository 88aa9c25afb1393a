"""Math grading: maxrl_rs (Rust) vs math-verify 0.9.0, same process, on 800 real Qwen2.5-Math responses.

Reports items/s single-threaded and on all cores for maxrl_rs, single-threaded for math-verify (its
signal-based timeouts only work on the main thread), and each grader's agreement with the reference labels.

    python bench/bench_grading.py                      # table for docs/benchmarks.md
    pytest bench/bench_grading.py --benchmark-only     # pytest-benchmark
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import maxrl_rs
from script_support import pytest, script_parser

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "qwen25_math_responses.jsonl"


def load() -> tuple[list[str], list[str], list[bool]]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r["response"] for r in rows], [r["gold"] for r in rows], [bool(r["label"]) for r in rows]


def ours(responses: list[str], golds: list[str], threads: int | None = None) -> list[bool]:
    # A fresh Grader each call: the reference cache starts cold, as for a new batch of prompts.
    g = maxrl_rs.grade(responses, golds, "math", threads=threads)
    return [bool(s >= 0.5) for s in g.scores]


def math_verify(responses: list[str], golds: list[str]) -> list[bool]:
    from math_verify import parse, verify

    out = []
    for resp, gold in zip(responses, golds, strict=True):
        try:
            out.append(bool(verify(parse(f"${gold}$"), parse(resp))))
        except Exception:  # math-verify raises on some inputs; a peer user counts those as wrong
            out.append(False)
    return out


def items_per_s(fn, n_items: int, min_seconds: float = 1.0) -> float:
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * n_items / elapsed


def agreement(pred: list[bool], labels: list[bool]) -> int:
    return sum(p == y for p, y in zip(pred, labels, strict=True))


@pytest.fixture(scope="module")
def data():
    pytest.importorskip("math_verify")
    return load()


@pytest.mark.parametrize("impl", ["maxrl_rs_1_thread", "maxrl_rs_all_cores", "math_verify"])
def test_math_grading(benchmark, data, impl):
    responses, golds, labels = data
    benchmark.group = "math-grading-800"
    fn = {
        "maxrl_rs_1_thread": lambda: ours(responses, golds, threads=1),
        "maxrl_rs_all_cores": lambda: ours(responses, golds),
        "math_verify": lambda: math_verify(responses, golds),
    }[impl]
    if impl == "math_verify":
        pred = benchmark.pedantic(fn, rounds=2, iterations=1)
    else:
        pred = benchmark(fn)
    assert agreement(pred, labels) >= 799


def main() -> None:
    script_parser(__doc__).parse_args()
    try:
        import math_verify
    except ImportError:
        raise SystemExit("math-verify is needed: pip install 'maxrl-rs[bench]'") from None
    responses, golds, labels = load()
    n = len(responses)
    ours_1 = items_per_s(lambda: ours(responses, golds, threads=1), n)
    ours_all = items_per_s(lambda: ours(responses, golds), n)
    mv = items_per_s(lambda: math_verify(responses, golds), n, min_seconds=3.0)
    a_ours, a_mv = agreement(ours(responses, golds), labels), agreement(math_verify(responses, golds), labels)
    print(f"{n} responses; threads available: {maxrl_rs.get_num_threads()}")
    print("| grader | items/s (1 thread) | items/s (all cores) | agreement with labels |")
    print("|---|---|---|---|")
    print(f"| maxrl_rs | {ours_1:,.0f} | {ours_all:,.0f} | {a_ours}/{n} |")
    print(f"| math-verify 0.9.0 | {mv:,.0f} | — | {a_mv}/{n} |")
    print(f"speed-up single-threaded: {ours_1 / mv:.0f}×; all cores over one: {ours_all / ours_1:.2f}×")
    # Thread scaling on a batch large enough to amortise the pool's wake-up (800 × 10 items).
    big_r, big_g = responses * 10, golds * 10
    big_1 = items_per_s(lambda: ours(big_r, big_g, threads=1), len(big_r))
    big_all = items_per_s(lambda: ours(big_r, big_g), len(big_r))
    print(
        f"8,000 items: {big_1:,.0f} items/s on 1 thread, {big_all:,.0f} on "
        f"{maxrl_rs.get_num_threads()} threads ({big_all / big_1:.2f}×)"
    )


if __name__ == "__main__":
    main()
