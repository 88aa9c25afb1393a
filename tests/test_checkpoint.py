"""Checkpoints and resume: a run stopped (or killed) and resumed matches the uninterrupted run exactly.

"Exactly" is bitwise: on CPU with a fixed thread count every operation is deterministic, so parameters,
optimizer moments and logged metrics (all but wall-clock timings) are compared with ==.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _tiny import TINY  # noqa: E402
from maxrl_rs import checkpoint as ckpt  # noqa: E402
from maxrl_rs.config import load_config  # noqa: E402
from maxrl_rs.metrics import MetricsLogger, read_metrics, truncate_after  # noqa: E402
from maxrl_rs.run import resume_config, train  # noqa: E402

TIMING = {"time_rollout", "time_grade", "time_update", "time_step", "tokens_per_s", "sft_seconds"}


def tiny_config(out, *extra):
    return load_config(None, [f"out={out}", *TINY, *extra])


def training_rows(run_dir):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(run_dir) if "loss" in r]


def assert_same_checkpoint(a: Path, b: Path):
    from safetensors.torch import load_file

    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    sa, sb = ckpt.load_trainer_state(a), ckpt.load_trainer_state(b)
    assert sa["step"] == sb["step"]
    assert sa["sampler"] == sb["sampler"]
    assert sa["scheduler"] == sb["scheduler"]
    oa, ob = sa["optimizer"], sb["optimizer"]
    assert oa["param_groups"] == ob["param_groups"]
    for i in oa["state"]:
        for k, v in oa["state"][i].items():
            assert torch.equal(v, ob["state"][i][k]), (i, k)
    assert torch.equal(sa["rng"]["torch"], sb["rng"]["torch"])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Four steps in one go, checkpoints every two."""
    run = tmp_path_factory.mktemp("straight") / "run"
    train(tiny_config(run, "train.steps=4", "checkpoint.every=2", "checkpoint.keep=3"))
    return run


def test_stop_and_resume_matches_uninterrupted_run(uninterrupted, tmp_path):
    run = tmp_path / "run"
    train(tiny_config(run, "train.steps=2", "checkpoint.every=2"))
    assert [s for s, _ in ckpt.step_dirs(run)] == [2]
    summary = train(resume_config(run, {"train": {"steps": 4}}), resume=run)
    assert summary.first_step == 2 and summary.last_step == 4
    assert_same_checkpoint(uninterrupted / "checkpoints" / "step-4", run / "checkpoints" / "step-4")
    assert training_rows(run) == training_rows(uninterrupted)
    assert [r["step"] for r in training_rows(run)] == [1, 2, 3, 4]
    final = [r for r in read_metrics(run) if r["step"] == 4 and "eval/pass@1" in r]
    assert final == [r for r in read_metrics(uninterrupted) if r["step"] == 4 and "eval/pass@1" in r]


def test_crash_after_checkpoint_loses_nothing(uninterrupted, tmp_path):
    """A run dies during step 4 (step 3 already logged, last checkpoint at 2); resuming redoes 3 and 4."""
    run = tmp_path / "run"

    def die_at_step_4(batch):
        if batch.step == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(run, "train.steps=4", "checkpoint.every=2"), hooks=[die_at_step_4])
    assert [r["step"] for r in training_rows(run)] == [1, 2, 3]
    assert [s for s, _ in ckpt.step_dirs(run)] == [2]
    train(resume_config(run), resume=run)
    assert_same_checkpoint(uninterrupted / "checkpoints" / "step-4", run / "checkpoints" / "step-4")
    assert training_rows(run) == training_rows(uninterrupted)


def test_kill_9_then_cli_resume(tmp_path):
    """SIGKILL ``maxrl train`` mid-run; ``maxrl train --resume`` goes on from the last checkpoint."""
    run = tmp_path / "run"
    sets = [a for item in TINY for a in ("--set", item)]
    cmd = [sys.executable, "-c", "from maxrl_rs.cli import main; main()", "train", "--quiet"]
    args = ["--out", str(run), "--steps", "400", "--set", "checkpoint.every=2", *sets]
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (run / "checkpoints" / "step-4").is_dir():
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        assert (run / "checkpoints" / "step-4").is_dir(), "no checkpoint within two minutes"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    last = ckpt.step_dirs(run)[-1][0]
    logged = [r["step"] for r in training_rows(run)]
    target = last + 2
    resumed = subprocess.run(
        [*cmd, "--resume", str(run), "--steps", str(target)], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"final (step {target})" in resumed.stdout
    steps = [r["step"] for r in training_rows(run)]
    assert steps == list(range(1, target + 1)), (logged, last, steps)
    assert ckpt.load_trainer_state(run / "checkpoints" / f"step-{target}")["step"] == target
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    # Bit-identical to the same number of steps in one go.
    straight = tmp_path / "straight"
    train(tiny_config(straight, f"train.steps={target}"))
    assert_same_checkpoint(
        straight / "checkpoints" / f"step-{target}", run / "checkpoints" / f"step-{target}"
    )
    assert training_rows(run) == training_rows(straight)


# -- mechanics -----------------------------------------------------------------------------------------------


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(3, 2)

    def save_pretrained(self, path, safe_serialization=True):
        from safetensors.torch import save_model

        Path(path).mkdir(parents=True)
        save_model(self, str(Path(path) / "model.safetensors"))


class _Tok:
    def save_pretrained(self, path):
        (Path(path) / "tokenizer.json").write_text("{}")


def test_keep_last_k_and_stale_temporaries(tmp_path):
    model = _Tiny()
    opt = torch.optim.AdamW(model.parameters())
    for step in (2, 4, 6, 8):
        ckpt.save_checkpoint(
            tmp_path,
            step,
            model=model,
            tokenizer=_Tok(),
            trainer_state={"optimizer": opt.state_dict()},
            config={},
            keep=2,
        )
    assert [s for s, _ in ckpt.step_dirs(tmp_path)] == [6, 8]
    (tmp_path / "checkpoints" / ".tmp-step-10-123").mkdir()  # a writer killed mid-checkpoint
    (tmp_path / "checkpoints" / "step-12").mkdir()  # incomplete: no trainer state
    assert ckpt.latest_checkpoint(tmp_path).name == "step-8"
    ckpt.remove_stale_temporaries(tmp_path)
    assert not (tmp_path / "checkpoints" / ".tmp-step-10-123").exists()
    # A re-saved step replaces the old one.
    ckpt.save_checkpoint(
        tmp_path, 8, model=model, tokenizer=_Tok(), trainer_state={"x": 1}, config={}, keep=2
    )
    assert ckpt.load_trainer_state(tmp_path / "checkpoints" / "step-8")["x"] == 1


def test_trainer_state_loads_with_weights_only(tmp_path):
    model = _Tiny()
    opt = torch.optim.AdamW(model.parameters())
    model.w(torch.ones(1, 3)).sum().backward()
    opt.step()
    path = ckpt.save_checkpoint(
        tmp_path,
        1,
        model=model,
        tokenizer=_Tok(),
        trainer_state={"optimizer": opt.state_dict()},
        config={},
        keep=1,
    )
    state = torch.load(path / ckpt.STATE_FILE, weights_only=True)
    assert state["step"] == 1 and "rng" in state and "optimizer" in state
    assert json.loads((path / ckpt.CONFIG_FILE).read_text()) == {}


def test_rng_state_round_trip():
    random.seed(1)
    np.random.seed(2)  # noqa: NPY002 - the legacy global RNG is what is saved
    torch.manual_seed(3)
    state = ckpt.rng_state()
    draws = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    random.seed(9)
    np.random.seed(9)  # noqa: NPY002
    torch.manual_seed(9)
    ckpt.set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == draws  # noqa: NPY002


def test_metrics_truncation_drops_later_steps_and_torn_lines(tmp_path):
    log = MetricsLogger(tmp_path, tensorboard=False)
    for step in range(5):
        log.log(step, {"loss": float(step)})
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "lo')  # killed mid-write
    truncate_after(tmp_path / "metrics.jsonl", 2)
    assert [r["step"] for r in read_metrics(tmp_path)] == [0, 1, 2]
    log = MetricsLogger(tmp_path, tensorboard=False, resume_step=1)
    log.log(2, {"loss": 9.0})
    log.close()
    assert [(r["step"], r["loss"]) for r in read_metrics(tmp_path)] == [(0, 0.0), (1, 1.0), (2, 9.0)]
