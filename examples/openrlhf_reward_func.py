"""OpenRLHF reward function file, for ``--reward.remote_url`` (``--remote_rm_url`` in older releases).

    pip install maxrl-rs
    MAXRL_VERIFIER=math python3 -m openrlhf.cli.train_ppo_ray \\
        --reward.remote_url examples/openrlhf_reward_func.py --data.label_key answer \\
        --rollout.n_samples_per_prompt 8 --algo.advantage.estimator group_norm ...

OpenRLHF imports this file and calls ``reward_func(queries, prompts, labels)``; the batch is graded in one
Rust call. Choose the verifier with ``MAXRL_VERIFIER`` (math, gsm8k, exact, choice, maze, countdown; default
math) and its options with ``MAXRL_VERIFIER_OPTIONS`` (a JSON object, e.g. '{"time_budget_ms": 50}'); in a
multi-node Ray job, set both in ``--runtime-env-json '{"env_vars": {...}}'``.
"""

from maxrl_rs.integrations.openrlhf import reward_func

__all__ = ["reward_func"]
