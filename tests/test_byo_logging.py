"""Where a run's metrics go: TensorBoard events, W&B (offline), ``samples.jsonl`` rows, the start message."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import maxrl_rs
from _tiny import TINY
from maxrl_rs import ConfigError
from maxrl_rs.config import load_config
from maxrl_rs.run import train

SAMPLE_KEYS = {
    "step", "id", "prompt", "reference", "response", "extracted", "reward", "status", "masked", "advantage"
}  # fmt: skip


def test_samples_tensorboard_and_start_message(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = load_config(
        None,
        [f"out={out}", *TINY, "sft.steps=40", "train.steps=2", "log.samples=3", "log.tensorboard=true"],
    )
    train(cfg)
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 1, 1, 2, 2, 2]
    for r in rows:
        assert set(r) == SAMPLE_KEYS
        assert r["status"] in maxrl_rs.STATUS_NAMES
        assert r["reward"] in (0.0, 1.0)
        # The row is what the verifier says about that response.
        g = maxrl_rs.grade([r["response"]], [r["reference"]], verifier="maze")
        assert g.scores[0] == r["reward"] and g.extracted[0] == r["extracted"]
        assert r["masked"] == (r["status"] in ("limit", "error", "invalid_reference"))
    assert len({r["id"] for r in rows if r["step"] == 1}) >= 2  # spread over the step's prompts
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("reward")] == [1, 2]
    err = capsys.readouterr().err
    assert f"metrics: {out / 'metrics.jsonl'}" in err and str(out / "tensorboard") in err
    assert str(out / "samples.jsonl") in err


def test_samples_of_redone_steps_are_dropped_on_resume(tmp_path):
    out = tmp_path / "run"
    base = [*TINY, "sft.steps=20", "log.samples=2", "checkpoint.every=1"]
    train(load_config(None, [f"out={out}", *base, "train.steps=2"]))
    # A kill after step 2 was sampled but before it was saved: pretend step 2's checkpoint is missing.
    import shutil

    shutil.rmtree(out / "checkpoints" / "step-2")
    train(load_config(None, [*base, "train.steps=3", f"out={out}"]), resume=out)
    steps = [json.loads(line)["step"] for line in (out / "samples.jsonl").read_text().splitlines()]
    assert steps == [1, 1, 2, 2, 3, 3]


def test_wandb_offline_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    out = tmp_path / "run"
    train(load_config(None, [f"out={out}", *TINY, "sft.steps=10", "train.steps=1", "log.wandb=true"]))
    run_id = (out / "wandb_id").read_text()
    offline = list((out / "wandb").glob(f"offline-run-*-{run_id}"))
    assert offline and list(offline[0].glob("*.wandb"))


def test_missing_logger_package_is_an_error_with_an_install_hint(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import fails as if not installed
    cfg = load_config(None, [f"out={tmp_path / 'run'}", *TINY, "log.tensorboard=true"])
    with pytest.raises(ConfigError, match=r"log.tensorboard: .*pip install 'maxrl-rs\[train\]'"):
        train(cfg)
    assert not (tmp_path / "run").exists()  # stopped before writing anything
    monkeypatch.setitem(sys.modules, "wandb", None)
    cfg = load_config(None, [f"out={tmp_path / 'run'}", *TINY, "log.wandb=true"])
    with pytest.raises(ConfigError, match=r"log.wandb: .*pip install 'maxrl-rs\[wandb\]'"):
        train(cfg)
    with pytest.raises(ConfigError, match=r"log\.samples"):
        load_config(None, ["log.samples=-1"])
