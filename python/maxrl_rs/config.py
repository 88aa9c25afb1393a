"""Training configuration: dataclasses with the defaults of ``maxrl train``, loaded from TOML or JSON and
overridden with ``key=value`` strings (``--set algo.estimator=grpo``).

Each section's ``check`` method, next to its fields, checks that section's keys; :func:`validate` runs them
and the checks that join sections. The option classes of runtime modules come from :mod:`maxrl_rs.options`,
so this module imports neither torch nor vLLM.

Every error is a :class:`maxrl_rs.ConfigError` that names the dotted key and says what was wrong. Unset
optional values are written ``none`` on the command line and left out (TOML) or ``null`` (JSON) in files;
they are ``None``, or ``""`` for the string keys that :func:`maxrl_rs.options.optional_str` declares
(``task.dataset.reward_fn``, ``task.dataset.eval``, ...).

Paths (:data:`PATH_KEYS`) are made absolute as they are read: a config file's relative to that file's
directory, a command-line override's relative to the current directory. A run's saved ``config.json`` thus
holds absolute paths, and the run can be resumed or evaluated from any directory.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError, did_you_mean
from maxrl_rs.fingerprints import DATA_FILE_KEYS
from maxrl_rs.losses import check_loss_settings
from maxrl_rs.models import is_model_config
from maxrl_rs.options import DistributedConfig, LoraOptions, VLLMOptions, check_temperature, need
from maxrl_rs.rewards import MODULE_OR_FILE, is_file_spec, module_file
from maxrl_rs.tasks import (
    ArithmeticOptions,
    DatasetOptions,
    Gsm8kOptions,
    JsonlOptions,
    MazeOptions,
    WordProblemsOptions,
    task_names,
)


@dataclass
class TaskConfig:
    """``[task]``: which task, and its held-out set (seeded apart from training, same for every run seed);
    ``[task.<name>]``: that task's options (``[task.dataset]``: :class:`maxrl_rs.tasks.DatasetOptions`)."""

    name: str = "maze"
    eval_seed: int = 1234
    eval_size: int = 128
    maze: MazeOptions = field(default_factory=MazeOptions)
    arithmetic: ArithmeticOptions = field(default_factory=ArithmeticOptions)
    jsonl: JsonlOptions = field(default_factory=JsonlOptions)
    dataset: DatasetOptions = field(default_factory=DatasetOptions)
    word_problems: WordProblemsOptions = field(default_factory=WordProblemsOptions)
    gsm8k: Gsm8kOptions = field(default_factory=Gsm8kOptions)

    def check(self) -> None:
        need(
            self.name in task_names(),
            "task.name",
            f"unknown task {self.name!r}; known: {', '.join(task_names())}",
        )
        need(self.eval_size >= 1, "task.eval_size", f"must be >= 1, got {self.eval_size}")
        # The chosen task's own keys (the file-reading tasks check theirs before any file is read).
        check = getattr(getattr(self, self.name, None), "check", None)
        if check is not None:
            check()


@dataclass
class ModelConfig:
    """``[model]``: ``path``, a local HF model directory, or unset: the task's tiny model of this shape;
    ``[model.lora]``: a LoRA adapter trained instead of all weights (:mod:`maxrl_rs.lora`)."""

    path: str | None = None
    arch: str = "llama"
    hidden_size: int = 64
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 256
    lora: LoraOptions = field(default_factory=LoraOptions)

    def check(self) -> None:
        from maxrl_rs.models import ARCHITECTURES

        self.lora.check()
        need(
            self.arch in ARCHITECTURES,
            "model.arch",
            f"unknown architecture {self.arch!r}; known: {', '.join(ARCHITECTURES)}",
        )
        for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size"):
            need(getattr(self, k) >= 1, f"model.{k}", f"must be >= 1, got {getattr(self, k)}")
        need(
            self.hidden_size % self.num_heads == 0,
            "model.hidden_size",
            f"must be a multiple of model.num_heads={self.num_heads}",
        )


@dataclass
class SFTConfig:
    """``[sft]``: supervised warm-start on the task's generated solutions. ``steps`` unset: the task's own
    default (maze 300, arithmetic 600, user data 0); 0: no warm-start."""

    steps: int | None = None
    batch_size: int = 64
    lr: float = 2e-3
    warmup_steps: int = 20

    def check(self) -> None:
        need(self.steps is None or self.steps >= 0, "sft.steps", f"must be >= 0, got {self.steps}")
        need(self.batch_size >= 1, "sft.batch_size", f"must be >= 1, got {self.batch_size}")
        need(self.lr > 0, "sft.lr", f"must be > 0, got {self.lr}")


@dataclass
class RolloutConfig:
    """``[rollout]``: sampling. ``n`` responses per prompt; ``max_new_tokens`` unset: the task's budget;
    ``batch_size``: prompts per ``generate`` call (hf); ``[rollout.vllm]``: engine options (vllm)."""

    backend: str = "hf"
    n: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    max_new_tokens: int | None = None
    batch_size: int = 64
    vllm: VLLMOptions = field(default_factory=VLLMOptions)

    def check(self) -> None:
        from maxrl_rs.rollout.base import BACKENDS

        need(
            self.backend in BACKENDS,
            "rollout.backend",
            f"unknown backend {self.backend!r}; known: {', '.join(sorted(BACKENDS))}",
        )
        need(self.n >= 1, "rollout.n", f"must be >= 1, got {self.n}")
        need(self.temperature >= 0, "rollout.temperature", f"must be >= 0, got {self.temperature}")
        need(0 < self.top_p <= 1, "rollout.top_p", f"must be in (0, 1], got {self.top_p}")
        need(self.top_k >= 0, "rollout.top_k", f"must be >= 0 (0: off), got {self.top_k}")
        need(0 <= self.min_p < 1, "rollout.min_p", f"must be in [0, 1) (0: off), got {self.min_p}")
        need(
            self.max_new_tokens is None or self.max_new_tokens >= 1,
            "rollout.max_new_tokens",
            f"must be >= 1, got {self.max_new_tokens}",
        )
        need(self.batch_size >= 1, "rollout.batch_size", f"must be >= 1, got {self.batch_size}")
        if self.backend == "vllm":  # the engine's options are read only by the vllm backend
            self.vllm.check()


@dataclass
class AlgoConfig:
    """``[algo]``: advantage estimator and loss. ``order`` unset: T = N (the paper's Algorithm 1)."""

    estimator: str = "maxrl"
    order: int | None = None
    drop_all_fail: bool = True
    loss_agg: str = "token-mean"
    clip_low: float = 0.2
    clip_high: float = 0.2
    dual_clip: float | None = None
    ppo_epochs: int = 1
    minibatches: int = 1
    kl_coef: float = 0.0
    entropy_coef: float = 0.0
    mask_truncated: bool = False
    tis_cap: float | None = None

    def check(self) -> None:
        from maxrl_rs.advantages import ESTIMATORS

        need(
            self.estimator in ESTIMATORS,
            "algo.estimator",
            f"unknown estimator {self.estimator!r}; known: {', '.join(ESTIMATORS)}",
        )
        need(
            self.order is None or self.estimator == "maxrl",
            "algo.order",
            "only the maxrl estimator has an order",
        )
        need(
            self.drop_all_fail or self.estimator == "maxrl",
            "algo.drop_all_fail",
            "only the maxrl estimator reads it (its all-fail groups get 0 or -1); leave it at true",
        )
        check_loss_settings(self.loss_agg, self.clip_low, self.clip_high, self.dual_clip, self.tis_cap)
        need(self.ppo_epochs >= 1, "algo.ppo_epochs", f"must be >= 1, got {self.ppo_epochs}")
        need(self.minibatches >= 1, "algo.minibatches", f"must be >= 1, got {self.minibatches}")
        need(self.kl_coef >= 0, "algo.kl_coef", f"must be >= 0, got {self.kl_coef}")
        need(self.entropy_coef >= 0, "algo.entropy_coef", f"must be >= 0, got {self.entropy_coef}")


@dataclass
class TrainConfig:
    """``[train]``: RL steps of ``prompts_per_step`` prompts × ``rollout.n`` rollouts; AdamW with linear
    warm-up then constant learning rate; gradients clipped to ``grad_clip`` (global L2 norm);
    ``gradient_checkpointing``: recompute activations in the backward pass (less memory, more time)."""

    steps: int = 150
    prompts_per_step: int = 16
    micro_batch_size: int = 64
    lr: float = 1e-4
    warmup_steps: int = 10
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    grad_clip: float = 1.0
    bf16: bool = True
    gradient_checkpointing: bool = False

    def check(self) -> None:
        need(self.steps >= 0, "train.steps", f"must be >= 0, got {self.steps}")
        need(
            self.prompts_per_step >= 1,
            "train.prompts_per_step",
            f"must be >= 1, got {self.prompts_per_step}",
        )
        need(
            self.micro_batch_size >= 1,
            "train.micro_batch_size",
            f"must be >= 1, got {self.micro_batch_size}",
        )
        need(self.lr > 0, "train.lr", f"must be > 0, got {self.lr}")
        need(self.warmup_steps >= 0, "train.warmup_steps", f"must be >= 0, got {self.warmup_steps}")
        need(self.weight_decay >= 0, "train.weight_decay", f"must be >= 0, got {self.weight_decay}")
        need(0 <= self.adam_beta1 < 1, "train.adam_beta1", f"must be in [0, 1), got {self.adam_beta1}")
        need(0 <= self.adam_beta2 < 1, "train.adam_beta2", f"must be in [0, 1), got {self.adam_beta2}")
        need(self.grad_clip > 0, "train.grad_clip", f"must be > 0, got {self.grad_clip}")


@dataclass
class EvalConfig:
    """``[eval]``: held-out pass@1 from ``samples`` responses per prompt, before RL, every ``every`` steps
    (0: only before and after) and at the end."""

    every: int = 0
    samples: int = 4
    temperature: float = 1.0

    def check(self) -> None:
        need(self.every >= 0, "eval.every", f"must be >= 0 (0: before and after only), got {self.every}")
        need(self.samples >= 1, "eval.samples", f"must be >= 1, got {self.samples}")
        need(self.temperature >= 0, "eval.temperature", f"must be >= 0, got {self.temperature}")


@dataclass
class CheckpointConfig:
    """``[checkpoint]``: save every ``every`` steps (and at the end), keep the last ``keep``."""

    every: int = 50
    keep: int = 2

    def check(self) -> None:
        need(self.every >= 0, "checkpoint.every", f"must be >= 0 (0: only at the end), got {self.every}")
        need(self.keep >= 1, "checkpoint.keep", f"must be >= 1, got {self.keep}")


@dataclass
class LogConfig:
    """``[log]``: where metrics go besides ``metrics.jsonl`` (see :mod:`maxrl_rs.tracking`): TensorBoard
    events under ``RUN_DIR/tensorboard``, a W&B run in project ``wandb_project``; ``samples`` rollouts per
    step written to ``RUN_DIR/samples.jsonl`` (0: none); a progress bar."""

    tensorboard: bool = True
    wandb: bool = False
    wandb_project: str = "maxrl-rs"
    samples: int = 0
    progress: bool = True

    def check(self) -> None:
        need(self.samples >= 0, "log.samples", f"must be >= 0 (0: none), got {self.samples}")


@dataclass
class Config:
    """Everything ``maxrl train`` needs. ``out`` unset: ``runs/<task>-<date-time>``; ``device`` ``auto``:
    CUDA when available, else CPU; ``threads``: torch CPU threads during the run (unset: 1 on CPU, the faster
    choice measured on a shared 2-core machine (docs/benchmarks.md), else torch's default)."""

    seed: int = 0
    out: str | None = None
    device: str = "auto"
    threads: int | None = None
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    algo: AlgoConfig = field(default_factory=AlgoConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    log: LogConfig = field(default_factory=LogConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)

    def check(self) -> None:
        """The top-level keys; each section checks its own (:func:`validate` checks them all)."""
        need(
            self.device in ("auto", "cpu") or self.device.startswith("cuda"),
            "device",
            f"auto, cpu or cuda[:i], got {self.device!r}",
        )
        need(
            self.threads is None or self.threads >= 1,
            "threads",
            f"must be >= 1 (or none), got {self.threads}",
        )


#: Keys whose values are file or directory paths.
PATH_KEYS = ("out", "model.path", *DATA_FILE_KEYS, "task.dataset.reward_fn")


def absolute_path(value: Any, base: str | Path) -> Any:
    """``value`` as an absolute path (``~`` expanded, relative to ``base``); unset or empty values as they
    are. A reward function spec keeps its form: ``file.py:function`` gets an absolute file part, an importable
    ``package.module:function`` is not a path and stays as it is."""
    if not isinstance(value, str) or not value:
        return value
    file, sep, function = value.rpartition(":")
    if sep and file and "/" not in function and "\\" not in function:
        if not is_file_spec(file):
            return value  # package.module:function
        return f"{absolute_path(file, base)}:{function}"
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


#: Path keys that name inputs, which must exist (``out`` is made by the run).
INPUT_PATH_KEYS = tuple(k for k in PATH_KEYS if k != "out")


def _resolve_paths(
    data: dict[str, Any], base: str | Path, *, meant: str | Path | None = None, on_command_line: bool = False
) -> dict[str, Any]:
    """A copy of nested dict ``data`` with the values of :data:`PATH_KEYS` made absolute against ``base``.

    ``meant``: the directory the user may have had in mind instead (the current directory for a config
    file, the config file's for ``--set``); an input path that does not exist against ``base`` but does
    against ``meant`` is a ConfigError saying so (see :func:`_check_meant`)."""
    out = copy.deepcopy(data)
    for dotted in PATH_KEYS:
        *parents, leaf = dotted.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            value = absolute_path(node[leaf], base)
            if meant is not None and dotted in INPUT_PATH_KEYS and Path(meant) != Path(base):
                _check_meant(dotted, node[leaf], value, Path(base), Path(meant), on_command_line)
            node[leaf] = value
    return out


def _check_meant(key: str, raw: Any, value: str, base: Path, meant: Path, on_command_line: bool) -> None:
    """ConfigError when relative input path ``raw`` does not exist as ``value`` (read against ``base``) but
    does against ``meant``: the other rule for relative paths was meant. An importable reward module that
    cannot be imported while ``module.py`` lies in either directory gets the same treatment."""
    if not isinstance(raw, str) or not raw or os.path.isabs(os.path.expanduser(raw)):
        return
    function = ""
    if key == "task.dataset.reward_fn":
        module, sep, function = raw.rpartition(":")
        if not sep or not module:
            return  # not a spec: loading it says what it must look like
        if not is_file_spec(module):
            if importlib.util.find_spec(module.split(".")[0]) is not None:  # finds, imports nothing
                return
            file = module_file(module, [base, meant])
            if file is not None:
                raise ConfigError(
                    f"{key}: no module {module!r} can be imported, but {str(file)!r} exists; "
                    f"{MODULE_OR_FILE}: give {_give(key, f'{file}:{function}', base, on_command_line)}"
                )
            return
        raw, value, function = module, value.rpartition(":")[0], f":{function}"
    there = os.path.normpath(os.path.join(meant, os.path.expanduser(raw)))
    if os.path.exists(value) or not os.path.exists(there):
        return
    if on_command_line:
        rule = f"a path given with --set is relative to the current directory ({str(base)!r})"
    else:
        rule = f"a path in a config file is relative to that file's directory ({str(base)!r})"
    where = "the config file's directory" if on_command_line else "the current directory"
    raise ConfigError(
        f"{key}: {value!r} does not exist: {rule}; relative to {where} it is {there!r}, which exists: "
        f"give {_give(key, there + function, base, on_command_line)}"
    )


def _give(key: str, value: str, base: Path, on_command_line: bool) -> str:
    """How to write absolute path ``value`` (a reward spec's file part too) relative to ``base``."""
    rel = os.path.relpath(value, base)
    if on_command_line:
        return f"--set {key}={rel} (or the absolute path)"
    return f"{key} = {rel!r} in the config file (or the absolute path)"


# -- reading -------------------------------------------------------------------------------------------------


def load_config(path: str | Path | None = None, overrides: typing.Iterable[str] = ()) -> Config:
    """Defaults, then the file at ``path`` (``.toml`` or ``.json``), then ``key=value`` overrides."""
    cfg = Config()
    if path is not None:
        cfg = merge(cfg, read_file(path))
    config_dir = Path(path).absolute().parent if path is not None else None
    for item in overrides:
        cfg = apply_override(cfg, item, config_dir=config_dir)
    validate(cfg)
    return cfg


def read_file(path: str | Path) -> dict[str, Any]:
    """The nested dict of a ``.toml`` or ``.json`` config file, its paths made absolute against the file's
    directory (ConfigError for an input path that exists only relative to the current directory)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            return _resolve_paths(
                _toml_loads(p.read_text(encoding="utf-8")), p.absolute().parent, meant=Path.cwd()
            )
        if suffix == ".json":
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ConfigError(f"config file {str(p)!r}: the top level must be an object")
            if is_model_config(data):
                model_dir = p.absolute().parent
                raise ConfigError(
                    f"config file {str(p)!r} is the config.json of a Hugging Face model, not a maxrl "
                    f"config; to train or evaluate that model give model.path={model_dir} "
                    f"(--set model.path={model_dir})"
                )
            return _resolve_paths(data, p.absolute().parent, meant=Path.cwd())
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {str(p)!r} is not UTF-8 text (byte {e.start})") from None
    except (ValueError, TypeError) as e:  # tomllib.TOMLDecodeError and JSONDecodeError are ValueErrors
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"config file {str(p)!r} does not parse: {e}") from None
    raise ConfigError(f"config file {str(p)!r}: use a .toml or .json file")


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise ConfigError("TOML config files need Python >= 3.11 or the tomli package") from None
    return tomllib.loads(text)


def merge(cfg: Any, data: dict[str, Any], prefix: str = "") -> Any:
    """A copy of dataclass ``cfg`` with the values in nested dict ``data`` (unknown keys are errors)."""
    hints = typing.get_type_hints(type(cfg))
    optional = {f.name for f in dataclasses.fields(cfg) if f.metadata.get("optional")}
    changes = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in hints:
            raise ConfigError(_unknown_key(dotted, list(hints)))
        current = getattr(cfg, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{dotted} is a section; give a table of its keys ({', '.join(_keys(current))})"
                )
            changes[key] = merge(current, value, f"{dotted}.")
        else:
            changes[key] = coerce(value, hints[key], dotted, optional=key in optional)
    return dataclasses.replace(cfg, **changes)


def apply_override(cfg: Config, item: str, *, config_dir: str | Path | None = None) -> Config:
    """Apply one ``dotted.key=value`` override; the value is parsed as the key's type, a path made absolute
    against the current directory. ``config_dir``: the directory of the config file the override goes with;
    an input path that exists only relative to it is a ConfigError saying so."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value (e.g. train.steps=100)")
    key, raw = (s.strip() for s in item.split("=", 1))
    parts = key.split(".")
    node: Any = cfg
    for depth, part in enumerate(parts):
        hints = typing.get_type_hints(type(node))
        dotted = ".".join(parts[: depth + 1])
        if part not in hints:
            raise ConfigError(_unknown_key(dotted, list(hints)))
        node = getattr(node, part)
        if depth < len(parts) - 1 and not dataclasses.is_dataclass(node):
            raise ConfigError(f"{dotted} is a value, not a section, so {key!r} does not exist")
    if dataclasses.is_dataclass(node):
        raise ConfigError(f"{key} is a section; set one of its keys: {', '.join(_keys(node))}")
    nested: dict[str, Any] = {parts[-1]: _ParsedString(raw)}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    cfg = merge(cfg, nested)
    if key in PATH_KEYS:  # relative to where the command runs
        resolved = _resolve_paths(
            _nested(key, _get(cfg, key)), os.getcwd(), meant=config_dir, on_command_line=True
        )
        cfg = merge(cfg, resolved)
    return cfg


def _nested(dotted: str, value: Any) -> dict[str, Any]:
    """``{"a": {"b": value}}`` for ``"a.b"``."""
    out: Any = value
    for part in reversed(dotted.split(".")):
        out = {part: out}
    return out


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


class _ParsedString(str):
    """A command-line value: parsed according to the key's type rather than taken literally."""


def _unset(value: Any, *also: str) -> bool:
    """``value`` says "unset": None (JSON ``null``), or on the command line ``none``, ``null`` or ``also``."""
    return value is None or (isinstance(value, _ParsedString) and value.lower() in ("none", "null", *also))


def coerce(value: Any, tp: Any, key: str, *, optional: bool = False) -> Any:
    """``value`` as type ``tp`` (str, int, float, bool, or an optional of one); ConfigError naming ``key``.

    ``optional``: a ``str`` key whose unset value is ``""`` (:func:`maxrl_rs.options.optional_str`)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        if _unset(value, ""):
            return None
        (tp,) = (a for a in args if a is not type(None))
    if optional and tp is str and _unset(value):
        return ""
    if typing.get_origin(tp) is list:  # list[str]: a TOML/JSON list, or comma-separated on the command line
        if isinstance(value, _ParsedString):
            value = [v.strip() for v in str(value).split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    if isinstance(value, _ParsedString):
        return _parse(str(value), tp, key)
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, str):
        return value
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _parse(raw: str, tp: Any, key: str) -> Any:
    try:
        if tp is bool:
            low = raw.lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if tp is int:
            return int(raw)
        if tp is float:
            return float(raw)
    except ValueError:
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {raw!r}") from None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw


def _type_name(tp: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))


def _keys(section: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(section)]


def _unknown_key(dotted: str, known: list[str]) -> str:
    hint = did_you_mean(dotted.rsplit(".", 1)[-1], known)
    where = dotted.rsplit(".", 1)[0] if "." in dotted else "the top level"
    return f"unknown key {dotted!r}{hint}; keys of {where}: {', '.join(known)}"


# -- checking ------------------------------------------------------------------------------------------------


def validate(cfg: Config) -> None:
    """Every section's own checks (its ``check`` method, next to its fields), then the constraints that
    join sections. Raises ConfigError naming the first bad key."""
    sections = (cfg.task, cfg, cfg.sft, cfg.rollout, cfg.distributed, cfg.algo, cfg.train, cfg.eval)
    for section in (*sections, cfg.checkpoint, cfg.log, cfg.model):
        section.check()
    r, a = cfg.rollout, cfg.algo
    if r.backend == "vllm":
        for key, t in (("rollout.temperature", r.temperature), ("eval.temperature", cfg.eval.temperature)):
            check_temperature(t, key)
    need(
        a.order is None or 1 <= a.order <= r.n,
        "algo.order",
        f"must be in 1..rollout.n={r.n} (or none), got {a.order}",
    )
    need(
        r.n > 1 or a.estimator == "reinforce" or (a.estimator == "maxrl" and not a.drop_all_fail),
        "rollout.n",
        f"1 with algo.estimator = {a.estimator!r}"
        f"{' (algo.drop_all_fail = true)' if a.estimator == 'maxrl' else ''} makes every advantage 0: "
        "with one rollout per prompt the group baseline is the rollout's own reward, so no step would learn. "
        "Use rollout.n >= 2, or with one rollout algo.estimator = 'reinforce' (A = r) or 'maxrl' with "
        "algo.drop_all_fail = false (failures -1, successes 0)",
    )
    need(
        a.minibatches <= cfg.train.prompts_per_step,
        "algo.minibatches",
        "must be <= train.prompts_per_step (minibatches hold whole groups)",
    )
    from maxrl_rs.lora import check_options as check_lora

    check_lora(cfg.model.lora, strategy=cfg.distributed.strategy)
    need(
        cfg.model.lora.r == 0 or r.backend == "hf",
        "model.lora",
        f"LoRA training samples with rollout.backend = 'hf' only, got {r.backend!r}",
    )


# -- writing -------------------------------------------------------------------------------------------------


def to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(data: dict[str, Any]) -> Config:
    cfg = merge(Config(), data)
    validate(cfg)
    return cfg


# -- resuming ------------------------------------------------------------------------------------------------

#: Keys a resumed run may change (a trailing dot: the whole section): how long it trains, how it logs,
#: checkpoints and evaluates, and where it runs. Every other key shapes the model, the data or the update,
#: and changing it would continue one run as another. ``out`` is not among them: a resumed run continues in
#: its own directory, where its checkpoints, metrics and lock are (:func:`maxrl_rs.rundir.check_resume_out`).
RESUMABLE_KEYS = (
    "device",
    "threads",
    "train.steps",
    "train.micro_batch_size",
    "rollout.backend",
    "rollout.batch_size",
    "rollout.vllm.",
    "eval.",
    "checkpoint.",
    "log.",
    "distributed.",
)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_resume_changes(saved: Config, new: Config) -> dict[str, tuple[Any, Any]]:
    """The keys ``new`` changes from a run's ``saved`` config, as ``{key: (old, new)}``.

    Raises:
        ConfigError: naming every changed key outside :data:`RESUMABLE_KEYS` with its old and new value.
    """
    old, now = flatten(to_dict(saved)), flatten(to_dict(new))
    changed = {
        k: (old.get(k), now.get(k)) for k in sorted(old.keys() | now.keys()) if old.get(k) != now.get(k)
    }
    refused = [
        k for k in changed if not any(k == r or (r.endswith(".") and k.startswith(r)) for r in RESUMABLE_KEYS)
    ]
    if refused:
        what = "; ".join(f"{k}: saved {changed[k][0]!r}, given {changed[k][1]!r}" for k in refused)
        raise ConfigError(
            f"resume: {what}; a resumed run may change only "
            f"{', '.join(k + '*' if k.endswith('.') else k for k in RESUMABLE_KEYS)}; "
            "start a new run with --out instead"
        )
    return changed
