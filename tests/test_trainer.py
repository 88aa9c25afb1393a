"""The RL trainer end to end on a tiny maze task, the HF rollout backend, the config and ``maxrl train``."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import maxrl_rs  # noqa: E402
from _tiny import TINY  # noqa: E402
from maxrl_rs import ConfigError  # noqa: E402
from maxrl_rs.config import Config, apply_override, load_config  # noqa: E402
from maxrl_rs.metrics import read_metrics  # noqa: E402
from maxrl_rs.models import TinyModelSpec, tiny_model  # noqa: E402
from maxrl_rs.rollout import SamplingParams, token_logprobs  # noqa: E402
from maxrl_rs.rollout.hf import HFBackend, eos_mask, left_pad  # noqa: E402
from maxrl_rs.run import train  # noqa: E402
from maxrl_rs.tasks import Graded, MazeOptions, MazeTask  # noqa: E402
from maxrl_rs.trainer import Trainer  # noqa: E402


def tiny_config(out, *extra: str) -> Config:
    return load_config(None, [f"out={out}", *TINY, *extra])


# -- a whole run ---------------------------------------------------------------------------------------------


def test_two_step_run_under_a_minute(tmp_path):
    start = time.perf_counter()
    summary = train(tiny_config(tmp_path / "run", "train.steps=2"))
    assert time.perf_counter() - start < 60
    assert summary.first_step == 0 and summary.last_step == 2
    assert summary.sft is not None and summary.sft.steps == 150
    assert 0 <= summary.start_pass_at_1 <= 1 and 0 <= summary.final_pass_at_1 <= 1
    rows = read_metrics(tmp_path / "run")
    steps = [r for r in rows if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for key in (
        "loss",
        "reward",
        "pass_rate",
        "frac_all_fail",
        "frac_all_success",
        "solved_frac",
        "grad_norm",
        "response_len",
        "tokens_per_s",
        "time_rollout",
        "time_grade",
        "time_update",
        "lr",
    ):
        assert key in steps[0], key
    assert rows[0]["step"] == 0 and "eval/pass@1" in rows[0] and "sft_loss" in rows[0]
    assert (tmp_path / "run" / "checkpoints" / "step-2" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "sft" / "model.safetensors").is_file()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["steps"] == 2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_with_bf16_autocast(tmp_path):
    train(tiny_config(tmp_path / "run", "device=cuda", "train.steps=2", "train.bf16=true"))
    steps = [r for r in read_metrics(tmp_path / "run") if "loss" in r]
    assert len(steps) == 2 and all(np.isfinite(r["loss"]) and np.isfinite(r["grad_norm"]) for r in steps)
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "run" / "checkpoints" / "step-2" / "model" / "model.safetensors")
    assert all(w.dtype == torch.float32 for w in weights.values()), "master weights stay float32"


def test_sft_warm_start_is_cached_in_the_run_dir(tmp_path):
    cfg = tiny_config(tmp_path / "run", "train.steps=0")
    first = train(cfg)
    assert first.sft is not None and not first.sft.cached
    # A new run replacing the old one (checkpoints and all) in its directory reuses the warm start.
    again = train(cfg, overwrite=True)
    assert again.sft is not None and again.sft.cached
    assert again.start_pass_at_1 == first.start_pass_at_1


def test_kl_entropy_ppo_epochs_and_minibatches_run(tmp_path):
    cfg = tiny_config(
        tmp_path / "run",
        "train.steps=2",
        "sft.steps=60",
        "algo.kl_coef=0.05",
        "algo.entropy_coef=0.01",
        "algo.ppo_epochs=2",
        "algo.minibatches=2",
        "algo.dual_clip=3",
        "algo.loss_agg=seq-mean-token-sum-norm",
        "algo.estimator=grpo",
    )
    train(cfg)
    steps = [r for r in read_metrics(tmp_path / "run") if "loss" in r]
    for r in steps:
        assert np.isfinite(r["loss"]) and "kl" in r and "entropy" in r and "clip_frac" in r


def test_user_jsonl_with_local_model_directory_and_chat_template(tmp_path):
    from maxrl_rs.models import word_level_tokenizer

    tok = word_level_tokenizer(["user:", "assistant:", "UP", "DOWN", "LEFT", "RIGHT"])
    tok.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok)
    model.save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    rows = [{"prompt": p, "answer": p.split()[0], "verifier": "exact"} for p in ("UP DOWN", "LEFT RIGHT") * 4]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    seen = []
    cfg = load_config(
        None,
        [
            f"out={tmp_path / 'run'}",
            "task.name=jsonl",
            f"task.jsonl.train={tmp_path / 'd.jsonl'}",
            "task.jsonl.max_new_tokens=4",
            "task.eval_size=2",
            f"model.path={tmp_path / 'model'}",
            "train.steps=2",
            "train.prompts_per_step=2",
            "rollout.n=4",
            "eval.samples=2",
            "log.progress=false",
            "log.tensorboard=false",
        ],
    )
    summary = train(cfg, hooks=[seen.append])
    assert summary.sft is None and summary.last_step == 2
    prompt = seen[0].rollouts.prompt_ids[0][seen[0].rollouts.prompt_mask[0].bool()].tolist()
    assert tok.decode(prompt) in ("user: UP DOWN assistant:", "user: LEFT RIGHT assistant:")
    assert seen[0].rollouts.response_ids.shape[1] <= 4
    assert {ex.verifier for ex in seen[0].examples} == {"exact"}


# -- the step: advantages, masking, micro-batching -----------------------------------------------------------


class ScriptedMaze(MazeTask):
    """The maze task with rewards set by the test, so every step has mixed groups and a masked rollout."""

    def grade(self, responses, examples):
        n = len(responses)
        rewards = (np.arange(n) % 3 == 0).astype(np.float32)
        status = np.where(rewards > 0, 0, 1).astype(np.uint8)
        status[1] = maxrl_rs.STATUS_NAMES.index("limit")
        return Graded(rewards=rewards, mask=status != maxrl_rs.STATUS_NAMES.index("limit"), status=status)


def make_trainer(*overrides: str, seed: int = 0) -> Trainer:
    cfg = load_config(None, [*TINY, *overrides])
    task = ScriptedMaze(MazeOptions(5), seed=seed, eval_seed=1, eval_size=4)
    tok = task.build_tokenizer()
    torch.manual_seed(seed)
    model = tiny_model(TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok)
    return Trainer(cfg, model, tok, task, HFBackend(model, tok))


def test_maxrl_advantages_reaching_the_loss_are_maxrl_rs_advantages(monkeypatch):
    import maxrl_rs.trainer as trainer_module

    seen: list[torch.Tensor] = []
    real = trainer_module.policy_loss

    def spy(logp, advantages, *args, **kwargs):
        seen.append(advantages.detach().clone())
        return real(logp, advantages, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_loss", spy)
    hooked = []
    trainer = make_trainer("train.micro_batch_size=3", "algo.estimator=maxrl")
    trainer.hooks.append(hooked.append)
    for _ in range(2):
        seen.clear()
        batch, _ = trainer.step()
        assert hooked[-1] is batch
        expected = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, "maxrl", mask=batch.mask)
        np.testing.assert_array_equal(batch.advantages, expected)
        assert expected[1] == 0 and not batch.mask[1], "the limit-status rollout is masked"
        assert np.count_nonzero(expected) > 0
        # Rollouts with A = 0 are skipped in the forward pass; the others reach the loss in order.
        reached = torch.cat(seen).double().numpy()
        np.testing.assert_allclose(reached, expected[expected != 0].astype(np.float32), rtol=0, atol=0)


def test_bf16_autocast_update_keeps_float32_weights_and_log_probs(monkeypatch):
    """The update path CUDA takes with train.bf16 (the default), run under CPU autocast: bf16 matmuls, with
    log-probs, losses, gradients and AdamW state in float32, and a step close to the float32 step."""
    import maxrl_rs.trainer as trainer_module

    dtypes: list[torch.dtype] = []
    real = trainer_module.policy_loss

    def spy(logp, *args, **kwargs):
        dtypes.append(logp.dtype)
        return real(logp, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_loss", spy)
    plain, bf16 = make_trainer("train.lr=1e-2"), make_trainer("train.lr=1e-2")
    bf16.autocast = True  # what a CUDA device gets by default
    start = [p.detach().clone() for p in plain.model.parameters()]
    torch.manual_seed(7)
    b1, m1 = plain.step()
    torch.manual_seed(7)
    b2, m2 = bf16.step()
    assert b1.rollouts.texts == b2.rollouts.texts and np.count_nonzero(b2.advantages) > 0
    assert dtypes and set(dtypes) == {torch.float32}
    assert np.isfinite(m2["loss"]) and m2["loss"] == pytest.approx(m1["loss"], rel=0.05, abs=1e-3)
    assert all(q.dtype == torch.float32 for q in bf16.model.parameters())
    # Adam's first step is about lr·sign(gradient): bf16 rounding flips only the signs of near-zero entries.
    d1 = torch.cat(
        [(p.detach() - p0).flatten() for p, p0 in zip(plain.model.parameters(), start, strict=True)]
    )
    d2 = torch.cat(
        [(q.detach() - p0).flatten() for q, p0 in zip(bf16.model.parameters(), start, strict=True)]
    )
    cosine = float(torch.nn.functional.cosine_similarity(d1, d2, dim=0))
    assert not torch.equal(d1, d2), "autocast changed nothing: the bf16 path did not run"
    assert cosine > 0.9, f"the bf16 step points elsewhere than the float32 step (cosine {cosine:.3f})"
    for state in bf16.optimizer.state.values():
        assert state["exp_avg"].dtype == torch.float32


class MaskedGroupsMaze(MazeTask):
    """Rewards 1 on every other rollout; ``no_verdict`` rows (positions in the batch) get status ``limit``."""

    no_verdict: tuple[int, ...] = ()

    def grade(self, responses, examples):
        n = len(responses)
        rewards = (np.arange(n) % 2 == 0).astype(np.float32)
        status = np.where(rewards > 0, 0, 1).astype(np.uint8)
        status[list(self.no_verdict)] = maxrl_rs.STATUS_NAMES.index("limit")
        return Graded(rewards=rewards, mask=status != maxrl_rs.STATUS_NAMES.index("limit"), status=status)


def masked_trainer(no_verdict: tuple[int, ...], *overrides: str) -> Trainer:
    cfg = load_config(None, [*TINY, *overrides])
    task = MaskedGroupsMaze(MazeOptions(5), seed=0, eval_seed=1, eval_size=4)
    task.no_verdict = no_verdict
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok)
    return Trainer(cfg, model, tok, task, HFBackend(model, tok))


def per_group_advantages(batch, order):
    """Each group alone, on its unmasked rollouts: order ``order`` when it kept that many, else its N_g."""
    out = np.zeros(len(batch.rewards))
    for g in np.unique(batch.rollouts.group_ids):
        rows = np.flatnonzero((batch.rollouts.group_ids == g) & batch.mask)
        if rows.size:
            t = order if order is not None and rows.size >= order else None
            out[rows] = maxrl_rs.advantages(batch.rewards[rows], np.zeros(rows.size, int), order=t)
    return out


def test_order_equal_to_n_survives_rollouts_without_a_verdict():
    # rollout.n = algo.order = 4; rows 1 and 6 have no verdict, so groups 0 and 1 keep 3 of 4 rollouts.
    trainer = masked_trainer((1, 6), "algo.order=4")
    for _ in range(2):  # every step, not only the first
        batch, metrics = trainer.step()
        assert batch.mask.sum() == len(batch.mask) - 2
        # Group 0 keeps rewards 1, 1, 0 (rows 0, 2, 3): order 3 = N_g, 3/2 − 1 = 0.5 and −1.
        assert batch.advantages[:4].tolist() == [0.5, 0.0, 0.5, -1.0]
        np.testing.assert_array_equal(batch.advantages, per_group_advantages(batch, 4))
        # T = N: clamping to N_g is exactly the default order=None.
        expected = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, mask=batch.mask)
        np.testing.assert_array_equal(batch.advantages, expected)
        assert metrics["order_clamped_groups"] == 2
        assert np.isfinite(metrics["loss"])


def test_order_below_every_groups_size_is_unchanged():
    # T = 2 < N_g = 3: the configured order applies as it is, bit for bit, and nothing is clamped.
    batch, metrics = masked_trainer((1, 6), "algo.order=2").step()
    strict = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, order=2, mask=batch.mask)
    assert batch.advantages.tobytes() == strict.tobytes()
    assert metrics["order_clamped_groups"] == 0
    # T = 3 = N_g of the short groups: still no clamping.
    batch, metrics = masked_trainer((1, 6), "algo.order=3").step()
    strict = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, order=3, mask=batch.mask)
    assert batch.advantages.tobytes() == strict.tobytes()
    assert metrics["order_clamped_groups"] == 0
    assert masked_trainer((1, 6)).step()[1]["order_clamped_groups"] == 0  # no order set


def test_an_all_masked_group_and_a_short_group_under_order_three():
    # Group 0 fully masked (A = 0, not counted as clamped); group 1 keeps 2 of 4 < T = 3: order 2.
    batch, metrics = masked_trainer((0, 1, 2, 3, 5, 7), "algo.order=3").step()
    assert batch.advantages[:4].tolist() == [0.0] * 4
    # Group 1 keeps rows 4 and 6, both successes: all-success -> 0 at any order.
    assert batch.advantages[4:8].tolist() == [0.0] * 4
    np.testing.assert_array_equal(batch.advantages, per_group_advantages(batch, 3))
    assert metrics["order_clamped_groups"] == 1
    # Group 1 keeps rows 4 and 5 (1 success of 2): order 2 = N_g, 2/1 − 1 = 1 and −1.
    batch, metrics = masked_trainer((0, 1, 2, 3, 6, 7), "algo.order=3").step()
    assert batch.advantages[4:8].tolist() == [1.0, -1.0, 0.0, 0.0]
    assert metrics["order_clamped_groups"] == 1


def test_order_equal_to_n_survives_mask_truncated():
    trainer = masked_trainer((), "algo.order=4", "algo.mask_truncated=true")
    real = trainer.backend.generate

    def cut_some(prompts, group_ids, sampling):
        out = real(prompts, group_ids, sampling)
        out.finished = np.ones(len(out.finished), dtype=bool)
        out.finished[[2, 9, 10]] = False  # group 0 keeps 3, group 2 keeps 2 of 4
        return out

    trainer.backend.generate = cut_some
    batch, metrics = trainer.step()
    np.testing.assert_array_equal(np.flatnonzero(~batch.mask), [2, 9, 10])
    np.testing.assert_array_equal(batch.advantages, per_group_advantages(batch, 4))
    # Group 0 keeps rewards 1, 0, 0 (rows 0, 1, 3): 3/1 − 1 = 2 and −1.
    assert batch.advantages[:4].tolist() == [2.0, -1.0, 0.0, -1.0]
    assert metrics["order_clamped_groups"] == 2
    assert metrics["truncated_frac"] == pytest.approx(3 / 16)


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "dr_grpo", "reinforce"])
def test_other_estimators_reach_the_step(estimator):
    batch, _ = make_trainer(f"algo.estimator={estimator}").step()
    expected = maxrl_rs.advantages(batch.rewards, batch.rollouts.group_ids, estimator, mask=batch.mask)
    np.testing.assert_array_equal(batch.advantages, expected)


def test_micro_batching_does_not_change_the_update():
    """Gradient accumulation over micro-batches of 1 gives the full-batch update (float32 tolerance)."""
    big, small = make_trainer("train.micro_batch_size=64"), make_trainer("train.micro_batch_size=1")
    torch.manual_seed(7)
    b1, m1 = big.step()
    torch.manual_seed(7)
    b2, m2 = small.step()
    assert b1.rollouts.texts == b2.rollouts.texts
    assert m1["loss"] == pytest.approx(m2["loss"], rel=1e-5, abs=1e-7)
    for p, q in zip(big.model.parameters(), small.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_minibatches_hold_whole_groups():
    from maxrl_rs.trainer import _minibatch_rows

    groups = np.repeat([10, 11, 12, 13, 14], 3)
    parts = _minibatch_rows(groups, 2)
    assert sum(len(p) for p in parts) == len(groups)
    for p in parts:
        ids = set(groups[p])
        assert all(np.count_nonzero(groups[p] == g) == 3 for g in ids)


# -- rollouts ------------------------------------------------------------------------------------------------


def test_hf_backend_layout_masks_and_texts():
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=2)
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok)
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(3)]
    prompts[1] = prompts[1][4:]  # ragged prompt lengths
    backend = HFBackend(model, tok, batch_size=2)
    r = backend.generate(prompts, [7, 8, 9], SamplingParams(n=3, max_new_tokens=6))
    assert len(r) == 9 and r.group_ids.tolist() == [7, 7, 7, 8, 8, 8, 9, 9, 9]
    # Left padding: every prompt ends at the last column.
    for i, p in enumerate(prompts):
        for j in range(3):
            row = 3 * i + j
            assert r.prompt_ids[row, -len(p) :].tolist() == p
            assert r.prompt_mask[row].sum().item() == len(p)
    for row in range(len(r)):
        ids = r.response_ids[row][r.response_mask[row].bool()].tolist()
        eos = tok.eos_token_id
        assert eos not in ids[:-1], "nothing after the first EOS is part of the response"
        assert r.finished[row] == (eos in ids)
        assert r.texts[row] == tok.decode(ids, skip_special_tokens=True)
    assert model.training, "generate restores train mode"


def test_recomputed_logprobs_match_generate_scores():
    task = MazeTask(MazeOptions(5), seed=0, eval_seed=1, eval_size=2)
    tok = task.build_tokenizer()
    torch.manual_seed(0)
    model = tiny_model(TinyModelSpec(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok)
    model.eval()
    prompts = [task.prompt_ids(task.train_example(i), tok) for i in range(2)]
    prompts[0] = prompts[0][3:]
    ids, mask = left_pad(prompts, tok.pad_token_id, "cpu")
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=True,
        max_new_tokens=5,
        min_new_tokens=5,
        output_logits=True,
        return_dict_in_generate=True,
        pad_token_id=tok.pad_token_id,
    )
    response = out.sequences[:, ids.shape[1] :]
    want = torch.gather(torch.stack(out.logits, 1).log_softmax(-1), -1, response.unsqueeze(-1)).squeeze(-1)
    from maxrl_rs.rollout import Rollouts

    batch = Rollouts(ids, mask, response, torch.ones_like(response), [""] * 2, np.zeros(2), np.ones(2, bool))
    got, ent = token_logprobs(model, batch, entropy=True)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert (ent >= 0).all()


def test_eos_mask_with_pad_equal_to_eos():
    eos = 2
    resp = torch.tensor([[5, 2, 2, 2], [5, 6, 7, 8], [2, 2, 2, 2]])
    mask, finished = eos_mask(resp, [eos])
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert finished.tolist() == [True, False, True]


# -- config --------------------------------------------------------------------------------------------------


def test_overrides_parse_by_type_and_errors_name_the_key(tmp_path):
    cfg = Config()
    cfg = apply_override(cfg, "train.steps=12")
    cfg = apply_override(cfg, "algo.order=none")
    cfg = apply_override(cfg, "algo.drop_all_fail=false")
    cfg = apply_override(cfg, "rollout.temperature=0.7")
    cfg = apply_override(cfg, "task.maze.size=9")
    assert (cfg.train.steps, cfg.algo.order, cfg.algo.drop_all_fail) == (12, None, False)
    assert (cfg.rollout.temperature, cfg.task.maze.size) == (0.7, 9)
    with pytest.raises(ConfigError, match=re.escape("unknown key 'train.stepz' (did you mean 'steps'?)")):
        apply_override(cfg, "train.stepz=3")
    with pytest.raises(ConfigError, match=re.escape("train.steps: expected an integer, got 'many'")):
        apply_override(cfg, "train.steps=many")
    with pytest.raises(ConfigError, match="algo is a section"):
        apply_override(cfg, "algo=maxrl")
    with pytest.raises(ConfigError, match="key=value"):
        apply_override(cfg, "train.steps")
    with pytest.raises(ConfigError, match=re.escape("algo.estimator: unknown estimator 'ppo'")):
        load_config(None, ["algo.estimator=ppo"])
    with pytest.raises(ConfigError, match=re.escape("algo.order: must be in 1..rollout.n=8")):
        load_config(None, ["algo.order=9"])


def test_backend_names_are_config_values():
    assert load_config(None, ["rollout.backend=vllm"]).rollout.backend == "vllm"
    with pytest.raises(
        ConfigError, match=re.escape("rollout.backend: unknown backend 'trt'; known: hf, vllm")
    ):
        load_config(None, ["rollout.backend=trt"])


def test_toml_and_json_files(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('seed = 3\n[algo]\nestimator = "rloo"\n[task.maze]\nsize = 9\n')
    cfg = load_config(toml, ["train.steps=5"])
    assert (cfg.seed, cfg.algo.estimator, cfg.task.maze.size, cfg.train.steps) == (3, "rloo", 9, 5)
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"algo": {"order": None, "clip_high": 0.28}}))
    assert load_config(js).algo.clip_high == 0.28
    bad = tmp_path / "bad.toml"
    bad.write_text("[algo]\nclip_low = 'wide'\n")
    with pytest.raises(ConfigError, match=re.escape("algo.clip_low: expected a number, got 'wide'")):
        load_config(bad)
    bad.write_text("[algo]\nestimatr = 'grpo'\n")
    with pytest.raises(ConfigError, match=re.escape("unknown key 'algo.estimatr'")):
        load_config(bad)


# -- CLI -----------------------------------------------------------------------------------------------------


def test_cli_train_prints_summary_and_rejects_bad_keys(tmp_path):
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    runner = CliRunner()
    args = ["train", "--out", str(tmp_path / "run"), "--steps", "1", "--seed", "1", "--quiet"]
    args += [a for item in TINY for a in ("--set", item)] + ["--set", "sft.steps=20"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "SFT start (step 0)" in result.output and "final (step 1)" in result.output
    assert "wall time" in result.output and str(tmp_path / "run") in result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["seed"] == 1

    bad = runner.invoke(main, ["train", "--out", str(tmp_path / "x"), "--set", "algo.clip=0.1"])
    assert bad.exit_code == 2 and "unknown key 'algo.clip'" in bad.output
    help_text = runner.invoke(main, ["train", "--help"]).output
    for option in ("--config", "--set", "--steps", "--out", "--resume", "--seed"):
        assert option in help_text
