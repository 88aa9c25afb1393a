"""The config's checks: each section checks its own keys, ``validate`` the ones that join sections, and
loading a config imports no runtime module."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing

import pytest

from maxrl_rs import ConfigError
from maxrl_rs.config import Config, load_config

# One bad value per checked key, in every section, and the message it must give.
BAD = [
    ("task.name", "nope", "task.name: unknown task 'nope'"),
    ("task.eval_size", "0", "task.eval_size: must be >= 1, got 0"),
    ("device", "tpu", "device: auto, cpu or cuda[:i], got 'tpu'"),
    ("threads", "0", "threads: must be >= 1 (or none), got 0"),
    ("sft.steps", "-1", "sft.steps: must be >= 0, got -1"),
    ("sft.lr", "0", "sft.lr: must be > 0, got 0.0"),
    ("rollout.backend", "tgi", "rollout.backend: unknown backend 'tgi'"),
    ("rollout.top_p", "0", "rollout.top_p: must be in (0, 1], got 0.0"),
    ("rollout.min_p", "1", "rollout.min_p: must be in [0, 1) (0: off), got 1.0"),
    ("distributed.strategy", "zero3", "distributed.strategy: unknown strategy 'zero3'"),
    ("distributed.timeout_s", "0", "distributed.timeout_s: must be >= 1, got 0"),
    ("algo.estimator", "ppo", "algo.estimator: unknown estimator 'ppo'"),
    ("algo.loss_agg", "sum", "algo.loss_agg: unknown aggregation 'sum'"),
    ("algo.clip_high", "-0.1", "algo.clip_high: must be >= 0, got -0.1"),
    ("algo.dual_clip", "1", "algo.dual_clip: must be > 1 (or none), got 1.0"),
    ("algo.tis_cap", "0", "algo.tis_cap: must be > 0 (or none), got 0.0"),
    ("algo.ppo_epochs", "0", "algo.ppo_epochs: must be >= 1, got 0"),
    ("train.adam_beta2", "1", "train.adam_beta2: must be in [0, 1), got 1.0"),
    ("train.grad_clip", "0", "train.grad_clip: must be > 0, got 0.0"),
    ("eval.samples", "0", "eval.samples: must be >= 1, got 0"),
    ("checkpoint.keep", "0", "checkpoint.keep: must be >= 1, got 0"),
    ("log.samples", "-1", "log.samples: must be >= 0 (0: none), got -1"),
    ("model.arch", "gpt9", "model.arch: unknown architecture 'gpt9'"),
    ("model.num_heads", "5", "model.hidden_size: must be a multiple of model.num_heads=5"),
    ("model.lora.r", "-1", "model.lora.r: must be >= 0 (0: off), got -1"),
    ("model.lora.dropout", "0.1", "model.lora.dropout: must be 0 for RL, got 0.1"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD, ids=[b[0] for b in BAD])
def test_each_section_checks_its_keys(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(overrides=[f"{key}={value}"])
    assert str(e.value).startswith(message)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["algo.order=9"], "algo.order: must be in 1..rollout.n=8 (or none), got 9"),
        (["algo.order=0"], "algo.order: must be in 1..rollout.n=8 (or none), got 0"),
        (["algo.estimator=grpo", "algo.order=2"], "algo.order: only the maxrl estimator has an order"),
        (["rollout.n=1", "algo.estimator=grpo"], "rollout.n: 1 with algo.estimator = 'grpo' makes"),
        (["train.prompts_per_step=2", "algo.minibatches=3"], "algo.minibatches: must be <= train.prompts"),
        (["model.lora.r=8", "distributed.strategy=fsdp"], "model.lora: not supported with distributed"),
        (["model.lora.r=8", "rollout.backend=vllm"], "model.lora: LoRA training samples with rollout"),
        (["rollout.backend=vllm", "eval.temperature=0.005"], "eval.temperature: with rollout.backend=vllm"),
        (["rollout.backend=vllm", "rollout.vllm.dtype=int8"], "rollout.vllm.dtype: auto, bfloat16"),
    ],
)
def test_cross_section_checks(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(overrides=overrides)
    assert str(e.value).startswith(message)


def test_vllm_options_are_checked_only_for_the_vllm_backend() -> None:
    cfg = load_config(overrides=["rollout.vllm.dtype=int8", "eval.temperature=0.005"])
    assert cfg.rollout.vllm.dtype == "int8"


def test_option_classes_keep_their_public_names() -> None:
    from maxrl_rs import distributed, lora, options
    from maxrl_rs.rollout import vllm

    assert distributed.DistributedConfig is options.DistributedConfig
    assert distributed.STRATEGIES is options.STRATEGIES
    assert vllm.VLLMOptions is options.VLLMOptions
    assert vllm.check_temperature is options.check_temperature
    assert vllm.MIN_TEMPERATURE == options.MIN_TEMPERATURE == 0.01
    assert lora.LoraOptions is options.LoraOptions


def test_loading_a_config_imports_no_runtime_module() -> None:
    code = (
        "import sys; from maxrl_rs.config import load_config; load_config(overrides=['rollout.n=4']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'vllm', 'peft'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("algo.loss_agg", "sum", "agg"),
        ("algo.clip_low", -1.0, "clip_low"),
        ("algo.dual_clip", 0.5, "dual_clip"),
        ("algo.tis_cap", 0.0, "tis_cap"),
    ],
)
def test_loss_settings_fail_alike_with_or_without_a_config(key: str, value: object, field: str) -> None:
    from maxrl_rs.losses import LossConfig

    with pytest.raises(ConfigError) as from_config:
        load_config(overrides=[f"{key}={value}"])
    with pytest.raises(ConfigError) as direct:
        LossConfig(**{field: value})  # type: ignore[arg-type]
    assert str(from_config.value) == str(direct.value)


def _string_keys(section: object, prefix: str = "") -> dict[str, dataclasses.Field]:
    """Every ``str`` key of the config, dotted, with its dataclass field."""
    out: dict[str, dataclasses.Field] = {}
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        value = getattr(section, f.name)
        if dataclasses.is_dataclass(value):
            out.update(_string_keys(value, f"{prefix}{f.name}."))
        elif hints[f.name] is str:
            out[f"{prefix}{f.name}"] = f
    return out


#: The string keys that may be unset (``""``): every one whose default is empty, and the answer field.
OPTIONAL_STRINGS = [
    "task.dataset.answer_field",
    "task.dataset.eval",
    "task.dataset.reward_fn",
    "task.dataset.system_prompt",
    "task.dataset.train",
    "task.gsm8k.path",
    "task.jsonl.eval",
    "task.jsonl.train",
]


def _get(cfg: object, key: str) -> object:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def test_every_string_key_whose_default_is_empty_can_be_unset() -> None:
    keys = _string_keys(Config())
    assert sorted(k for k, f in keys.items() if f.metadata.get("optional")) == OPTIONAL_STRINGS
    assert {k for k, f in keys.items() if f.default == ""} <= set(OPTIONAL_STRINGS)


@pytest.mark.parametrize("key", OPTIONAL_STRINGS)
def test_none_unsets_an_optional_string_key_on_the_command_line_and_in_json(key: str, tmp_path) -> None:
    """``none`` is not taken as a file called none (nor as a module): the key is unset, ``""``."""
    value = "x.py:f" if key.endswith("reward_fn") else "x"
    for spelling in ("none", "None", "null"):
        assert _get(load_config(None, [f"{key}={value}", f"{key}={spelling}"]), key) == "", spelling
    nested: object = None
    for part in reversed(key.split(".")):
        nested = {part: nested}
    (tmp_path / "c.json").write_text(json.dumps(nested))
    assert _get(load_config(tmp_path / "c.json"), key) == ""


def test_a_quoted_none_is_the_word_and_other_string_keys_keep_it() -> None:
    assert load_config(None, ["task.dataset.system_prompt='none'"]).task.dataset.system_prompt == "none"
    with pytest.raises(ConfigError, match=r"unknown estimator 'none'"):
        load_config(None, ["algo.estimator=none"])
