"""Adapters that let TRL, verl and OpenRLHF users grade with maxrl-rs and train with MaxRL advantages.

Each submodule speaks one framework's conventions and imports that framework only when a feature needs it:

- :mod:`maxrl_rs.integrations.trl`: reward functions with TRL's ``fn(prompts, completions, **kwargs)``
  signature (``math_reward``, ``gsm8k_reward``, :func:`~maxrl_rs.integrations.trl.make_reward_func`) and
  ``MaxRLGRPOTrainer``, a ``GRPOTrainer`` whose advantages are MaxRL's.
- :mod:`maxrl_rs.integrations.verl`: ``compute_score`` / ``compute_score_batch`` for verl's custom reward
  function hooks, and a ``maxrl`` advantage estimator registered in verl's estimator registry.
- :mod:`maxrl_rs.integrations.openrlhf`: ``reward_func(queries, prompts, labels)`` for OpenRLHF's
  ``--reward.remote_url /path/to/file.py`` hook.

See docs/integrations.md for copy-paste recipes.
"""

__all__ = ["openrlhf", "trl", "verl"]
