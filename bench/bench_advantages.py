"""Advantages on 1M rollouts: maxrl_rs (Rust) vs vectorised NumPy vs the per-uid Python loop.

pytest bench/bench_advantages.py --benchmark-only        # pytest-benchmark tables
python bench/bench_advantages.py                         # one-process ratio table (docs/benchmarks.md)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import maxrl_rs
import peers_advantages as peers

ROLLOUTS = 1_000_000
SHAPES = {"16x62500": 16, "256x3906": 256}


def make_batch(group_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1M rollouts in groups of ``group_size``, shuffled (groups are not contiguous)."""
    rng = np.random.default_rng(seed)
    groups = ROLLOUTS // group_size
    n = groups * group_size
    p = rng.beta(0.5, 0.5, groups).repeat(group_size)
    rewards = (rng.random(n) < p).astype(np.float64)
    ids = np.repeat(np.arange(groups, dtype=np.int64), group_size)
    perm = rng.permutation(n)
    return rewards[perm], ids[perm]


IMPLS = {
    "maxrl": {
        "maxrl_rs": lambda r, g: maxrl_rs.advantages(r, g, "maxrl"),
        "numpy": peers.numpy_maxrl,
        "python_loop": peers.loop_maxrl,
    },
    "grpo": {
        "maxrl_rs": lambda r, g: maxrl_rs.advantages(r, g, "grpo"),
        "numpy": peers.numpy_grpo,
        "python_loop": peers.loop_grpo,
    },
}


@pytest.fixture(scope="module", params=list(SHAPES))
def batch(request):
    return request.param, make_batch(SHAPES[request.param])


@pytest.mark.parametrize("estimator", list(IMPLS))
@pytest.mark.parametrize("impl", ["maxrl_rs", "numpy"])
def test_advantages(benchmark, batch, estimator, impl):
    shape, (r, g) = batch
    benchmark.group = f"advantages-{estimator}-{shape}"
    fn = IMPLS[estimator][impl]
    out = benchmark(fn, r, g)
    np.testing.assert_allclose(out, IMPLS[estimator]["maxrl_rs"](r, g), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("estimator", list(IMPLS))
def test_advantages_python_loop(benchmark, batch, estimator):
    shape, (r, g) = batch
    benchmark.group = f"advantages-{estimator}-{shape}"
    benchmark.pedantic(IMPLS[estimator]["python_loop"], args=(r.copy(), g), rounds=1, iterations=1)


def best_of(fn, r, g, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(r, g)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(f"threads: {maxrl_rs.get_num_threads()}, rollouts: {ROLLOUTS:,}")
    print("| estimator | groups × size | maxrl_rs ms | numpy ms | python loop ms | × numpy | × loop |")
    print("|---|---|---|---|---|---|---|")
    for est, impls in IMPLS.items():
        for size in SHAPES.values():
            r, g = make_batch(size)
            ours = best_of(impls["maxrl_rs"], r, g, 20)
            npy = best_of(impls["numpy"], r, g, 5)
            loop = best_of(impls["python_loop"], r.copy(), g, 1)
            print(
                f"| {est} | {ROLLOUTS // size:,} × {size} | {ours * 1e3:.2f} | {npy * 1e3:.1f} | "
                f"{loop * 1e3:.0f} | {npy / ours:.1f} | {loop / ours:.0f} |"
            )


if __name__ == "__main__":
    main()
