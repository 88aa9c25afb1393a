"""The experiments' config dataclasses refuse bad settings with a ConfigError naming the field and value."""

import pytest

from maxrl_rs import ConfigError
from maxrl_rs.experiments.maze import MazeExperimentConfig
from maxrl_rs.experiments.maze_scaling import ScalingConfig
from maxrl_rs.experiments.ml_limit import MLLimitConfig
from maxrl_rs.experiments.smollm2 import SmolLM2ExperimentConfig

CONFIGS = [MazeExperimentConfig, ScalingConfig, MLLimitConfig, SmolLM2ExperimentConfig]


@pytest.mark.parametrize("cls", CONFIGS)
def test_defaults_are_valid(cls):
    cls()


@pytest.mark.parametrize("cls", CONFIGS)
def test_unknown_method_names_it_and_the_known_ones(cls):
    with pytest.raises(ConfigError, match=r"methods: unknown method 'ppo'; known: .*maxrl"):
        cls(methods=("maxrl", "ppo"))


def test_unknown_long_method_names_its_field():
    with pytest.raises(ConfigError, match=r"^long_methods: unknown method 'ppo'"):
        ScalingConfig(long_methods=("ppo",))


@pytest.mark.parametrize(
    ("cls", "key", "minimum", "others"),
    [
        (MazeExperimentConfig, "rl_steps", 1, {}),
        (MazeExperimentConfig, "rollouts_per_prompt", 1, {}),
        (MazeExperimentConfig, "workers", 1, {}),
        (ScalingConfig, "prompts_per_step", 1, {"budget_n": 0}),
        (ScalingConfig, "long_eval_every", 1, {"long_steps": 5}),
        (MLLimitConfig, "batch_size", 1, {}),
        (MLLimitConfig, "eval_every", 1, {}),
        (SmolLM2ExperimentConfig, "rollouts_per_prompt", 2, {}),
        (SmolLM2ExperimentConfig, "gsm8k_n", 1, {}),
        (SmolLM2ExperimentConfig, "eval_prompts", 1, {}),
    ],
)
def test_counts_below_their_minimum(cls, key, minimum, others):
    bad = minimum - 1
    with pytest.raises(ConfigError, match=rf"^{key} must be >= {minimum}, got {bad}$"):
        cls(**others, **{key: bad})
    with pytest.raises(ConfigError, match=r"got -3$"):
        cls(**others, **{key: -3})
    assert getattr(cls(**others, **{key: minimum}), key) == minimum


@pytest.mark.parametrize("cls", [MazeExperimentConfig, ScalingConfig, MLLimitConfig])
def test_seeds_must_not_be_empty(cls):
    with pytest.raises(ConfigError, match=r"^seeds must not be empty, got \(\)$"):
        cls(seeds=())


@pytest.mark.parametrize("name", ["maze", "maze_scaling", "ml_limit", "smollm2"])
def test_experiment_options_all_have_help_and_leave_the_shipped_results_alone(name):
    """Without --out a reproduction writes under runs/, not over docs/results; each option says what it is."""
    import importlib

    parser = importlib.import_module(f"maxrl_rs.experiments.{name}").parser()
    no_help = [a.option_strings for a in parser._actions if a.dest != "help" and not (a.help or "").strip()]
    assert no_help == []
    assert parser.parse_args([]).out == "runs/results"
    assert parser.parse_args(["--out", "docs/results"]).out == "docs/results"
    assert "runs/results" in parser.format_help()  # defaults are shown
