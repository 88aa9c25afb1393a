"""The benchmarks run as plain scripts after ``pip install ".[train]"`` (no pytest), and their argument errors
are one-line usage errors, not tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("bench_*.py"))

pytestmark = pytest.mark.skipif(not BENCH.is_dir(), reason="bench/ is not part of this checkout")

# Runs a bench as `python bench/NAME.py ARGS` would, with `import pytest` failing as it does without pytest.
WITHOUT_PYTEST = (
    "import runpy, sys; sys.modules['pytest'] = None; script = sys.argv[1]; "
    "sys.path.insert(0, str(__import__('pathlib').Path(script).parent)); sys.argv = sys.argv[1:]; "
    "runpy.run_path(script, run_name='__main__')"
)


def bench(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PYTEST, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_bench_is_listed():
    assert "bench_advantages.py" in SCRIPTS and "bench_maze_rollout.py" in SCRIPTS and len(SCRIPTS) >= 7


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_works_without_pytest(name):
    r = bench(name, "--help")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("usage:") and "Traceback" not in r.stderr


def usage_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.stdout[-1000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    return r.stderr


def test_maze_rollout_with_a_missing_model_says_how_to_make_one(tmp_path):
    err = usage_error(bench("bench_maze_rollout.py", "--model", str(tmp_path / "sft")))
    assert f"--model '{tmp_path / 'sft'}' does not exist" in err
    assert "maxrl train" in err and "RUN/sft" in err and "maxrl_rs.experiments.maze_scaling" in err


def test_maze_rollout_refuses_a_model_of_another_task(tmp_path):
    """A model that loads but cannot encode mazes is named with what it lacks."""
    pytest.importorskip("torch")
    from maxrl_rs.config import load_config
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.run import make_task

    tokenizer = make_task(load_config(None, ["task.name=arithmetic"])).build_tokenizer()
    tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tokenizer)
    model = tiny_model(
        TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tokenizer
    )
    model.save_pretrained(tmp_path / "arith")
    tokenizer.save_pretrained(tmp_path / "arith")
    err = usage_error(bench("bench_maze_rollout.py", "--model", str(tmp_path / "arith")))
    assert "cannot encode" in err and "--model" in err


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("bench_maze_rollout.py", ["--size", "4"], "--size must be odd and >= 3, got 4"),
        ("bench_maze_rollout.py", ["--repeats", "0"], "--repeats: expected an integer >= 1, got 0"),
        ("bench_advantages.py", ["--repeats", "0"], "--repeats: expected an integer >= 1, got 0"),
        ("bench_cpu_rollout.py", ["--model", "/no/such/model"], "--model '/no/such/model' does not exist"),
        ("bench_cpu_rollout.py", ["--model", ".", "--batches", "16,x"], "comma-separated integers >= 1"),
        ("bench_gpu_train.py", ["--steps", "0"], "--steps: expected an integer >= 1, got 0"),
        ("bench_gpu_train.py", ["--lora", "-1"], "--lora: expected an integer >= 0, got -1"),
    ],
)
def test_bad_arguments_are_usage_errors(name, args, message):
    assert message in usage_error(bench(name, *args))


def test_gpu_train_settings_the_trainer_refuses_are_one_line(tmp_path):
    pytest.importorskip("torch")
    r = bench("bench_gpu_train.py", "--tiny", "--device", "cpu", "--hidden", "30", "--heads", "4")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines()[-1].startswith("error: model.hidden_size")
