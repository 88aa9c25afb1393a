"""The thread pool: size control, the environment variable, and no deadlock in a forked child."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest

import maxrl_rs

BIG = 1 << 17  # above the parallel threshold, so the pool is used


def _work() -> float:
    rng = np.random.default_rng(0)
    r = (rng.random(BIG) < 0.3).astype(float)
    return float(maxrl_rs.advantages(r, np.arange(BIG) // 16).sum())


def _child(q):
    q.put(_work())


def test_set_num_threads():
    before = maxrl_rs.get_num_threads()
    try:
        maxrl_rs.set_num_threads(1)
        assert maxrl_rs.get_num_threads() == 1
        one = _work()
        maxrl_rs.set_num_threads(3)
        assert maxrl_rs.get_num_threads() == 3
        assert _work() == one
    finally:
        maxrl_rs.set_num_threads(0)
    assert maxrl_rs.get_num_threads() == before


def test_environment_variable():
    code = "import maxrl_rs; print(maxrl_rs.get_num_threads())"
    env = {**os.environ, "MAXRL_NUM_THREADS": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


@pytest.mark.skipif(sys.platform == "win32", reason="fork() does not exist on Windows")
def test_forked_child_does_not_deadlock():
    maxrl_rs.set_num_threads(2)
    want = _work()  # the parent's pool now has live threads
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(timeout=60)
    alive = p.is_alive()
    if alive:
        p.kill()
    maxrl_rs.set_num_threads(0)
    assert not alive, "the forked child hung in the thread pool"
    assert p.exitcode == 0
    assert q.get(timeout=5) == want


def test_training_uses_one_torch_thread_on_cpu_unless_told(tmp_path):
    from maxrl_rs.config import load_config
    from maxrl_rs.run import cpu_threads

    assert cpu_threads(load_config(None, ["device=cpu"])) == 1
    assert cpu_threads(load_config(None, ["device=cpu", f"model.path={tmp_path}"])) == 1
    assert cpu_threads(load_config(None, ["device=cpu", "threads=2"])) == 2
