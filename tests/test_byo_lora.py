"""LoRA through peft: trains only the adapter, resumes bit-identically, exports a merged model that plain
``from_pretrained`` loads with the adapter model's logits; KL against the adapter-free base; gradient
checkpointing with and without an adapter."""

from __future__ import annotations

import json
import re

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from _tiny import TINY  # noqa: E402
from maxrl_rs import ConfigError  # noqa: E402
from maxrl_rs.config import Config, load_config, merge  # noqa: E402
from maxrl_rs.run import train  # noqa: E402

# Mazes of size 3 after a short warm-start: mixed groups, so every step moves the weights.
SMALL = [*TINY, "task.maze.size=3", "task.eval_size=2", "sft.steps=100"]
LORA = [*SMALL, "model.lora.r=8", "model.lora.alpha=16", "train.lr=1e-2", "checkpoint.every=1",
        "checkpoint.keep=5"]  # fmt: skip


def adapter(run, step):
    from safetensors.torch import load_file

    return load_file(run / "checkpoints" / f"step-{step}" / "model" / "adapter_model.safetensors")


def test_lora_run_resumes_bit_identically_and_exports_a_merged_model(tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    whole, part = tmp_path / "whole", tmp_path / "part"
    train(load_config(None, [f"out={whole}", *LORA, "train.steps=3"]))
    train(load_config(None, [f"out={part}", *LORA, "train.steps=1"]))
    train(load_config(None, [*LORA, "train.steps=3", f"out={part}"]), resume=part)

    a, b = adapter(whole, 3), adapter(part, 3)
    assert set(a) == set(b) and all("lora_" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical after a resume
    assert any(not torch.equal(adapter(whole, 1)[k], a[k]) for k in a)  # and training moved it
    rows = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]
    assert len(rows) == 3 and all(r["update_tokens"] > 0 for r in rows)
    # The checkpoint holds the adapter alone, not the base weights.
    assert not (whole / "checkpoints" / "step-3" / "model" / "model.safetensors").exists()

    merged = AutoModelForCausalLM.from_pretrained(whole / "merged")
    assert not hasattr(merged, "peft_config")
    base = AutoModelForCausalLM.from_pretrained(whole / "sft")
    with_adapter = PeftModel.from_pretrained(base, whole / "checkpoints" / "step-3" / "model")
    ids = torch.tensor([[1, 5, 6, 7, 8, 9, 10, 4], [1, 7, 7, 3, 5, 9, 12, 4]])
    with torch.no_grad():
        want = with_adapter(input_ids=ids).logits
        got = merged(input_ids=ids).logits
        with with_adapter.disable_adapter():
            plain = with_adapter(input_ids=ids).logits
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert (want - plain).abs().max() > 1e-3  # the adapter changed the model
    # A checkpoint loads on its own (maxrl eval): its adapter names the base directory.
    from maxrl_rs.run import load_pretrained

    alone, _ = load_pretrained(whole / "checkpoints" / "step-3" / "model")
    with torch.no_grad():
        torch.testing.assert_close(alone(input_ids=ids).logits, want, rtol=1e-5, atol=1e-5)


def test_lora_with_kl_uses_the_base_as_reference_and_gradient_checkpointing(tmp_path):
    seen = []
    cfg = load_config(
        None,
        [f"out={tmp_path / 'run'}", *LORA, "train.steps=2", "algo.kl_coef=0.1",
         "train.gradient_checkpointing=true"],
    )  # fmt: skip
    train(cfg, hooks=[seen.append])
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    kl = [r["kl"] for r in rows if "kl" in r]
    assert kl[0] == pytest.approx(0.0, abs=1e-6)  # step 1: the policy is still the base (B = 0)
    assert kl[1] > 0  # step 2: the adapter has moved it away from the base


def test_gradient_checkpointing_gives_the_same_update_without_lora(tmp_path):
    from safetensors.torch import load_file

    outs = []
    for flag in ("false", "true"):
        out = tmp_path / flag
        train(load_config(None, [f"out={out}", *SMALL, "train.steps=1",
                                 f"train.gradient_checkpointing={flag}"]))  # fmt: skip
        outs.append(load_file(out / "checkpoints" / "step-1" / "model" / "model.safetensors"))
        step = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]
        assert step[0]["grad_norm"] > 0
    start = load_file(tmp_path / "true" / "sft" / "model.safetensors")
    assert any(not torch.equal(start[k], outs[1][k]) for k in start)
    for k in outs[0]:
        torch.testing.assert_close(outs[0][k], outs[1][k], rtol=1e-5, atol=1e-6)


def test_lora_options_are_checked():
    with pytest.raises(ConfigError, match=r"model\.lora\.dropout: must be 0"):
        load_config(None, ["model.lora.r=8", "model.lora.dropout=0.1"])
    with pytest.raises(ConfigError, match=r"model\.lora\.r: must be >= 0"):
        load_config(None, ["model.lora.r=-1"])
    with pytest.raises(ConfigError, match=r"model\.lora: .*fsdp"):
        load_config(None, ["model.lora.r=8", "distributed.strategy=fsdp"])
    with pytest.raises(ConfigError, match=r"model\.lora\.target_modules: expected a list of strings"):
        merge(Config(), {"model": {"lora": {"target_modules": "q_proj"}}})
    lora = load_config(None, ["model.lora.r=4", "model.lora.target_modules=q_proj, v_proj"]).model.lora
    assert lora.target_modules == ["q_proj", "v_proj"]


@pytest.mark.parametrize(
    ("setting", "key"),
    [("model.lora.target_modules=q_projj", "target_modules"), ("model.lora.alpha=32", "alpha")],
)
def test_lora_keys_without_an_adapter_are_refused(setting, key):
    # r = 0 trains all weights: an adapter setting would be ignored without a word.
    with pytest.raises(ConfigError, match=rf"model\.lora\.{key}: .* does not apply with model\.lora\.r = 0"):
        load_config(None, [setting])
    assert load_config(None, ["model.lora.r=4", setting]).model.lora.r == 4


@pytest.mark.parametrize(
    ("targets", "named"),
    [
        ("q_proj,nosuch", r"'nosuch' matches no module of the model; the model's"),
        ("q_proj,v_prj", r"'v_prj' matches no module of the model \(did you mean 'v_proj'\?\)"),
        ("nosuch", r"'nosuch' matches no module"),  # peft's own refusal, named the same way
        ("self_attn.q_proj,mlp.q_proj", r"'mlp\.q_proj' matches no module"),  # a dotted suffix must match too
    ],
)
def test_a_target_module_that_matches_nothing_is_refused_before_the_run_starts(tmp_path, targets, named):
    out = tmp_path / "run"
    cfg = load_config(
        None, [f"out={out}", *TINY, "model.lora.r=4", f"model.lora.target_modules={targets}", "train.steps=1"]
    )
    with pytest.raises(ConfigError, match=r"model\.lora\.target_modules: ") as e:
        train(cfg)
    assert re.search(named, str(e.value)), str(e.value)
    assert "'q_proj' matches" not in str(e.value) and "'self_attn.q_proj' matches" not in str(e.value)
    available = str(e.value).split("can wrap: ")[1].split(" (")[0].split(", ")
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "embed_tokens", "lm_head"} <= set(available)
    assert not out.exists()  # refused before the warm-start and before the run directory is made


def test_dotted_and_partial_target_modules_that_match_are_accepted(tmp_path):
    from maxrl_rs import lora
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.run import make_task

    cfg = load_config(None, [*TINY, "model.lora.r=4", "model.lora.target_modules=self_attn.q_proj,v_proj"])
    spec = TinyModelSpec(hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32)
    model = tiny_model(spec, make_task(cfg).build_tokenizer())
    lora.check_target_modules(model, cfg.model.lora)  # no error
    wrapped = lora.apply_lora(model, cfg.model.lora)
    adapted = {n.rsplit(".", 1)[-1] for n, _ in wrapped.named_modules() if n.endswith(("q_proj", "v_proj"))}
    assert adapted == {"q_proj", "v_proj"}


def test_unknown_target_module_and_resuming_an_adapter_without_lora(tmp_path):
    cfg = load_config(
        None,
        [f"out={tmp_path / 'a'}", *TINY, "sft.steps=0", "model.lora.r=4", "model.lora.target_modules=nope"],
    )
    with pytest.raises(ConfigError, match=r"model\.lora\.target_modules"):
        train(cfg)
    out = tmp_path / "b"
    train(load_config(None, [f"out={out}", *TINY, "sft.steps=0", "model.lora.r=4", "train.steps=1"]))
    # No warm-start: the base lives only in memory, so it is written for the checkpoints to name.
    from maxrl_rs.run import load_pretrained

    assert (out / "base" / "model.safetensors").is_file()
    load_pretrained(out / "checkpoints" / "step-1" / "model")
    with pytest.raises(ConfigError, match=r"model\.lora"):  # the saved run has an adapter
        train(load_config(None, [*TINY, "sft.steps=0", "train.steps=2", f"out={out}"]), resume=out)
