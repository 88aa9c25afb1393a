"""Data-parallel training on CPU with the gloo backend, through the real command line under torchrun.

The contract (maxrl_rs.distributed): 2 ranks × B/2 prompts take the same step as 1 process × B prompts. Each
rank samples whole groups with per-prompt seeds, the loss is normalised by global token counts and scaled so
DDP's gradient average is the one-process gradient. Checked on float32 parameters to 1e-6 absolute (observed
differences are ~1e-8: only the order of floating-point sums differs), after a step that moved them by ~lr.

Runs: one process (DDP of one), two ranks with DDP for two steps, a resume of that run from step 1, and two
ranks with FSDP2. Each is a few seconds of a tiny model on 3×3 mazes after a short SFT warm-start (so that
groups are mixed and advantages non-zero).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

import maxrl_rs  # noqa: E402
from _runs import SMALL_RUN, max_diff, step_rows, train_cli, weights  # noqa: E402
from maxrl_rs import distributed  # noqa: E402

TOL = 1e-6  # float32 parameters, absolute

COMMON = [*SMALL_RUN, "--set", "device=cpu"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    one, two = root / "one", root / "two"
    train_cli(1, *COMMON, "--set", "distributed.strategy=ddp", "--steps", "1", "--out", str(one))
    train_cli(2, *COMMON, "--set", "distributed.strategy=ddp", "--steps", "2", "--set", "checkpoint.every=1",
             "--out", str(two))  # fmt: skip
    return root


def test_two_ddp_ranks_take_the_one_process_step(runs):
    one, two = runs / "one", runs / "two"
    from safetensors.torch import load_file

    start = load_file(one / "sft" / "model.safetensors")  # the warm-started policy the step began from
    moved = max_diff(weights(one, 1), start)
    assert moved > 1e-4, f"the step barely moved the parameters ({moved}); the comparison would be vacuous"
    assert max_diff(weights(one, 1), weights(two, 1)) <= TOL
    a, b = step_rows(one)[1], step_rows(two)[1]
    # Same rollouts (per-prompt seeds), so the same rewards and groups; reduced loss and norm agree.
    for key in ("reward", "pass_rate", "frac_all_fail", "solved_frac", "response_len", "adv_nonzero_frac"):
        assert a[key] == pytest.approx(b[key], abs=1e-12), key
    for key in ("loss", "grad_norm", "pg_loss", "update_tokens"):
        assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-9), key
    assert a["adv_nonzero_frac"] > 0


def test_resume_with_the_same_world_size_continues_exactly(runs, tmp_path):
    two = runs / "two"
    resumed = tmp_path / "resumed"
    shutil.copytree(two, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step-2")
    train_cli(2, "--resume", str(resumed), "--steps", "2", "--quiet")
    assert max_diff(weights(two, 2), weights(resumed, 2)) <= TOL
    a, b = step_rows(two)[2], step_rows(resumed)[2]
    assert a["reward"] == b["reward"] and a["loss"] == pytest.approx(b["loss"], rel=1e-6)
    state = torch.load(resumed / "checkpoints" / "step-2" / "trainer_state.pt", weights_only=True)
    assert len(state["ranks"]) == 2  # each rank's RNG and data position
    assert [r["sampler"]["consumed"] for r in state["ranks"]] == [8, 8]


def test_kl_reference_ranks_take_the_one_process_steps(tmp_path):
    """With a KL term (k3 against the frozen initial policy): a full reference copy per rank under DDP, a
    sharded one under FSDP2. Two steps: at the first the policy equals the reference and the KL is 0."""
    kl = [*COMMON, "--set", "algo.kl_coef=0.5", "--steps", "2", "--set", "checkpoint.every=1"]
    one = tmp_path / "one"
    train_cli(1, *kl, "--set", "distributed.strategy=ddp", "--out", str(one))
    assert step_rows(one)[2]["kl"] > 0
    for strategy in ("ddp", "fsdp"):
        run = tmp_path / strategy
        train_cli(2, *kl, "--set", f"distributed.strategy={strategy}", "--out", str(run))
        assert max_diff(weights(one, 2), weights(run, 2)) <= TOL, strategy
        assert step_rows(run)[2]["kl"] == pytest.approx(step_rows(one)[2]["kl"], rel=1e-4), strategy


def test_fsdp_resume_reshards_the_saved_optimizer_state(tmp_path):
    """Under FSDP the checkpoint holds full (gathered) AdamW moments; resuming broadcasts rank 0's copy and
    reshards it, so step 2 after a resume equals step 2 of the uninterrupted run."""
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    train_cli(2, *COMMON, "--set", "distributed.strategy=fsdp", "--steps", "2", "--set", "checkpoint.every=1",
              "--out", str(full))  # fmt: skip
    shutil.copytree(full, resumed)
    shutil.rmtree(resumed / "checkpoints" / "step-2")
    train_cli(2, "--resume", str(resumed), "--steps", "2", "--quiet")
    assert max_diff(weights(full, 2), weights(resumed, 2)) <= TOL
    state = torch.load(full / "checkpoints" / "step-1" / "trainer_state.pt", weights_only=True)
    moments = [v["exp_avg"] for v in state["optimizer"]["state"].values()]
    assert moments and all(m.shape != torch.Size([0]) for m in moments)


@pytest.mark.parametrize(
    "option",
    [
        "distributed.fsdp_gather_for_generation=true",  # the default
        "distributed.fsdp_gather_for_generation=false",  # generation all-gathers layer by layer
        # Without resharding after forward, no-grad passes leave the modules holding unsharded parameters;
        # the update must still clip and step the sharded ones the optimizer owns.
        "distributed.fsdp_reshard_after_forward=false",
    ],
)
def test_fsdp_ranks_take_the_one_process_step(runs, tmp_path, option):
    fsdp = tmp_path / "fsdp"
    train_cli(2, *COMMON, "--set", "distributed.strategy=fsdp", "--set", option,
              "--steps", "1", "--out", str(fsdp))  # fmt: skip
    assert max_diff(weights(runs / "one", 1), weights(fsdp, 1)) <= TOL
    a, b = step_rows(runs / "one")[1], step_rows(fsdp)[1]
    assert a["reward"] == b["reward"]
    assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5) and b["grad_norm"] > 0


# -- pieces, in one process ----------------------------------------------------------------------------------


def test_env_ranks_and_strategy_checks(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.env_ranks() == (1, 2, 1)
    with pytest.raises(maxrl_rs.ConfigError, match=r"distributed\.strategy=ddp"):
        distributed.setup(distributed.DistributedConfig(strategy="none"), "cpu")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(maxrl_rs.ConfigError, match="RANK=2"):
        distributed.env_ranks()
    with pytest.raises(maxrl_rs.ConfigError, match="unknown strategy 'zero3'"):
        distributed.check_config(distributed.DistributedConfig(strategy="zero3"))


def test_seed_per_prompt_defaults_on_for_process_groups_only(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    cfg = distributed.DistributedConfig
    assert not distributed.setup(cfg(), "cpu")[0].seed_per_prompt  # one process: batched sampling
    assert distributed.setup(cfg(seed_per_prompt=True), "cpu")[0].seed_per_prompt  # asked for
    for asked, expected in ((None, True), (False, False)):
        monkeypatch.setenv("MASTER_PORT", str(distributed._free_port()))
        with distributed.session(cfg(strategy="ddp", seed_per_prompt=asked), "cpu") as (ctx, _):
            assert ctx.distributed and ctx.backend == "gloo" and ctx.seed_per_prompt is expected


def test_each_rank_picks_its_own_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    pick = distributed.pick_device
    assert pick("auto", 2, 4) == pick("cuda", 2, 4) == torch.device("cuda", 2)
    assert pick("cuda:3", 0, 1) == torch.device("cuda", 3)  # one process: any GPU it names
    assert pick("cuda:1", 1, 2) == torch.device("cuda", 1)
    with pytest.raises(maxrl_rs.ConfigError, match=r"would put all 2 ranks on GPU 0.*device=cuda"):
        pick("cuda:0", 1, 2)
    assert pick("cpu", 1, 2) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # a launcher showing each process one GPU
    assert pick("auto", 5, 8) == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick("auto", 1, 2) == torch.device("cpu")
    with pytest.raises(maxrl_rs.ConfigError, match="CUDA is not available"):
        pick("cuda", 0, 1)


def test_single_process_helpers_are_identities():
    ctx = distributed.SINGLE
    assert not ctx.distributed and ctx.is_main
    assert distributed.global_sum(ctx, 3.5) == 3.5
    assert distributed.all_reduce_sums(ctx, [1.0, 2.0]).tolist() == [1.0, 2.0]
    assert distributed.all_gather_object(ctx, {"a": 1}) == [{"a": 1}]
    assert distributed.loss_scale(ctx) == 1.0
    m = {"reward": 0.5, "loss": 1.0}
    assert distributed.reduce_step_metrics(ctx, m, batch=None) == m


def _reduce_on_rank(rank: int, port: int, out: str) -> None:
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        ctx = distributed.DistContext(rank=rank, world_size=2, strategy="ddp", backend="gloo")
        values = [1.5, -2.0, 10.0 * rank]
        got = {
            "sums": distributed.all_reduce_sums(ctx, values).tolist(),
            "max": distributed.all_reduce_max(ctx, values if rank else [0.0, -3.0, 4.0]).tolist(),
            "global_sum": distributed.global_sum(ctx, rank + 0.25),
        }
        with open(f"{out}.{rank}", "w") as f:
            json.dump(got, f)
    finally:
        dist.destroy_process_group()


def test_host_value_reductions_over_two_gloo_ranks(tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "reduced")
    mp.spawn(_reduce_on_rank, args=(port, out), nprocs=2)
    for rank in range(2):
        got = json.loads((tmp_path / f"reduced.{rank}").read_text())
        assert got["sums"] == [3.0, -4.0, 10.0]
        assert got["max"] == [1.5, -2.0, 10.0]
        assert got["global_sum"] == 1.5


def test_metric_rules():
    assert distributed.metric_rule("loss") == "sum"
    assert distributed.metric_rule("order_clamped_groups") == "sum"  # a count of groups over all ranks
    assert distributed.metric_rule("time_rollout") == "max"
    assert distributed.metric_rule("reward") == "kept"
    assert distributed.metric_rule("pg_loss") == "update_tokens"
    assert distributed.metric_rule("response_len") == "rollouts"


def _maze_backend():
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.tasks import MazeTask

    task = MazeTask(MazeTask.Options(size=5), seed=0, eval_seed=1, eval_size=1)
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64), tok)
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(4)]
    prompts[2] = prompts[2][:-3]  # a shorter prompt: padding differs between batches
    return HFBackend(model, tok, batch_size=8), prompts, tok


def test_per_prompt_seeds_make_rollouts_independent_of_the_batch():
    from maxrl_rs.rollout import SamplingParams

    backend, prompts, tok = _maze_backend()
    sampling = SamplingParams(n=3, temperature=1.0, max_new_tokens=12)
    kw = {"base_seed": 7, "step": 3, "pad_id": tok.pad_token_id}
    torch.manual_seed(123)
    before = torch.get_rng_state()
    whole = distributed.generate_per_prompt(backend, prompts, [10, 11, 12, 13], sampling, **kw)
    assert torch.equal(torch.get_rng_state(), before)  # training's RNG stream is left alone
    # Rank 1 of 2 draws prompts 1 and 3 only; rank 0 of 2 prompts 0 and 2.
    odd = distributed.generate_per_prompt(backend, prompts[1::2], [11, 13], sampling, **kw)
    even = distributed.generate_per_prompt(backend, prompts[0::2], [10, 12], sampling, **kw)
    n = sampling.n
    for i, part in ((1, odd), (3, odd), (0, even), (2, even)):
        j = [1, 3].index(i) if part is odd else [0, 2].index(i)
        assert whole.texts[i * n : (i + 1) * n] == part.texts[j * n : (j + 1) * n]
        w, p = slice(i * n, (i + 1) * n), slice(j * n, (j + 1) * n)
        lw, lp = whole.response_mask[w].sum(1), part.response_mask[p].sum(1)
        assert torch.equal(lw, lp)
        for r in range(n):
            k = int(lw[r])
            assert torch.equal(whole.response_ids[w][r, :k], part.response_ids[p][r, :k])
    assert whole.group_ids.tolist() == np.repeat([10, 11, 12, 13], n).tolist()
    # Another step draws other rollouts.
    other = distributed.generate_per_prompt(backend, prompts, [10, 11, 12, 13], sampling, **{**kw, "step": 4})
    assert other.texts != whole.texts


def test_concat_rollouts_repads_prompts_left_and_responses_right():
    from maxrl_rs.rollout import SamplingParams

    backend, prompts, tok = _maze_backend()
    sampling = SamplingParams(n=2, temperature=1.0, max_new_tokens=6)
    a = backend.generate([prompts[2]], [0], sampling)  # the short prompt
    b = backend.generate([prompts[0]], [1], sampling)
    c = distributed.concat_rollouts([a, b], tok.pad_token_id)
    assert c.prompt_ids.shape[1] == max(a.prompt_ids.shape[1], b.prompt_ids.shape[1])
    short = a.prompt_ids.shape[1]
    assert torch.equal(c.prompt_ids[:2, -short:], a.prompt_ids)
    assert (c.prompt_mask[:2, :-short] == 0).all()
    assert torch.equal(c.response_mask.sum(1), torch.cat([a.response_mask.sum(1), b.response_mask.sum(1)]))
    assert c.texts == a.texts + b.texts and c.group_ids.tolist() == [0, 0, 1, 1]


# -- FSDP2 in one process (gloo, a world of one) -------------------------------------------------------------


@pytest.fixture
def world_of_one(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(distributed._free_port()))
    cfg = distributed.DistributedConfig(strategy="fsdp")
    with distributed.session(cfg, "cpu") as (ctx, _):
        yield ctx, cfg


def _is_sharded(module) -> bool:
    return all(hasattr(p, "full_tensor") for p in module.parameters())


def test_layers_stay_gathered_while_generating_and_reshard_after(world_of_one):
    ctx, cfg = world_of_one
    backend, prompts, _ = _maze_backend()
    model = distributed.wrap_model(backend.model, ctx, cfg, torch.device("cpu"))
    layer = model.model.layers[0]
    assert _is_sharded(layer)
    from maxrl_rs.rollout import SamplingParams

    sampling = SamplingParams(n=2, max_new_tokens=4)
    with distributed.gathered_for_generation(model, ctx, cfg):
        backend.generate(prompts[:1], [0], sampling)
        assert not _is_sharded(layer), "gathered parameters were freed between generation steps"
    assert _is_sharded(layer)
    backend.generate(prompts[:1], [0], sampling)  # outside: each forward reshards after itself
    assert _is_sharded(layer)
    off = distributed.DistributedConfig(strategy="fsdp", fsdp_gather_for_generation=False)
    with distributed.gathered_for_generation(model, ctx, off):
        backend.generate(prompts[:1], [0], sampling)
        assert _is_sharded(layer)


def test_fsdp_bf16_computes_in_bf16_and_keeps_float32_master_weights(world_of_one):
    ctx, cfg = world_of_one
    backend, prompts, _ = _maze_backend()
    model = distributed.wrap_model(backend.model, ctx, cfg, torch.device("cpu"), param_dtype=torch.bfloat16)
    ids = torch.as_tensor([prompts[0]])
    logits = model(input_ids=ids).logits
    assert logits.dtype == torch.bfloat16  # the gathered parameters are bf16
    logits.float().logsumexp(-1).sum().backward()
    params = list(model.parameters())
    assert all(
        p.dtype == torch.float32 and p.grad is not None and p.grad.dtype == torch.float32 for p in params
    )
    assert distributed.fsdp_bf16(ctx, torch.device("cuda"), True)
    assert not distributed.fsdp_bf16(ctx, torch.device("cuda"), False)
    assert not distributed.fsdp_bf16(ctx, torch.device("cpu"), True)
    assert not distributed.fsdp_bf16(distributed.SINGLE, torch.device("cuda"), True)
