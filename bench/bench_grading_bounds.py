"""Worst-case cost of one graded item: hostile inputs for every verifier must finish in < 50 ms.

pytest bench/bench_grading_bounds.py --benchmark-only     # pytest-benchmark table, one row per case
python bench/bench_grading_bounds.py                      # verifier x input table of the slowest of 5 runs

Each case grades a single item (threads=1) so the time is the item's own, plus the call overhead.
"""

from __future__ import annotations

import json
import sys
import time

import maxrl_rs
from script_support import pytest, script_parser

BOUND_S = 0.050

REFERENCES = {
    "math": "\\frac{1}{2}",
    "gsm8k": "18",
    "exact": "Paris",
    "choice": "B",
    "maze": "S.#\n#.#\n#.G",
    "countdown": json.dumps({"target": 24, "numbers": [3, 4, 8, 1]}),
}

HOSTILE = {
    "power_tower": "\\boxed{9^{9^{9^{9^9}}}}",
    "braces_10k": "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}",
    "parens_10k": "<answer>" + "(" * 10_000 + "3" + ")" * 10_000 + "</answer>",
    "fracs_5k": "\\frac{" * 5_000 + "1" + "}{2}" * 5_000,
    "text_1mb": ("The answer is 18. " * 60_000)[: 1 << 20],
    "moves_1mb": ("RIGHT " * 180_000)[: (1 << 20) - 5] + " DONE",
    "digits_1mb": "1" * (1 << 20),
    "random_bytes": bytes(range(256)).decode("latin-1") * 2000,
    "unicode": "🙂 ünïcödé ∑ ∫ √2 ½ ① Ⅻ " * 20_000,
}


def grade_one(verifier: str, response: str) -> str:
    return maxrl_rs.grade([response], [REFERENCES[verifier]], verifier, threads=1).status_names[0]


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("verifier", list(REFERENCES))
def test_hostile_item(benchmark, verifier, case):
    benchmark.group = f"hostile:{verifier}"
    status = benchmark(grade_one, verifier, HOSTILE[case])
    assert status in maxrl_rs.STATUS_NAMES and status != "error"
    assert benchmark.stats.stats.max < BOUND_S, f"{verifier}/{case}: {benchmark.stats.stats.max * 1e3:.1f} ms"


def main() -> int:
    script_parser(__doc__).parse_args()
    slow = 0
    print(f"{'verifier':<10} {'input':<14} {'max ms':>8}  status")
    for verifier in REFERENCES:
        for case, text in HOSTILE.items():
            times = []
            for _ in range(5):
                t = time.perf_counter()
                status = grade_one(verifier, text)
                times.append(time.perf_counter() - t)
            worst = max(times)
            slow += worst >= BOUND_S
            flag = "  SLOW" if worst >= BOUND_S else ""
            print(f"{verifier:<10} {case:<14} {worst * 1e3:>8.2f}  {status}{flag}")
    print(f"\n{slow} case(s) at or above {BOUND_S * 1e3:.0f} ms")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
