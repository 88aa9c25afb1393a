"""maxrl-rs: Maximum Likelihood Reinforcement Learning for verifiable rewards.

Rust does the batch work (grading, grouping, advantages, pass@k) with the GIL released; Python holds the
torch trainer, rollouts, tasks and CLI. See docs/estimators.md for the formulas and Tajwar et al. 2026
(arXiv 2602.02710) for the method.
"""

from maxrl_rs._core import __version__, get_num_threads, set_num_threads
from maxrl_rs.advantages import ESTIMATORS, GroupStats, advantages, group_stats
from maxrl_rs.errors import ConfigError, FileError, InvalidInputError
from maxrl_rs.grading import STATUS_NAMES, Grader, Grades, grade
from maxrl_rs.passk import PassAtKCurve, maxrl_objective, pass_at_k, pass_at_k_curve, population_weight

__all__ = [
    "ESTIMATORS",
    "STATUS_NAMES",
    "ConfigError",
    "FileError",
    "Grader",
    "Grades",
    "GroupStats",
    "InvalidInputError",
    "PassAtKCurve",
    "__version__",
    "advantages",
    "get_num_threads",
    "grade",
    "group_stats",
    "maxrl_objective",
    "pass_at_k",
    "pass_at_k_curve",
    "population_weight",
    "set_num_threads",
]
