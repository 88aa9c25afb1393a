"""The data-parallel wrappers on CUDA: NCCL, DDP and FSDP2, in float32 and bf16 (``pytest -m gpu``).

Two ranks agreeing with one process is checked on CPU with gloo (tests/test_distributed.py). One GPU cannot
host two NCCL ranks, but it can show that joining an NCCL process group, wrapping in DDP and sharding with
FSDP2 leave a training step unchanged: a world of one takes the plain process's step. Every run starts
from the plain run's cached SFT warm-start and samples each prompt under its own seed, so the rollouts are
the same and only the wrapping differs.

bf16 differs by design between the wrappers: the plain process and DDP use autocast over float32 weights,
FSDP2 computes with bf16 copies of its gathered parameters (``MixedPrecisionPolicy``), so FSDP2 is
compared with the plain step in float32 and only run in bf16.
"""

from __future__ import annotations

import math
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from _runs import SMALL_RUN, max_diff, step_rows, train_cli, weights  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

GPU_RUN = [
    *SMALL_RUN,
    "--set", "device=cuda",
    "--set", "distributed.seed_per_prompt=true",  # the plain run samples each prompt under its own seed too
    "--steps", "1",
]  # fmt: skip
# Float32 master weights either way: the wrappers may change the order of a few float32 sums (bucketed
# all-reduce, sharded parameters), not the matmuls; the step itself moves parameters by ~lr = 1e-3.
TOL = 1e-5


def _train(run, strategy: str, bf16: str, warm_start=None):
    if warm_start is not None:  # the same warm start, reused because its config matches
        run.mkdir()
        shutil.copytree(warm_start / "sft", run / "sft")
    options = ["--set", f"distributed.strategy={strategy}", "--set", f"train.bf16={bf16}"]
    return train_cli(1, *GPU_RUN, *options, "--out", str(run))


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu")
    runs = {bf16: root / f"plain-bf16-{bf16}" for bf16 in ("true", "false")}
    for bf16, run in runs.items():
        _train(run, "none", bf16)
    return runs


def _moved(run) -> float:
    from safetensors.torch import load_file

    return max_diff(weights(run, 1), load_file(run / "sft" / "model.safetensors"))


@pytest.mark.parametrize(("strategy", "bf16"), [("ddp", "true"), ("ddp", "false"), ("fsdp", "false")])
def test_an_nccl_world_of_one_takes_the_plain_step(plain, tmp_path, strategy, bf16):
    base, run = plain[bf16], tmp_path / strategy
    proc = _train(run, strategy, bf16, warm_start=base)
    assert _moved(base) > 1e-4, "the step barely moved the parameters; the comparison would be vacuous"
    assert all(w.dtype == torch.float32 for w in weights(run, 1).values()), "master weights stay float32"
    diff = max_diff(weights(base, 1), weights(run, 1))
    assert diff <= TOL, f"{strategy}: parameters differ by {diff} from the plain step ({proc.stderr[-2000:]})"
    a, b = step_rows(base)[1], step_rows(run)[1]
    for key in ("reward", "pass_rate", "adv_nonzero_frac"):
        assert a[key] == b[key], key
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-7)


def test_fsdp_bf16_step_runs_on_bf16_parameters_over_nccl(plain, tmp_path):
    run = tmp_path / "fsdp-bf16"
    _train(run, "fsdp", "true", warm_start=plain["true"])
    assert _moved(run) > 1e-4
    assert all(w.dtype == torch.float32 for w in weights(run, 1).values()), "master weights stay float32"
    row = step_rows(run)[1]
    assert math.isfinite(row["loss"]) and row["grad_norm"] > 0 and 0 <= row["reward"] <= 1
