"""Maze rollouts on the task's tiny model: transformers ``generate`` vs the lean loop of ``fast_sample``.

    python bench/bench_maze_rollout.py [--model DIR] [--repeats 3]

Both go through ``HFBackend.generate`` (``fast=False`` / ``fast=True``), one torch thread, the same prompts,
temperature 1; response tokens per second (EOS included), median of the repeats. ``--model`` takes a saved
maze model: an SFT warm-start, ``RUN/sft`` of any maze run of ``maxrl train``, or
``runs/maze-scaling/sft/sft`` of ``python -m maxrl_rs.experiments.maze_scaling``. By default a randomly
initialised one of the maze task's default shape (its responses are about as long as a weak SFT model's).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from script_support import positive_int

SHAPES = (  # (label, prompts per call, rollouts per prompt)
    ("train step, 8 prompts x N=4", 8, 4),
    ("train step, 8 prompts x N=16", 8, 16),
    ("train step, 8 prompts x N=64", 8, 64),
    ("eval, 4 prompts x n=256", 4, 256),
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        default=None,
        help="a saved maze model directory: a maze run's SFT start RUN/sft (any `maxrl train` run) or "
        "RUN/checkpoints/step-N/model (default: a randomly initialised model)",
    )
    p.add_argument("--size", type=positive_int, default=7, help="maze grid side, odd and >= 3 (default 7)")
    p.add_argument(
        "--repeats", type=positive_int, default=3, help="timed calls per shape, median shown (default 3)"
    )
    a = p.parse_args()
    if a.size < 3 or a.size % 2 == 0:
        p.error(f"--size must be odd and >= 3, got {a.size}")
    if a.model and not Path(a.model).is_dir():
        p.error(
            f"--model {a.model!r} does not exist; make a maze model with `maxrl train` (its SFT start is "
            "RUN/sft) or `python -m maxrl_rs.experiments.maze_scaling` (runs/maze-scaling/sft/sft)"
        )

    import torch

    from maxrl_rs.errors import InvalidInputError
    from maxrl_rs.models import TinyModelSpec, tiny_model
    from maxrl_rs.rollout import SamplingParams
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained
    from maxrl_rs.tasks import MazeOptions, MazeTask
    from maxrl_rs.tasks.encoding import check_tokenizer, examples_to_check

    torch.set_num_threads(1)
    try:
        task = MazeTask(MazeOptions(a.size), seed=0, eval_seed=1, eval_size=4)
        if a.model:
            model, tok = load_pretrained(a.model)
            check_tokenizer(task, tok, examples_to_check(task), model=a.model, key="--model")
        else:
            tok = task.build_tokenizer()
            torch.manual_seed(0)
            model = tiny_model(TinyModelSpec(), tok)
    except InvalidInputError as e:  # a model that is not a maze model
        p.error(str(e))
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
