"""TRL integration: Rust-graded reward functions and a GRPOTrainer with MaxRL advantages.

Reward functions follow TRL's convention ``fn(prompts, completions, **kwargs) -> list[float | None]``:
dataset columns arrive as keyword lists aligned with the completions, completions are strings or
conversations (lists of chat messages), and ``None`` marks an item the function cannot score. The whole
batch is graded in one ``maxrl_rs.Grader`` call.

    from maxrl_rs.integrations.trl import MaxRLGRPOTrainer, math_reward

    trainer = MaxRLGRPOTrainer(model=..., reward_funcs=math_reward, args=GRPOConfig(...), train_dataset=ds)

``MaxRLGRPOTrainer`` (imported lazily, so the reward functions work without ``trl`` installed) lives in
:mod:`maxrl_rs.integrations._trl_trainer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from maxrl_rs.errors import InvalidInputError
from maxrl_rs.integrations._grading import SKIPPED_BY_DEFAULT, completion_text, grade

if TYPE_CHECKING:
    from maxrl_rs.integrations._trl_trainer import TRL_TESTED_RANGE, MaxRLGRPOTrainer  # noqa: F401

# Keyword arguments TRL adds next to the dataset columns; never a reference column.
_TRL_KWARGS = frozenset(
    {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric", "environments"}
)


class RewardFunction:
    """A TRL reward function that grades completions against a dataset column with a maxrl-rs verifier.

    Returns 1.0/0.0 (the verifier's score) per completion, and ``None`` for items whose status is in
    ``none_for`` so that TRL leaves them out of the group baseline instead of treating them as wrong
    (``MaxRLGRPOTrainer`` masks a completion when every reward function returned ``None`` for it).

    A callable object rather than a closure, so it pickles (TRL's async rollout workers pickle reward
    functions); it holds only its settings, and the Rust grader is built on first use in each process.
    """

    def __init__(
        self,
        verifier: str = "math",
        *,
        reference_column: str = "solution",
        name: str | None = None,
        none_for: Sequence[str] = SKIPPED_BY_DEFAULT,
        log_details: bool = True,
        **options: Any,
    ) -> None:
        self.verifier = verifier
        self.reference_column = reference_column
        self.none_for = tuple(none_for)
        self.log_details = log_details
        self.options = dict(options)
        # TRL names the metric ``rewards/<__name__>/mean`` after this attribute.
        self.__name__ = name or f"{verifier}_reward"

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"RewardFunction({self.verifier!r}, reference_column={self.reference_column!r}{opts})"

    def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float | None]:
        if completions is None:
            raise InvalidInputError(f"{self.__name__}: no completions given")
        if self.reference_column not in kwargs:
            columns = sorted(k for k in kwargs if k not in _TRL_KWARGS)
            raise InvalidInputError(
                f"{self.__name__}: the dataset has no column {self.reference_column!r} holding the reference "
                f"answers (columns passed to reward functions: {columns}); pass reference_column=... to "
                "make_reward_func"
            )
        references = kwargs[self.reference_column]
        if len(references) != len(completions):
            raise InvalidInputError(
                f"{self.__name__}: {len(completions)} completions but {len(references)} values in column "
                f"{self.reference_column!r}"
            )
        texts = [completion_text(c) for c in completions]
        graded = grade(texts, references, self.verifier, self.options)
        skipped = graded.skipped(self.none_for)
        rewards: list[float | None] = [
            None if skip else float(score)
            for score, skip in zip(graded.scores.tolist(), skipped, strict=True)
        ]
        log_extra = kwargs.get("log_extra")
        if self.log_details and log_extra is not None:
            log_extra(f"{self.__name__}/extracted", [e if e is not None else "" for e in graded.extracted])
            log_extra(f"{self.__name__}/status", graded.status)
        log_metric = kwargs.get("log_metric")
        if log_metric is not None and len(texts):
            log_metric(f"{self.__name__}/frac_skipped", float(skipped.mean()))
        return rewards


def make_reward_func(
    verifier: str = "math",
    *,
    reference_column: str = "solution",
    name: str | None = None,
    none_for: Sequence[str] = SKIPPED_BY_DEFAULT,
    **options: Any,
) -> RewardFunction:
    """A TRL reward function grading completions with ``verifier`` against ``reference_column``.

    Args:
        verifier: a maxrl-rs verifier: ``math``, ``gsm8k``, ``exact``, ``choice``, ``maze``, ``countdown``.
        reference_column: the dataset column with the reference answers (TRL passes it as a keyword list).
        name: the name TRL logs the reward under (default ``<verifier>_reward``).
        none_for: statuses reported as ``None`` (default: invalid_reference, limit, error).
        **options: verifier options, forwarded to ``maxrl_rs.Grader(verifier, **options)``.
    """
    return RewardFunction(
        verifier, reference_column=reference_column, name=name, none_for=none_for, **options
    )


#: Math answers (``\\boxed{}``, LaTeX, numbers) against the ``solution`` column, TRL's math convention.
math_reward = make_reward_func("math", reference_column="solution", name="math_reward")
#: GSM8K final answers against the ``answer`` column of ``openai/gsm8k`` (full ``"... #### 72"`` solutions).
gsm8k_reward = make_reward_func("gsm8k", reference_column="answer", name="gsm8k_reward")


def __getattr__(name: str) -> Any:
    # The trainer imports trl and torch; keep them out of ``import maxrl_rs.integrations.trl``.
    if name in ("MaxRLGRPOTrainer", "TRL_TESTED_RANGE"):
        from maxrl_rs.integrations import _trl_trainer

        return getattr(_trl_trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# MaxRLGRPOTrainer and TRL_TESTED_RANGE are importable by name but left out of ``import *``, which must
# not need trl.
__all__ = ["RewardFunction", "gsm8k_reward", "make_reward_func", "math_reward"]
