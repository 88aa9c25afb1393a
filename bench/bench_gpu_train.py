"""Training-step throughput on one GPU: rollout and update tokens/s, peak memory, grading+advantage share.

    python bench/bench_gpu_train.py                 # ~113M-param random-init decoder, bf16 update, HF
    python bench/bench_gpu_train.py --backend vllm  # the same with the vLLM backend (needs maxrl-rs[vllm])
    python bench/bench_gpu_train.py --tiny          # tiny model on CPU: checks the script itself (seconds)
    python bench/bench_gpu_train.py --lora 8 [--gradient-checkpointing]  # LoRA on every linear layer

The model is the built-in architecture (``model.arch``) at hidden 768, 12 layers, 12 heads (~113M
parameters). Every step is a real :class:`maxrl_rs.trainer.Trainer` step on the maze task (prompts of a 9×9
maze, ~92 tokens): sample ``--n`` responses for each of ``--prompts`` prompts, grade them with the Rust
verifier, compute MaxRL advantages, one AdamW update with bf16 autocast (``train.bf16``). A random-init
model solves nothing and the trainer skips zero-advantage rollouts, so the advantages are replaced by ±1
after they are computed (timed as usual): every rollout then goes through the forward and backward pass, as
in a run where most groups are mixed. Responses rarely hit EOS, so most run to ``--max-new-tokens``.

Reported (means over the timed steps, after ``--warmup`` untimed ones):

- ``rollout_tokens_per_s``: generated response tokens / rollout time;
- ``update_tokens_per_s``: prompt + response tokens through forward and backward / update time;
- ``grade_adv_share``: (grading + advantages) time / step time;
- ``peak_memory_gb``: ``torch.cuda.max_memory_allocated`` (CPU: the process's peak RSS).

The JSON line at the end (or ``--out FILE``) holds these plus the per-step times.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from typing import Any

import numpy as np

from script_support import non_negative_int, positive_int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny model, small batch, CPU: a smoke run in seconds")
    p.add_argument("--backend", default="hf", choices=["hf", "vllm"], help="rollout backend")
    p.add_argument("--device", default=None, help="default: cuda when available (cpu with --tiny)")
    p.add_argument("--steps", type=positive_int, default=None, help="timed steps (default 5; 2 with --tiny)")
    p.add_argument("--warmup", type=non_negative_int, default=1, help="untimed steps first")
    p.add_argument(
        "--prompts", type=positive_int, default=None, help="prompts per step (default 32; 4 with --tiny)"
    )
    p.add_argument(
        "--n", type=positive_int, default=None, help="rollouts per prompt (default 8; 4 with --tiny)"
    )
    p.add_argument("--max-new-tokens", type=positive_int, default=None, help="default 256 (16 with --tiny)")
    p.add_argument("--micro-batch-size", type=positive_int, default=None, help="default 32 (8 with --tiny)")
    p.add_argument(
        "--hidden", type=positive_int, default=None, help="hidden size (default 768; 32 with --tiny)"
    )
    p.add_argument(
        "--layers", type=positive_int, default=None, help="decoder layers (default 12; 2 with --tiny)"
    )
    p.add_argument(
        "--heads", type=positive_int, default=None, help="attention heads (default 12; 2 with --tiny)"
    )
    p.add_argument("--no-bf16", action="store_true", help="float32 update instead of bf16 autocast")
    p.add_argument(
        "--lora", type=non_negative_int, default=0, help="train a LoRA adapter of this rank (0: all weights)"
    )
    p.add_argument("--gradient-checkpointing", action="store_true", help="train.gradient_checkpointing")
    p.add_argument("--seed", type=int, default=0, help="seed of model init, data and sampling")
    p.add_argument("--out", default=None, help="also write the JSON result here")
    args = p.parse_args(argv)
    small = {"steps": 2, "prompts": 4, "n": 4, "max_new_tokens": 16, "micro_batch_size": 8}
    large = {"steps": 5, "prompts": 32, "n": 8, "max_new_tokens": 256, "micro_batch_size": 32}
    shape_small = {"hidden": 32, "layers": 2, "heads": 2}
    shape_large = {"hidden": 768, "layers": 12, "heads": 12}
    for k, v in {**(small if args.tiny else large), **(shape_small if args.tiny else shape_large)}.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args


def build(args: argparse.Namespace) -> tuple[Any, Any]:
    """(trainer, config) for the benchmark run."""
    import torch

    from maxrl_rs import lora
    from maxrl_rs.config import load_config
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.rollout.base import backend_class
    from maxrl_rs.run import make_task, seed_everything
    from maxrl_rs.trainer import Trainer

    device = args.device or ("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    cfg = load_config(
        overrides=[
            f"seed={args.seed}",
            f"device={device}",
            "task.name=maze",
            f"task.maze.size={5 if args.tiny else 9}",
            f"rollout.backend={args.backend}",
            f"rollout.n={args.n}",
            f"rollout.max_new_tokens={args.max_new_tokens}",
            f"rollout.batch_size={args.prompts}",
            f"train.prompts_per_step={args.prompts}",
            f"train.micro_batch_size={args.micro_batch_size}",
            f"train.bf16={'false' if args.no_bf16 else 'true'}",
            "train.warmup_steps=0",
            f"model.hidden_size={args.hidden}",
            f"model.num_layers={args.layers}",
            f"model.num_heads={args.heads}",
            f"model.intermediate_size={4 * args.hidden}",
            f"model.lora.r={args.lora}",
            *(["model.lora.target_modules=all-linear"] if args.lora else []),  # refused with r = 0
            f"train.gradient_checkpointing={'true' if args.gradient_checkpointing else 'false'}",
        ]
    )
    seed_everything(cfg.seed)
    task = make_task(cfg)
    tokenizer = task.build_tokenizer()
    m = cfg.model
    spec = TinyModelSpec(
        m.arch, m.hidden_size, m.num_layers, m.num_heads, m.intermediate_size, max_positions=1024
    )
    model = tiny_model(spec, tokenizer)
    if args.lora:
        model = lora.apply_lora(model, cfg.model.lora)
    if args.gradient_checkpointing:
        lora.enable_gradient_checkpointing(model)
    model.to(device)
    backend = backend_class(cfg.rollout.backend).from_config(model, tokenizer, cfg.rollout)

    def every_rollout_trains(batch: Any) -> None:
        rng = np.random.default_rng(batch.step)
        batch.advantages[:] = np.where(rng.random(len(batch.advantages)) < 0.5, -1.0, 1.0)
        batch.mask[:] = True

    trainer = Trainer(cfg, model, tokenizer, task, backend, hooks=[every_rollout_trains])
    return trainer, cfg


def peak_memory_gb(device: Any) -> tuple[str, float]:
    import torch

    if device.type == "cuda":
        return "cuda_max_allocated", torch.cuda.max_memory_allocated(device) / 2**30
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    scale = 2**30 if sys.platform == "darwin" else 2**20
    return "cpu_peak_rss", rss / scale


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from maxrl_rs.models import num_parameters

    trainer, cfg = build(args)
    device = trainer.device
    rows = []
    for i in range(args.warmup + args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        batch, m = trainer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i < args.warmup:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            continue
        r = batch.rollouts
        response_tokens = float(r.response_mask.sum())
        update_tokens = float(r.prompt_mask.sum()) + response_tokens
        rows.append(
            {
                "time_step": m["time_step"],
                "time_rollout": m["time_rollout"],
                "time_grade_adv": m["time_grade"],
                "time_update": m["time_update"],
                "response_tokens": response_tokens,
                "update_tokens": update_tokens,
                "response_len": m["response_len"],
            }
        )
    trainer.backend.close()
    mem_kind, mem = peak_memory_gb(device)

    def total(key: str) -> float:
        return float(sum(row[key] for row in rows))

    return {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "backend": args.backend,
        "parameters": num_parameters(trainer.model),
        "trainable_parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "lora": args.lora,
        "gradient_checkpointing": args.gradient_checkpointing,
        "bf16": bool(cfg.train.bf16 and device.type == "cuda"),
        "prompts": args.prompts,
        "n": args.n,
        "max_new_tokens": args.max_new_tokens,
        "timed_steps": len(rows),
        "rollout_tokens_per_s": total("response_tokens") / max(total("time_rollout"), 1e-9),
        "update_tokens_per_s": total("update_tokens") / max(total("time_update"), 1e-9),
        "grade_adv_share": total("time_grade_adv") / max(total("time_step"), 1e-9),
        "step_seconds": total("time_step") / max(len(rows), 1),
        "peak_memory_gb": mem,
        "peak_memory_kind": mem_kind,
        "steps": rows,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from maxrl_rs.errors import InvalidInputError

    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        result = run(args)
    except InvalidInputError as e:  # settings the trainer refuses (e.g. --hidden not a multiple of --heads)
        sys.exit(f"error: {e}")
    result["wall_seconds"] = time.perf_counter() - t0
    print(
        f"{result['device']} | {result['backend']} | {result['parameters']:,} parameters "
        f"({result['trainable_parameters']:,} trained) | "
        f"{args.prompts}x{args.n} rollouts, <= {args.max_new_tokens} new tokens\n"
        f"  rollout  {result['rollout_tokens_per_s']:>12,.0f} tokens/s\n"
        f"  update   {result['update_tokens_per_s']:>12,.0f} tokens/s\n"
        f"  grading + advantages: {100 * result['grade_adv_share']:.2f}% of the step "
        f"({result['step_seconds']:.2f} s/step)\n"
        f"  peak memory ({result['peak_memory_kind']}): {result['peak_memory_gb']:.2f} GiB"
    )
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(line + "\n")
    return result


if __name__ == "__main__":
    main()
