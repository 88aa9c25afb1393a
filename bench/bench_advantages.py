"""Advantages on 1M rollouts: maxrl_rs (Rust) vs the copy floor, vectorised NumPy and the per-uid Python loop.

Two layouts: ``contiguous`` (each prompt's rollouts together, as trainers hand them over) and ``shuffled``
(groups scattered over the batch). The copy floor is a plain copy of the inputs and of an output-sized array
(``np.copy`` of rewards, group ids and the result), the memory traffic any implementation pays at least.

pytest bench/bench_advantages.py --benchmark-only        # pytest-benchmark tables
python bench/bench_advantages.py                         # one-process table (docs/benchmarks.md)
python bench/bench_advantages.py --no-loop               # without the (slow) Python loop
python bench/bench_advantages.py --clock cpu             # process CPU time: steadier on a loaded machine
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import maxrl_rs
import peers_advantages as peers
from script_support import positive_int, pytest, script_parser

ROLLOUTS = 1_000_000
SHAPES = {"16x62500": 16, "256x3906": 256}
LAYOUTS = ("contiguous", "shuffled")


def make_batch(group_size: int, layout: str = "shuffled", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """1M rollouts with 0/1 rewards in groups of ``group_size``, contiguous or shuffled (groups scattered)."""
    rng = np.random.default_rng(seed)
    groups = ROLLOUTS // group_size
    n = groups * group_size
    p = rng.beta(0.5, 0.5, groups).repeat(group_size)
    rewards = (rng.random(n) < p).astype(np.float64)
    ids = np.repeat(np.arange(groups, dtype=np.int64), group_size)
    if layout == "contiguous":
        return rewards, ids
    perm = rng.permutation(n)
    return rewards[perm], ids[perm]


def copy_floor(r: np.ndarray, g: np.ndarray, out: np.ndarray) -> None:
    """Read both inputs and write an output of the same length: the least any implementation does."""
    np.copy(r)
    np.copy(g)
    np.copy(out)


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


@pytest.fixture(scope="module", params=[(s, lay) for s in SHAPES for lay in LAYOUTS], ids=str)
def batch(request):
    shape, layout = request.param
    return f"{shape}-{layout}", make_batch(SHAPES[shape], layout)


@pytest.mark.parametrize("estimator", list(IMPLS))
@pytest.mark.parametrize("impl", ["maxrl_rs", "numpy"])
def test_advantages(benchmark, batch, estimator, impl):
    shape, (r, g) = batch
    benchmark.group = f"advantages-{estimator}-{shape}"
    fn = IMPLS[estimator][impl]
    out = benchmark(fn, r, g)
    np.testing.assert_allclose(out, IMPLS[estimator]["maxrl_rs"](r, g), rtol=1e-6, atol=1e-6)


def test_copy_floor(benchmark, batch):
    shape, (r, g) = batch
    benchmark.group = f"advantages-floor-{shape}"
    benchmark(copy_floor, r, g, np.zeros_like(r))


@pytest.mark.parametrize("estimator", list(IMPLS))
def test_advantages_python_loop(benchmark, batch, estimator):
    shape, (r, g) = batch
    benchmark.group = f"advantages-{estimator}-{shape}"
    benchmark.pedantic(IMPLS[estimator]["python_loop"], args=(r.copy(), g), rounds=1, iterations=1)


CLOCK = time.perf_counter


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Best of ``repeats`` timings of ``fn`` on :data:`CLOCK`."""
    times = []
    for _ in range(repeats):
        t = CLOCK()
        fn()
        times.append(CLOCK() - t)
    return min(times)


def on_threads(n: int, fn: Callable[[], object], repeats: int) -> float:
    """Best time of ``fn`` with the Rust pool at ``n`` threads (0: the default, every core)."""
    maxrl_rs.set_num_threads(n)
    try:
        fn()  # build the pool outside the timing
        return best_of(fn, repeats)
    finally:
        maxrl_rs.set_num_threads(0)


def main() -> None:
    ap = script_parser(__doc__)
    ap.add_argument("--no-loop", action="store_true", help="skip the per-uid Python loop (seconds per row)")
    ap.add_argument(
        "--repeats", type=positive_int, default=30, help="timed calls per cell, best kept (default 30)"
    )
    ap.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall-clock time, or the process's CPU time (all its threads: read the 1-thread columns)",
    )
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    cores = os.cpu_count() or 1
    maxrl_rs.set_num_threads(0)
    every = maxrl_rs.get_num_threads()
    print(f"rollouts: {ROLLOUTS:,}, cores: {cores}, all threads = {every}, clock: {args.clock}")
    print(
        "| estimator | layout | groups × size | floor ms | maxrl_rs ms, 1 thread | × floor | "
        f"maxrl_rs ms, {every} threads | numpy ms | × numpy | python loop ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for est in IMPLS:
        for size in SHAPES.values():
            for layout in LAYOUTS:
                print(row(est, size, layout, args.repeats, loop=not args.no_loop))


def row(est: str, size: int, layout: str, repeats: int, *, loop: bool) -> str:
    """One table row: floor, maxrl_rs on 1 and all threads, NumPy and (optionally) the Python loop."""
    impls = IMPLS[est]
    r, g = make_batch(size, layout)
    out = np.zeros_like(r)
    ours, npy, slow = impls["maxrl_rs"], impls["numpy"], impls["python_loop"]
    floor = best_of(lambda: copy_floor(r, g, out), repeats)
    one = on_threads(1, lambda: ours(r, g), repeats)
    many = on_threads(0, lambda: ours(r, g), repeats)
    t_np = best_of(lambda: npy(r, g), 5)
    t_loop = f"{best_of(lambda: slow(r.copy(), g), 1) * 1e3:,.0f}" if loop else "—"
    return (
        f"| {est} | {layout} | {ROLLOUTS // size:,} × {size} | {floor * 1e3:.2f} | {one * 1e3:.2f} | "
        f"{one / floor:.2f} | {many * 1e3:.2f} | {t_np * 1e3:.1f} | {t_np / one:.1f} | {t_loop} |"
    )


if __name__ == "__main__":
    main()
