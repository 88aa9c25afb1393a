"""bench/bench_gpu_train.py runs end to end (``--tiny``: tiny model on CPU) and reports what it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_gpu_train.py"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="bench/ is not part of this checkout")
def test_tiny_run_reports_throughput_memory_and_grading_share(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--tiny",
            "--device",
            "cpu",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["timed_steps"] == 1 and result["backend"] == "hf"
    assert result["rollout_tokens_per_s"] > 0 and result["update_tokens_per_s"] > 0
    assert 0 < result["grade_adv_share"] < 1
    assert result["peak_memory_gb"] > 0
    step = result["steps"][0]
    assert step["response_tokens"] > 0 and step["update_tokens"] > step["response_tokens"]
    assert "rollout" in proc.stdout and "tokens/s" in proc.stdout
