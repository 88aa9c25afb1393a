"""TRL integration: reward functions, and MaxRL advantages inside the real GRPOTrainer.

The trainer tests run TRL on CPU with a random-init two-layer Qwen2 and a word-level tokenizer built in code,
so completions are a handful of tokens and some are right by chance. They check that the advantages the loss
receives are exactly ``maxrl_rs.advantages`` of the gathered rewards, in one process and in two (torchrun,
gloo) where groups straddle the processes.

Run as ``python -m torch.distributed.run --nproc_per_node 2 tests/test_integrations_trl.py --worker DIR``,
this file is the distributed worker.
"""

from __future__ import annotations

import importlib.util
import json
import pickle
import socket
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import maxrl_rs
from maxrl_rs.integrations.trl import RewardFunction, gsm8k_reward, make_reward_func, math_reward

G = 4  # completions per prompt

# --------------------------------------------------------------------------------------------------------
# Reward functions (no trl needed)


def test_gsm8k_reward_strings_and_conversations():
    completions = [
        "so #### 72",
        [{"role": "assistant", "content": "The answer is 71"}],
        [
            {"role": "assistant", "content": "let me call a tool"},
            {"role": "tool", "content": "42"},
            {"role": "assistant", "content": [{"type": "text", "text": "#### 42"}]},
        ],
    ]
    answers = ["Natalia sold 48/2 = 24 clips ... #### 72", "72", "42"]
    assert gsm8k_reward(prompts=["q"] * 3, completions=completions, answer=answers) == [1.0, 0.0, 1.0]
    assert gsm8k_reward.__name__ == "gsm8k_reward"


def test_unreadable_reference_is_none_and_can_be_kept():
    rewards = gsm8k_reward(None, ["#### 3", "#### 3"], answer=["3", "not a number"])
    assert rewards == [1.0, None]
    strict = make_reward_func("gsm8k", reference_column="answer", none_for=("limit", "error"))
    assert strict(None, ["#### 3", "#### 3"], answer=["3", "not a number"]) == [1.0, 0.0]


def test_reward_func_with_options_and_name():
    exact = make_reward_func("exact", reference_column="label", name="exact_match", case_sensitive=True)
    assert exact.__name__ == "exact_match"
    assert exact(None, ["Paris", "paris"], label=["Paris", "Paris"]) == [1.0, 0.0]
    relaxed = make_reward_func("exact", reference_column="label")
    assert relaxed.__name__ == "exact_reward"
    assert relaxed(None, ["Paris", "paris"], label=["Paris", "Paris"]) == [1.0, 1.0]


def test_missing_column_names_the_available_ones():
    with pytest.raises(maxrl_rs.InvalidInputError, match=r"'solution'.*\['answer', 'level'\]"):
        math_reward(["q"], ["x"], answer=["1"], level=[3], trainer_state=None, log_extra=None)


def test_length_mismatch_is_an_error():
    with pytest.raises(maxrl_rs.InvalidInputError, match="2 completions but 1 values"):
        gsm8k_reward(None, ["#### 1", "#### 2"], answer=["1"])


def test_unknown_option_fails_loudly():
    with pytest.raises(maxrl_rs.InvalidInputError, match="casesensitive"):
        make_reward_func("exact", reference_column="label", casesensitive=True)(None, ["a"], label=["a"])


def test_logs_extracted_answers_and_statuses():
    logged, metrics = {}, {}
    gsm8k_reward(
        None,
        ["#### 5", "no digits here", "#### 5"],
        answer=["5", "5", "five"],
        log_extra=lambda column, values: logged.__setitem__(column, values),
        log_metric=lambda name, value: metrics.__setitem__(name, value),
    )
    assert logged["gsm8k_reward/status"] == ["correct", "no_answer", "invalid_reference"]
    assert logged["gsm8k_reward/extracted"][0] == "5"
    assert metrics["gsm8k_reward/frac_skipped"] == pytest.approx(1 / 3)


def test_pickles_and_still_grades():
    clone = pickle.loads(pickle.dumps(gsm8k_reward))
    assert isinstance(clone, RewardFunction) and clone.__name__ == "gsm8k_reward"
    assert clone(None, ["#### 9"], answer=["9"]) == [1.0]


def test_math_reward():
    completions = [
        r"so the answer is $\boxed{\frac{1}{2}}$",
        [{"role": "assistant", "content": r"We get \boxed{0.5}."}],
        r"\boxed{3}",
        "I could not solve it.",
    ]
    solution = [r"\frac12", r"\frac{1}{2}", "4", "4"]
    assert math_reward(None, completions, solution=solution) == [1.0, 1.0, 0.0, 0.0]


# --------------------------------------------------------------------------------------------------------
# The advantage computation on TRL's gathered layout (pure function)

requires_trl = pytest.mark.skipif(
    importlib.util.find_spec("trl") is None, reason="trl is not installed (pip install 'maxrl-rs[trl]')"
)


@cache
def _trainer_module():
    return importlib.import_module("maxrl_rs.integrations._trl_trainer")


def maxrl_global_advantages(*args, **kwargs):
    return _trainer_module().maxrl_global_advantages(*args, **kwargs)


def _tensor(rows):
    import torch

    return torch.tensor(rows, dtype=torch.float32)


def _expected(rewards: np.ndarray, mask: np.ndarray | None = None, **kw) -> np.ndarray:
    return maxrl_rs.advantages(rewards, np.arange(len(rewards)) // G, "maxrl", mask=mask, **kw)


@requires_trl
def test_global_advantages_are_maxrl_of_weighted_rewards_with_none_masked():
    nan = float("nan")
    # Two reward functions; function 1 only scores some rows (None elsewhere); row 5 unscorable by both.
    per_func = _tensor([[1, nan], [0, nan], [0, nan], [0, nan], [0, 1], [0, 0], [nan, 1], [nan, nan]])
    weights = _tensor([1.0, 1.0])
    adv, rewards, scorable = maxrl_global_advantages(per_func, weights, G)
    np.testing.assert_array_equal(rewards, [1, 0, 0, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(scorable, [True] * 7 + [False])
    np.testing.assert_array_equal(adv.numpy(), _expected(rewards, scorable).astype(np.float32))
    # Group 0: K=1 of N=4 -> 3, -1, -1, -1; group 1: row 7 masked, K=2 of N=3 -> 0.5, -1, 0.5, 0.
    np.testing.assert_allclose(adv.numpy(), [3, -1, -1, -1, 0.5, -1, 0.5, 0])


@requires_trl
def test_order_and_drop_all_fail_are_forwarded():
    per_func = _tensor([[1.0], [0], [0], [0], [0], [0], [0], [0]])
    adv, r, _ = maxrl_global_advantages(per_func, _tensor([1.0]), G, order=2, drop_all_fail=False)
    np.testing.assert_array_equal(adv.numpy(), _expected(r, order=2, drop_all_fail=False).astype(np.float32))
    assert adv[4:].tolist() == [-1.0] * 4


@requires_trl
def test_order_is_clamped_in_groups_with_unscorable_completions():
    # order = G = 4; group 0 keeps 3 scorable completions (one None), group 1 all 4, group 2 none.
    nan = float("nan")
    per_func = _tensor([[1], [0], [nan], [0], [1], [0], [0], [0], [nan], [nan], [nan], [nan]])
    adv, r, _ = maxrl_global_advantages(per_func, _tensor([1.0]), G, order=4)
    # Group 0 at order N_g = 3, K = 1: 3/1 − 1 = 2 for the success, −1 for the failures, 0 where masked.
    assert adv[:4].tolist() == [2.0, -1.0, 0.0, -1.0]
    full = _expected(r[4:8], order=4).astype(np.float32)  # group 1 alone, unmasked: order 4 itself
    np.testing.assert_array_equal(adv[4:8].numpy(), full)
    assert adv[8:].tolist() == [0.0] * 4


@requires_trl
def test_non_binary_rewards_name_the_completion_or_are_thresholded():
    per_func = _tensor([[1.0, 0.5], [0, 0], [0, 0], [0, 0]])
    with pytest.raises(maxrl_rs.InvalidInputError, match=r"completion 0 .* reward 1\.5.*reward_threshold"):
        maxrl_global_advantages(per_func, _tensor([1.0, 1.0]), G)
    adv, r, _ = maxrl_global_advantages(per_func, _tensor([1.0, 1.0]), G, reward_threshold=1.0)
    np.testing.assert_array_equal(r, [1, 0, 0, 0])
    assert adv.tolist() == [3.0, -1.0, -1.0, -1.0]


@requires_trl
@pytest.mark.parametrize("processes", [2, 3])
def test_process_slices_reassemble_the_global_advantages(processes):
    # TRL gathers each process's rows in rank order; a group of G may straddle two processes.
    rng = np.random.default_rng(processes)
    local_n = 6 if processes == 2 else 4  # 12 rows = 3 groups of 4, split 6+6 or 4+4+4
    per_func = _tensor(rng.integers(0, 2, size=(local_n * processes, 1)).tolist())
    adv, r, _ = maxrl_global_advantages(per_func, _tensor([1.0]), G)
    slices = [adv[p * local_n : (p + 1) * local_n].numpy() for p in range(processes)]
    np.testing.assert_array_equal(np.concatenate(slices), _expected(r).astype(np.float32))


@requires_trl
def test_installed_trl_has_the_hooks_and_a_changed_trl_fails_loudly():
    check_trl_internals = _trainer_module().check_trl_internals
    check_trl_internals()

    class Renamed:
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list): ...

    with pytest.raises(RuntimeError, match=r"trl .*_generate_and_score_completions.*Pin trl"):
        check_trl_internals(Renamed)

    class Reordered(Renamed):
        def _calculate_rewards(self, prompts, inputs, completions, completion_ids_list): ...
        def _generate_and_score_completions(self, inputs): ...

    with pytest.raises(RuntimeError, match="_calculate_rewards takes"):
        check_trl_internals(Reordered)


# --------------------------------------------------------------------------------------------------------
# The real GRPOTrainer

WORDS = ["<pad>", "<eos>", "<unk>", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "?", "####", "1", "2", "3"]


def _tiny_setup(seed: int = 0):
    """A random-init 2-layer Qwen2 (hidden 32) and a word-level tokenizer over WORDS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece()  # joins tokens with spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    config = Qwen2Config(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
        tie_word_embeddings=True,
    )
    import torch

    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config), tokenizer


def _dataset():
    from datasets import Dataset

    # Distinct prompts, GSM8K-style answers; Q4's reference is unreadable, so its rewards are None. Two steps
    # of two prompts cover all four, whatever order the sampler draws them in.
    answers = ["#### 1", "#### 2", "#### 3", "none"]
    return Dataset.from_dict({"prompt": [f"Q{i} ?" for i in range(1, 5)], "answer": answers})


_ROW_KEYS = ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages")


@cache
def _recording_trainer_cls():
    class RecordingTrainer(_trainer_module().MaxRLGRPOTrainer):
        """Records the gathered rewards, the unshuffled generation batch and what the loss receives."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.gathered, self.generated, self.loss_inputs = [], [], []

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            out = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self.gathered.append(out.detach().cpu().clone())
            return out

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            self.generated.append({k: out[k].detach().cpu().clone() for k in _ROW_KEYS})
            return out

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            self.loss_inputs.append({k: inputs[k].detach().cpu().clone() for k in _ROW_KEYS})
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    return RecordingTrainer


def _row_keys(batch: dict) -> list[tuple]:
    """Identify rows by their unpadded prompt and completion tokens (prompts are distinct)."""
    keys = []
    for i in range(batch["prompt_ids"].shape[0]):
        p = batch["prompt_ids"][i][batch["prompt_mask"][i].bool()].tolist()
        c = batch["completion_ids"][i][batch["completion_mask"][i].bool()].tolist()
        keys.append((tuple(p), tuple(c)))
    return keys


def _trainer(output_dir: Path, per_device: int, steps: int = 2, config: dict | None = None, **maxrl_kwargs):
    from trl import GRPOConfig

    model, tokenizer = _tiny_setup()
    args = GRPOConfig(
        **(config or {}),
        output_dir=str(output_dir),
        per_device_train_batch_size=per_device,
        num_generations=G,
        max_completion_length=3,
        max_steps=steps,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=0,
        dataloader_num_workers=0,
    )
    return _recording_trainer_cls()(
        model=model,
        reward_funcs=gsm8k_reward,
        args=args,
        train_dataset=_dataset(),
        processing_class=tokenizer,
        **maxrl_kwargs,
    )


def _gathered_rewards(per_func) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(per_func, dtype=np.float64)[:, 0]
    scorable = ~np.isnan(r)
    return np.where(scorable, r, 0.0), scorable


@requires_trl
def test_grpo_trainer_trains_on_maxrl_advantages(tmp_path):
    trainer = _trainer(tmp_path, per_device=8)
    trainer.train()

    assert len(trainer.gathered) == 2 and len(trainer.loss_inputs) == 2
    saw_signal = False
    for per_func, generated, loss_inputs in zip(
        trainer.gathered, trainer.generated, trainer.loss_inputs, strict=True
    ):
        rewards, scorable = _gathered_rewards(per_func)
        expected = _expected(rewards, scorable).astype(np.float32)
        # The generation batch carries exactly maxrl_rs.advantages of the gathered rewards, in order...
        np.testing.assert_array_equal(generated["advantages"].numpy(), expected)
        # ...and the loss receives the same values for the same rows after TRL's shuffle.
        by_row = dict(zip(_row_keys(generated), expected.tolist(), strict=True))
        got = loss_inputs["advantages"].tolist()
        assert got == [by_row[k] for k in _row_keys(loss_inputs)]
        saw_signal |= bool(np.any(expected > 0))
    assert saw_signal, "no batch had a solved group; the test would not distinguish MaxRL from zeros"
    # Prompt Q4's unreadable reference made all G of its rewards None: masked (A = 0), not failures.
    unscorable = [int(np.isnan(per_func[:, 0].numpy()).sum()) for per_func in trainer.gathered]
    assert all(u % G == 0 for u in unscorable) and any(unscorable)
    assert any("maxrl/solved_fraction" in entry for entry in trainer.state.log_history)


@requires_trl
def test_order_is_forwarded_and_validated(tmp_path):
    config = {"num_generations_eval": 2, "per_device_eval_batch_size": 4}
    trainer = _trainer(tmp_path, per_device=8, steps=1, config=config, order=3, drop_all_fail=False)
    trainer.train()
    rewards, scorable = _gathered_rewards(trainer.gathered[0])
    expected = _expected(rewards, scorable, order=3, drop_all_fail=False).astype(np.float32)
    np.testing.assert_array_equal(trainer.generated[0]["advantages"].numpy(), expected)
    # Every group has 4 scorable completions or none (Q4), so none falls below order 3.
    logged = [
        e["maxrl/order_clamped_groups"]
        for e in trainer.state.log_history
        if "maxrl/order_clamped_groups" in e
    ]
    assert logged and all(v == 0 for v in logged)
    # Evaluation groups num_generations_eval = 2 completions; the order is capped at the group size there.
    trainer.evaluate(eval_dataset=_dataset().select(range(2)))
    rewards, scorable = _gathered_rewards(trainer.gathered[-1])
    assert rewards.shape == (4,)
    eval_expected = maxrl_rs.advantages(
        rewards, np.arange(4) // 2, "maxrl", order=2, drop_all_fail=False, mask=scorable
    )
    np.testing.assert_array_equal(
        trainer.generated[-1]["advantages"].numpy(), eval_expected.astype(np.float32)
    )
    with pytest.raises(maxrl_rs.InvalidInputError, match="order=5 exceeds num_generations=4"):
        _trainer(tmp_path, per_device=8, order=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@requires_trl
def test_two_processes_each_get_their_slice_of_the_global_advantages(tmp_path):
    # 6 completions per process, groups of 4: the middle group straddles the two processes.
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        str(Path(__file__).resolve()),
        "--worker",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world_size"] == 2 for r in ranks)
    for step in range(2):
        gathered = np.array(ranks[0]["gathered"][step], dtype=np.float64)
        assert gathered == pytest.approx(np.array(ranks[1]["gathered"][step]), nan_ok=True)
        rewards, scorable = _gathered_rewards(gathered)
        expected = _expected(rewards, scorable).astype(np.float32)
        for rank, record in enumerate(ranks):
            local = np.array(record["advantages"][step], dtype=np.float32)
            np.testing.assert_array_equal(local, expected[rank * 6 : (rank + 1) * 6])
            # Each process's own reward calls are its slice of the gathered rewards.
            np.testing.assert_array_equal(
                np.array(record["local_rewards"][step], dtype=np.float64),
                gathered[rank * 6 : (rank + 1) * 6, 0],
            )


def _distributed_worker(out_dir: Path) -> None:
    local_rewards: list[list[float | None]] = []

    def recorded_gsm8k_reward(prompts, completions, **kwargs):
        out = gsm8k_reward(prompts, completions, **kwargs)
        local_rewards.append(out)
        return out

    trainer = _trainer(out_dir / "run", per_device=6)
    trainer.reward_funcs = [recorded_gsm8k_reward]
    trainer.train()
    rank = trainer.accelerator.process_index
    record = {
        "world_size": trainer.accelerator.num_processes,
        "gathered": [g[:, :1].tolist() for g in trainer.gathered],
        "advantages": [g["advantages"].tolist() for g in trainer.generated],
        "local_rewards": [[float("nan") if x is None else x for x in r] for r in local_rewards],
    }
    (out_dir / f"rank{rank}.json").write_text(json.dumps(record))
    # Tear the gloo group down before interpreter exit, after freeing the wrapped model that holds it (see
    # maxrl_rs.distributed.teardown): left to finalisation, its threads can abort the process ("terminate
    # called without an active exception") after the work is done.
    import gc

    import torch.distributed as dist

    trainer.accelerator.wait_for_everyone()
    del trainer
    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__" and "--worker" in sys.argv:
    _distributed_worker(Path(sys.argv[sys.argv.index("--worker") + 1]))
