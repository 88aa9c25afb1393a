"""Tiny causal language models and word-level tokenizers built in code, for the built-in tasks.

The built-in tasks (maze, arithmetic) need no download: each one lists its vocabulary, gets a
``PreTrainedTokenizerFast`` over a ``tokenizers`` WordLevel model from :func:`word_level_tokenizer`, and a
randomly initialised Qwen2 or Llama model of ~0.1–1M parameters from :func:`tiny_model`. Both are ordinary
transformers objects: ``save_pretrained`` / ``from_pretrained`` work on them as on any hub model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError
from maxrl_rs.options import missing_path

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIAL_TOKENS = (PAD, BOS, EOS)
# Llama first: transformers maps a qwen2 config to Qwen2Tokenizer whatever tokenizer_config.json says, so
# AutoTokenizer would not read a saved word-level tokenizer back faithfully; for llama it does.
ARCHITECTURES = ("llama", "qwen2")
_GENERIC_TOKENIZERS = ("TokenizersBackend", "PreTrainedTokenizerFast")


def word_level_tokenizer(words: Sequence[str], *, join: str = " ") -> Any:
    """A fast tokenizer whose tokens are ``<pad> <bos> <eos>`` followed by ``words``, split on whitespace.

    Args:
        words: the task's vocabulary, in id order after the three special tokens.
        join: how ``decode`` joins tokens: ``" "`` (maze moves: ``"UP LEFT DONE"``) or ``""`` (digits:
            ``"1 2 3"`` decodes to ``"123"``).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((*SPECIAL_TOKENS, *words))}
    if len(vocab) != len(SPECIAL_TOKENS) + len(words):
        raise ConfigError(f"tokenizer vocabulary has duplicate words: {list(words)}")
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=None))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if join == "":
        core.decoder = decoders.Fuse()
    elif join != " ":
        raise ConfigError(f"join must be ' ' or '', got {join!r}")
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


@dataclass(frozen=True)
class TinyModelSpec:
    """Shape of a tiny decoder-only transformer (parameters ≈ layers · 12 · hidden² + 2 · vocab · hidden)."""

    arch: str = "llama"
    hidden_size: int = 64
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 256
    max_positions: int = 512


def tiny_config(spec: TinyModelSpec, tokenizer: Any) -> Any:
    """A transformers config for ``spec`` whose special-token ids match ``tokenizer``."""
    from transformers import LlamaConfig, Qwen2Config

    if spec.arch not in ARCHITECTURES:
        raise ConfigError(
            f"model.arch: unknown architecture {spec.arch!r}; known: {', '.join(ARCHITECTURES)}"
        )
    if spec.hidden_size % spec.num_heads:
        raise ConfigError(
            f"model.hidden_size ({spec.hidden_size}) must be a multiple of model.num_heads ({spec.num_heads})"
        )
    cls = Qwen2Config if spec.arch == "qwen2" else LlamaConfig
    return cls(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        max_position_embeddings=spec.max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )


def tiny_model(spec: TinyModelSpec, tokenizer: Any) -> Any:
    """A randomly initialised causal LM (float32) for ``spec``; seed torch first for a reproducible init."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(tiny_config(spec, tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def load_tokenizer(path: str | Path) -> Any:
    """A saved tokenizer, read back as saved: a generic fast tokenizer (the built-in tasks' word-level ones)
    is loaded as such rather than as the model type's own tokenizer class."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    config = Path(path) / "tokenizer_config.json"
    declared = json.loads(config.read_text()).get("tokenizer_class") if config.is_file() else None
    if declared in _GENERIC_TOKENIZERS:
        return PreTrainedTokenizerFast.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path)


def is_model_config(data: Any) -> bool:
    """``data`` (a parsed ``config.json``) is a Hugging Face model's config, not a maxrl one."""
    return isinstance(data, dict) and ("model_type" in data or "architectures" in data)


def is_model_dir(path: str | Path) -> bool:
    """``path`` holds a model (a Hugging Face ``config.json`` or a LoRA adapter), e.g. a checkpoint's
    ``model/``, ``RUN_DIR/sft`` or ``RUN_DIR/merged``; a run directory's ``config.json`` is not a model's."""
    p = Path(path)
    if (p / "adapter_config.json").is_file():
        return True
    try:
        return is_model_config(json.loads((p / "config.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False


#: Files that make a directory a tokenizer (one of them is enough).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def check_model_dir(path: str | Path, key: str = "model.path") -> None:
    """Raise :class:`ConfigError` naming what a Hugging Face model directory at ``path`` lacks: the directory,
    its ``config.json`` (a training run's directory is recognised and pointed to its checkpoints), its
    weights or its tokenizer files. Checked before loading, so that transformers' guesses (such as a hint to
    install sentencepiece) never stand in for the cause."""
    p = Path(path)
    if not p.exists():
        raise missing_path(key, path, "directory")
    if not p.is_dir():
        raise ConfigError(f"{key}: {str(path)!r} is not a directory")
    if (p / "checkpoints").is_dir() or (p / "metrics.jsonl").is_file():
        raise ConfigError(
            f"{key}: {str(path)!r} is a training run directory, not a model; use one of its checkpoints' "
            f"models, e.g. {str(p / 'checkpoints' / 'step-N' / 'model')!r}"
        )
    if p.name == "checkpoints" and (p.parent / "config.json").is_file():
        raise ConfigError(
            f"{key}: {str(path)!r} holds a run's checkpoints, not a model; use one checkpoint's model, "
            f"e.g. {str(p / 'step-N' / 'model')!r}"
        )
    if (p / "trainer_state.pt").is_file() and (p / "model").is_dir():
        raise ConfigError(
            f"{key}: {str(path)!r} is a training checkpoint, not a model; use its model, {str(p / 'model')!r}"
        )
    if not (p / "config.json").is_file():
        raise ConfigError(f"{key}: {str(path)!r} has no config.json; it is not a Hugging Face model")
    if not any(p.glob("*.safetensors")) and not any(p.glob("pytorch_model*.bin")):
        raise ConfigError(f"{key}: {str(path)!r} has no weights (*.safetensors or pytorch_model*.bin)")
    if not any((p / name).is_file() for name in _TOKENIZER_FILES):
        raise ConfigError(f"{key}: {str(path)!r} has no tokenizer (none of {', '.join(_TOKENIZER_FILES)})")


def num_parameters(model: Any, *, trainable: bool = False) -> int:
    """Distinct parameters (tied embeddings counted once); with ``trainable``, only those that require grad
    (a LoRA run's adapter)."""
    distinct = {id(p): p for p in model.parameters()}.values()
    return sum(p.numel() for p in distinct if p.requires_grad or not trainable)


def parameter_summary(trainable: int, total: int) -> str:
    """``trainable params: 73,728 || all params: 1,309,248 || trainable%: 5.6313``, as peft's
    ``print_trainable_parameters`` writes it."""
    share = 100 * trainable / total if total else 0.0
    return f"trainable params: {trainable:,} || all params: {total:,} || trainable%: {share:.4f}"
