"""GRPO training in TRL with MaxRL advantages and Rust-graded rewards.

    pip install "maxrl-rs[trl]"
    python examples/trl_grpo_maxrl.py --dataset gsm8k --model Qwen/Qwen2.5-0.5B-Instruct
    accelerate launch --num_processes 4 examples/trl_grpo_maxrl.py --dataset math   # several GPUs

``MaxRLGRPOTrainer`` is TRL's GRPOTrainer with one change: the advantage of each completion is MaxRL's
(Tajwar et al. 2026): with K successes among the N = num_generations completions of a prompt, a success
gets N/K - 1 and a failure -1; prompts with no or only successes give no gradient. The rewards come from
maxrl-rs verifiers, graded in one Rust call per batch.
"""

from __future__ import annotations

import argparse

from datasets import load_dataset
from trl import GRPOConfig

from maxrl_rs.integrations.trl import MaxRLGRPOTrainer, gsm8k_reward, make_reward_func

SYSTEM = "Solve the problem step by step. Put the final answer in \\boxed{}."


def gsm8k():
    # openai/gsm8k: "question", and "answer": a worked solution ending in "#### 72" (gsm8k_reward reads it).
    ds = load_dataset("openai/gsm8k", "main", split="train")
    ds = ds.map(
        lambda x: {
            "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": x["question"]}]
        }
    )
    return ds, gsm8k_reward


def math():
    # MATH: "problem", and "solution" = worked solution with the answer in \boxed{}; the verifier reads it.
    ds = load_dataset("DigitalLearningGmbH/MATH-lighteval", split="train")
    ds = ds.map(
        lambda x: {
            "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": x["problem"]}]
        }
    )
    return ds, make_reward_func("math", reference_column="solution", name="math_reward")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=["gsm8k", "math"], default="gsm8k")
    parser.add_argument("--model", default="Qwen/Qwen2.5-0.5B-Instruct")
    parser.add_argument("--num-generations", type=int, default=8, help="N, completions per prompt")
    parser.add_argument("--order", type=int, default=None, help="MaxRL truncation order T (default N)")
    parser.add_argument("--max-steps", type=int, default=200)
    parser.add_argument("--output-dir", default="runs/trl-grpo-maxrl")
    parser.add_argument("--use-vllm", action="store_true", help="generate with vLLM (colocate mode)")
    args = parser.parse_args()

    train, reward = {"gsm8k": gsm8k, "math": math}[args.dataset]()
    config = GRPOConfig(
        output_dir=args.output_dir,
        num_generations=args.num_generations,
        per_device_train_batch_size=args.num_generations * 2,  # 2 prompts per device and step
        max_completion_length=512,
        learning_rate=1e-6,
        max_steps=args.max_steps,
        logging_steps=1,
        bf16=True,
        use_vllm=args.use_vllm,
        report_to="none",
    )
    trainer = MaxRLGRPOTrainer(
        model=args.model,
        reward_funcs=reward,
        args=config,
        train_dataset=train,
        order=args.order,
    )
    trainer.train()
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()
