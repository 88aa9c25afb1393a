"""The data-parallel wrappers on CUDA: NCCL, bf16 autocast, DDP and FSDP2 (``pytest -m gpu``).

Two ranks agreeing with one process is checked on CPU with gloo (tests/test_distributed.py). One GPU cannot
host two NCCL ranks, but it can show that joining an NCCL process group, wrapping in DDP and sharding with
FSDP2 leave a bf16 training step unchanged: a world of one takes the plain process's step. Every run starts
from the plain run's cached SFT warm-start and samples each prompt under its own seed, so the rollouts are
the same and only the wrapping differs.
"""

from __future__ import annotations

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
    "--set", "train.bf16=true",
    "--set", "distributed.seed_per_prompt=true",  # the plain run samples each prompt under its own seed too
    "--steps", "1",
]  # fmt: skip
# bf16 autocast, float32 master weights: the wrappers may change the order of a few float32 sums (bucketed
# all-reduce, sharded parameters), not the bf16 matmuls; the step itself moves parameters by ~lr = 1e-3.
TOL = 1e-5


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    run = tmp_path_factory.mktemp("gpu") / "plain"
    train_cli(1, *GPU_RUN, "--set", "distributed.strategy=none", "--out", str(run))
    return run


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_an_nccl_world_of_one_takes_the_plain_bf16_step(plain, tmp_path, strategy):
    from safetensors.torch import load_file

    run = tmp_path / strategy
    run.mkdir()
    shutil.copytree(plain / "sft", run / "sft")  # the same warm start, reused because its config matches
    proc = train_cli(1, *GPU_RUN, "--set", f"distributed.strategy={strategy}", "--out", str(run))
    moved = max_diff(weights(plain, 1), load_file(plain / "sft" / "model.safetensors"))
    assert moved > 1e-4, f"the step barely moved the parameters ({moved}); the comparison would be vacuous"
    assert all(w.dtype == torch.float32 for w in weights(run, 1).values()), "master weights stay float32"
    diff = max_diff(weights(plain, 1), weights(run, 1))
    assert diff <= TOL, f"{strategy}: parameters differ by {diff} from the plain step ({proc.stderr[-2000:]})"
    a, b = step_rows(plain)[1], step_rows(run)[1]
    for key in ("reward", "pass_rate", "adv_nonzero_frac"):
        assert a[key] == b[key], key
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-7)
