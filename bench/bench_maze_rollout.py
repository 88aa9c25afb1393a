"""Maze rollouts on the task's tiny model: transformers ``generate`` vs the lean loop of ``fast_sample``.

    python bench/bench_maze_rollout.py [--model DIR] [--repeats 3]

Both go through ``HFBackend.generate`` (``fast=False`` / ``fast=True``), one torch thread, the same prompts,
temperature 1; response tokens per second (EOS included), median of the repeats. ``--model`` takes a saved
maze model (e.g. an SFT warm-start, ``runs/maze-scaling/sft/sft``); by default a randomly initialised one of
the maze task's default shape (its responses are about as long as a weak SFT model's).
"""

from __future__ import annotations

import argparse
import statistics
import time

SHAPES = (  # (label, prompts per call, rollouts per prompt)
    ("train step, 8 prompts x N=4", 8, 4),
    ("train step, 8 prompts x N=16", 8, 16),
    ("train step, 8 prompts x N=64", 8, 64),
    ("eval, 4 prompts x n=256", 4, 256),
)


def main() -> None:
    import torch

    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.rollout import SamplingParams
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained
    from maxrl_rs.tasks import MazeOptions, MazeTask

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="a saved maze model directory (default: random init)")
    p.add_argument("--size", type=int, default=7)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(1)
    task = MazeTask(MazeOptions(a.size), seed=0, eval_seed=1, eval_size=4)
    if a.model:
        model, tok = load_pretrained(a.model)
    else:
        tok = task.build_tokenizer()
        torch.manual_seed(0)
        model = tiny_model(TinyModelSpec(), tok)
    print("| shape | generate tok/s | fast tok/s | speed-up | mean response tokens |\n|---|---|---|---|---|")
    for label, prompts, n in SHAPES:
        ids = [task.prompt_ids(task.train_example(i), tok) for i in range(prompts)]
        sampling = SamplingParams(n=n, temperature=1.0, max_new_tokens=task.max_new_tokens)
        rates, lengths = {}, []
        for fast in (False, True):
            backend = HFBackend(model, tok, batch_size=prompts, fast=fast)
            backend.generate(ids[:1], [0], sampling)  # warm-up
            runs = []
            for r in range(a.repeats):
                torch.manual_seed(r)
                t0 = time.perf_counter()
                out = backend.generate(ids, list(range(prompts)), sampling)
                seconds = time.perf_counter() - t0
                tokens = int(out.response_mask.sum())
                runs.append(tokens / seconds)
                lengths.append(tokens / len(out))
            rates[fast] = statistics.median(runs)
        print(
            f"| {label} | {rates[False]:,.0f} | {rates[True]:,.0f} | {rates[True] / rates[False]:.1f}x "
            f"| {statistics.mean(lengths):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
