"""Train a tiny transformer to solve mazes with MaxRL, from the Python API.

The same run as ``maxrl train`` with no arguments, spelled out: a maze task, its tiny model, an SFT
warm-start on BFS shortest paths, then RL with MaxRL advantages, with the held-out pass@1 printed before
and after. Runs on CPU in a few minutes.

    python examples/train_maze.py [--steps 150] [--estimator maxrl]
"""

from __future__ import annotations

import argparse

import torch

from maxrl_rs.config import load_config
from maxrl_rs.heldout import heldout_pass_at_k
from maxrl_rs.models import TinyModelSpec, num_parameters, tiny_model
from maxrl_rs.rollout.hf import HFBackend
from maxrl_rs.sft import sft_warm_start
from maxrl_rs.tasks import MazeOptions, MazeTask
from maxrl_rs.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=150, help="RL steps")
    parser.add_argument("--estimator", default="maxrl", help="maxrl, grpo, rloo, dr_grpo or reinforce")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)  # a 0.26M-parameter model gains nothing from more
    cfg = load_config(None, [f"seed={args.seed}", f"algo.estimator={args.estimator}"])
    torch.manual_seed(args.seed)

    task = MazeTask(MazeOptions(size=7), seed=args.seed, eval_seed=1234, eval_size=128)
    tokenizer = task.build_tokenizer()
    model = tiny_model(TinyModelSpec(), tokenizer)
    print(f"model: {num_parameters(model):,} parameters")

    sft = sft_warm_start(model, tokenizer, task, steps=300, batch_size=64, lr=2e-3, progress=True)
    print(f"SFT: final cross-entropy {sft.final_loss:.3f} nats/token in {sft.seconds:.0f}s")

    backend = HFBackend(model, tokenizer)
    held_out = task.eval_examples()

    def pass_at_1() -> float:
        scores = heldout_pass_at_k(
            backend, task, tokenizer, held_out, samples=4, max_new_tokens=task.max_new_tokens
        )
        return scores["eval/pass@1"]

    start = pass_at_1()
    trainer = Trainer(cfg, model, tokenizer, task, backend)
    for step in range(1, args.steps + 1):
        _, metrics = trainer.step()
        if step % 25 == 0:
            print(
                f"step {step:4d}  reward {metrics['reward']:.3f}  solved {metrics['solved_frac']:.2f}  "
                f"all-fail {metrics['frac_all_fail']:.2f}  loss {metrics['loss']:+.4f}"
            )
    print(f"held-out pass@1: {start:.3f} after SFT -> {pass_at_1():.3f} after {args.steps} RL steps")


if __name__ == "__main__":
    main()
