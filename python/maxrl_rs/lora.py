"""LoRA adapters through ``peft`` (``[model.lora]``) and gradient checkpointing of the policy.

With ``model.lora.r > 0`` RL trains only a low-rank adapter on the policy RL starts from (after any SFT
warm-start, which trains all weights). In a run:

- checkpoints hold the adapter alone (``model/adapter_model.safetensors`` and ``adapter_config.json``); a
  resumed run rebuilds the same base model (``model.path``, the cached warm-start, or the seeded tiny model)
  and loads the adapter onto it, so resuming is exact;
- the final model is also written merged, ``RUN_DIR/merged/``: a plain transformers model directory that
  ``AutoModelForCausalLM.from_pretrained`` loads without peft;
- ``adapter_config.json`` names the base model's directory (``model.path``, ``RUN_DIR/sft``, or
  ``RUN_DIR/base`` written for a tiny model built in code), so a checkpoint loads on its own
  (:func:`load_merged`, used by ``maxrl eval``);
- the KL reference (``algo.kl_coef > 0``) is the same model with the adapter switched off
  (:class:`AdapterDisabled`), not a second copy.

LoRA dropout is refused above 0: RL recomputes the log-probabilities of the sampled tokens in training mode,
and a random mask there would make them disagree with the policy that sampled (and with each other across
PPO epochs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError, did_you_mean
from maxrl_rs.options import LoraOptions as LoraOptions  # re-exported

MERGED_DIR = "merged"
BASE_DIR = "base"


def enabled(options: LoraOptions) -> bool:
    return options.r > 0


def check_options(options: LoraOptions, *, strategy: str = "none") -> None:
    """ConfigError naming the ``model.lora`` key for values peft would reject or RL cannot use (see
    :meth:`LoraOptions.check`), or that ``strategy`` cannot train."""
    options.check()
    if enabled(options) and strategy == "fsdp":
        raise ConfigError("model.lora: not supported with distributed.strategy = 'fsdp'; use 'ddp'")


def adaptable_modules(model: Any) -> list[str]:
    """The distinct leaf names (``q_proj``, ``c_attn``...) of ``model``'s layers that a LoRA adapter can
    wrap: Linear, Conv1d/2d, Embedding and transformers' Conv1D, sorted."""
    import torch
    from transformers.pytorch_utils import Conv1D

    kinds = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Embedding, Conv1D)
    leaves = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, kinds)}
    return sorted(leaves - {""})


def check_target_modules(model: Any, options: LoraOptions) -> None:
    """ConfigError naming each ``model.lora.target_modules`` entry that matches no module of ``model``.

    peft matches an entry to a module whose dotted name is the entry or ends in ``.ENTRY``, and refuses a list
    that matches nothing at all, but not a list of which only some match: a misspelled entry would leave
    that layer untrained without a word.
    """
    targets = options.target_modules
    if not enabled(options) or targets in ([], ["all-linear"]):
        return
    names = [name for name, _ in model.named_modules() if name]
    missing = [t for t in targets if not any(n == t or n.endswith(f".{t}") for n in names)]
    if not missing:
        return
    available = adaptable_modules(model)
    entries = "; ".join(f"{t!r} matches no module of the model{did_you_mean(t, available)}" for t in missing)
    raise ConfigError(
        f"model.lora.target_modules: {entries}; the model's layers an adapter can wrap: "
        f"{', '.join(available)} (or 'all-linear'; unset for peft's default of the architecture)"
    )


def apply_lora(model: Any, options: LoraOptions) -> Any:
    """``model`` wrapped in a fresh peft LoRA adapter (A random, B zero: the same outputs as ``model``).

    Draws from torch's RNG (A's initialisation). Raises ConfigError when no module matches
    ``target_modules``.
    """
    from peft import LoraConfig, get_peft_model

    targets: Any = options.target_modules or None
    if targets == ["all-linear"]:
        targets = "all-linear"
    config = LoraConfig(
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=0.0,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as e:
        raise ConfigError(f"model.lora.target_modules: {e}") from None


def record_base(
    model: Any, tokenizer: Any, base_dir: str | Path | None, run_dir: Path, *, write: bool
) -> None:
    """Name the base model's directory in the adapter config that checkpoints save.

    ``base_dir``: where the base already is (``model.path`` or the SFT cache); None: the base exists only
    in memory, so it is saved to ``RUN_DIR/base`` (by the process with ``write``).
    """
    if base_dir is None:
        base_dir = run_dir / BASE_DIR
        if write and not (Path(base_dir) / "config.json").is_file():
            model.get_base_model().save_pretrained(base_dir, safe_serialization=True)
            tokenizer.save_pretrained(base_dir)
    for config in model.peft_config.values():
        config.base_model_name_or_path = str(Path(base_dir).resolve())


def is_adapter_dir(model_dir: str | Path) -> bool:
    return (Path(model_dir) / "adapter_config.json").is_file()


def load_merged(adapter_dir: str | Path) -> Any:
    """A checkpoint's adapter merged into the base it names: a plain float32 transformers model."""
    import json

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = json.loads((Path(adapter_dir) / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base or not Path(base).is_dir():
        raise ConfigError(
            f"{str(adapter_dir)!r} holds a LoRA adapter whose base model directory {base!r} does not exist"
        )
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    return PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()


def load_adapter(model: Any, adapter_dir: str | Path) -> Any:
    """``model`` (the base) with the trainable adapter saved in ``adapter_dir`` (a checkpoint's model/)."""
    from peft import PeftModel

    if not (Path(adapter_dir) / "adapter_config.json").is_file():
        raise ConfigError(
            f"resume: {str(adapter_dir)!r} holds no LoRA adapter (adapter_config.json); the checkpoint was "
            "written without model.lora, so resume it without model.lora too"
        )
    return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)


def check_checkpoint(model_dir: str | Path, options: LoraOptions) -> None:
    """ConfigError when a checkpoint's ``model/`` and ``model.lora`` disagree (an adapter or full weights)."""
    if (Path(model_dir) / "adapter_config.json").is_file() and not enabled(options):
        raise ConfigError(
            f"resume: {str(model_dir)!r} holds a LoRA adapter; resume with the run's model.lora settings "
            "(model.lora.r > 0)"
        )


class AdapterDisabled:
    """The base model under a peft model: calls run with the adapter switched off (the KL reference).

    Shares every weight with the policy; holds no parameters of its own to train.
    """

    def __init__(self, peft_model: Any) -> None:
        self.peft_model = peft_model

    @property
    def training(self) -> bool:
        return self.peft_model.training

    def train(self, mode: bool = True) -> AdapterDisabled:
        self.peft_model.train(mode)
        return self

    def eval(self) -> AdapterDisabled:
        return self.train(False)

    def parameters(self) -> Any:
        return self.peft_model.parameters()

    def modules(self) -> Any:
        return self.peft_model.modules()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.peft_model.disable_adapter():
            return self.peft_model(*args, **kwargs)


def save_merged(model: Any, tokenizer: Any, out_dir: str | Path) -> Path:
    """Write the adapter merged into the base weights as a plain transformers model directory.

    Merges into a copy, so ``model`` keeps training (or being saved) as an adapter model.
    """
    import copy

    merged = copy.deepcopy(model).merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def enable_gradient_checkpointing(model: Any) -> None:
    """Recompute activations in the backward pass (less memory, one more forward's time).

    Non-reentrant checkpointing; with a peft model the input embeddings are also made to require grad
    (``enable_input_require_grads``), since the frozen embedding's output would otherwise cut the
    graph for reentrant checkpointing.
    """
    kwargs = {"use_reentrant": False}
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if hasattr(base, "activation_checkpointing_enable"):  # transformers >= 5.2 names it so
        base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    if hasattr(model, "peft_config"):
        model.enable_input_require_grads()
