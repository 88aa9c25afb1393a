"""What a training task is: examples, prompts as token ids, grading through the Rust verifiers, a registry.

A task hands out training examples by index (so a data iterator's whole state is one counter), a fixed
held-out set, and grades responses in one batch call per verifier (``maxrl_rs.grade``). Built-in tasks also
build their own tokenizer and tiny model and know a correct solution for each example (used by the SFT
warm-start).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from maxrl_rs.errors import ConfigError

T = TypeVar("T")
P = TypeVar("P")

#: The streams of a generated task (the second number of a problem's ``stream_rng`` key).
TRAIN_STREAM, EVAL_STREAM, SFT_STREAM = 0, 1, 2


@dataclass(frozen=True)
class Example:
    """One prompt and how to check a response to it.

    Attributes:
        id: stable identifier (``"train-17"``, ``"eval-3"``, a JSONL line number).
        prompt: the text given to the model (before any chat template).
        reference: what the verifier compares a response against (a maze grid, a number, a JSON spec).
        verifier: a ``maxrl_rs.grade`` verifier name.
        solution: a correct response, when the task can generate one (SFT warm-start); else None.
    """

    id: str
    prompt: str
    reference: str
    verifier: str
    solution: str | None = None


@dataclass(frozen=True)
class Graded:
    """Rewards of a batch of responses, and which of them have a verdict (``mask``)."""

    rewards: np.ndarray  # float32, in [0, 1]
    mask: (
        np.ndarray
    )  # bool; False where the grade is no verdict (limit, error, invalid reference): Grades.mask
    status: np.ndarray  # uint8 status codes, see maxrl_rs.STATUS_NAMES


class Task(ABC):
    """A source of examples plus their verifier. Subclasses register with :func:`register_task`.

    Args:
        options: the task's own options dataclass (``Options``), from the ``[task.<name>]`` config section.
        seed: seed of the training stream.
        eval_seed: seed of the held-out stream, independent of ``seed`` so runs with different seeds are
            evaluated on the same prompts.
        eval_size: number of held-out examples.
    """

    name: ClassVar[str]
    Options: ClassVar[type]
    #: SFT warm-start steps when ``sft.steps`` is unset (enough for a nonzero, imperfect pass rate).
    sft_steps: ClassVar[int] = 0

    def __init__(self, options: Any, *, seed: int, eval_seed: int, eval_size: int) -> None:
        self.options = options
        self.seed = int(seed)
        self.eval_seed = int(eval_seed)
        self.eval_size = int(eval_size)

    # -- data ------------------------------------------------------------------------------------------------
    @property
    def num_train(self) -> int | None:
        """Number of distinct training examples, or None for a generator without end."""
        return None

    @abstractmethod
    def train_example(self, index: int) -> Example:
        """Training example ``index`` (deterministic in the task's seed and ``index``)."""

    def sft_example(self, index: int) -> Example:
        """Example ``index`` of the SFT warm-start stream (with a ``solution``); default: the training one."""
        return self.train_example(index)

    @abstractmethod
    def eval_examples(self) -> list[Example]:
        """The held-out examples, disjoint from the training stream."""

    # -- model side ------------------------------------------------------------------------------------------
    @property
    def builtin_model(self) -> bool:
        """True when the task builds its own tokenizer and tiny model (no ``model.path`` needed)."""
        return False

    def build_tokenizer(self) -> Any:
        raise ConfigError(
            f"task {self.name!r} has no built-in tokenizer: set model.path to a model directory"
        )

    @property
    @abstractmethod
    def max_new_tokens(self) -> int:
        """Default response budget in tokens (``rollout.max_new_tokens`` overrides it)."""

    def prompt_ids(self, example: Example, tokenizer: Any) -> list[int]:
        """Token ids of the prompt: through the chat template when the tokenizer has one."""
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": example.prompt}], add_generation_prompt=True, tokenize=True
            )
            # transformers 5 returns a BatchEncoding here, earlier versions a list.
            return list(ids["input_ids"] if hasattr(ids, "keys") else ids)
        ids = tokenizer(example.prompt, add_special_tokens=True)["input_ids"]
        bos = tokenizer.bos_token_id
        if bos is not None and (not ids or ids[0] != bos):
            ids = [bos, *ids]
        return list(ids)

    def response_ids(self, text: str, tokenizer: Any) -> list[int]:
        """Token ids of a response ended by EOS (the SFT target)."""
        return [*tokenizer(text, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]

    # -- grading ---------------------------------------------------------------------------------------------
    def check_grading(self) -> None:
        """Called before a run or an evaluation writes or samples anything: raise now what grading would
        raise later (user code that fails). Default: nothing to check, the verifiers are built in."""
        return

    def grade(self, responses: Sequence[str], examples: Sequence[Example]) -> Graded:
        """Grade ``responses[i]`` against ``examples[i]``: one ``maxrl_rs.grade`` call per verifier."""
        import maxrl_rs

        if len(responses) != len(examples):
            raise ConfigError(f"{len(responses)} responses for {len(examples)} examples")
        rewards = np.zeros(len(responses), dtype=np.float32)
        status = np.zeros(len(responses), dtype=np.uint8)
        mask = np.zeros(len(responses), dtype=bool)
        by_verifier: dict[str, list[int]] = {}
        for i, ex in enumerate(examples):
            by_verifier.setdefault(ex.verifier, []).append(i)
        for verifier, idx in by_verifier.items():
            grades = maxrl_rs.grade(
                [responses[i] for i in idx], [examples[i].reference for i in idx], verifier=verifier
            )
            rewards[idx] = np.asarray(grades.scores, dtype=np.float32)
            status[idx] = np.asarray(grades.status, dtype=np.uint8)
            # A limit or error is "no verdict", not a failure (docs/grading.md): masked out of the update.
            mask[idx] = np.asarray(grades.mask, dtype=bool)
        return Graded(rewards=rewards, mask=mask, status=status)


class GeneratedTask(Task, Generic[P]):
    """A task that generates its problems: problem ``i`` of a stream is drawn from
    ``stream_rng(seed, stream, i, attempt)``. The held-out set is the ``EVAL_STREAM`` under ``eval_seed``
    (the same for every run seed); a training or SFT draw equal to a held-out problem (same
    :meth:`_identity`) is drawn again with the next ``attempt``, so training never sees a held-out problem.
    """

    #: Draws per training example before giving up (:meth:`_exhausted`).
    max_attempts: ClassVar[int] = 1000

    @abstractmethod
    def _draw(self, rng: np.random.Generator) -> P:
        """One problem, drawn from ``rng``."""

    @abstractmethod
    def _example(self, problem: P, example_id: str) -> Example:
        """The example that asks ``problem``."""

    def _identity(self, problem: P) -> Hashable:
        """What makes two problems the same (default: the problem itself)."""
        return problem

    def _exhausted(self) -> str:
        """The error when every attempt drew a held-out problem."""
        return f"task.{self.name}: too few distinct problems besides the held-out set"

    @cached_property
    def _eval_problems(self) -> list[P]:
        return [self._draw(stream_rng(self.eval_seed, EVAL_STREAM, i)) for i in range(self.eval_size)]

    @cached_property
    def _held_out(self) -> frozenset[Hashable]:
        return frozenset(self._identity(p) for p in self._eval_problems)

    def _outside_eval(self, stream: int, index: int, example_id: str) -> Example:
        for attempt in range(self.max_attempts):
            problem = self._draw(stream_rng(self.seed, stream, index, attempt))
            if self._identity(problem) not in self._held_out:
                return self._example(problem, example_id)
        raise ConfigError(self._exhausted())

    def train_example(self, index: int) -> Example:
        return self._outside_eval(TRAIN_STREAM, index, f"train-{index}")

    def eval_examples(self) -> list[Example]:
        return [self._example(p, f"eval-{i}") for i, p in enumerate(self._eval_problems)]


class FileTask(Task):
    """A task whose examples come from user files: ``options.train``, optional ``options.eval`` and
    ``options.max_new_tokens``. The held-out set is the ``eval`` file when given, else the first
    ``eval_size`` training items (then left out of training, :meth:`_hold_out`). The files are read once, on
    first use, by the subclass's :meth:`_read_split`."""

    #: What one item of the training file is called in errors ("rows", "lines").
    items_name: ClassVar[str] = "rows"

    @abstractmethod
    def _read_split(self) -> tuple[list[Example], list[Example]]:
        """(training examples, held-out examples), read from the files."""

    @cached_property
    def _split(self) -> tuple[list[Example], list[Example]]:
        return self._read_split()

    def _hold_out(self, train: list[T]) -> tuple[list[T], list[T]]:
        """(training, held-out) from the training file's items alone.

        Raises:
            ConfigError: ``task.eval_size`` would leave no training items.
        """
        if len(train) <= self.eval_size:
            what = self.items_name
            raise ConfigError(
                f"task.eval_size ({self.eval_size}) leaves no training {what} in {self.options.train!r} "
                f"({len(train)} {what}); lower it or set task.{self.name}.eval"
            )
        return train[self.eval_size :], train[: self.eval_size]

    @property
    def num_train(self) -> int:
        return len(self._split[0])

    def train_example(self, index: int) -> Example:
        return self._split[0][index]

    def eval_examples(self) -> list[Example]:
        return list(self._split[1])

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens


class PromptSampler:
    """Which training examples each step uses; its whole state is the number of prompts consumed.

    Every step takes the next ``batch`` global indices; rank r of ``world_size`` keeps every
    ``world_size``-th of them starting at r, so each rank owns whole prompt groups. A finite data set is
    walked in a fresh seeded permutation per epoch; a generator is walked in order.
    """

    def __init__(self, num_examples: int | None, *, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank {rank} is outside 0..world_size-1 (world_size={world_size})")
        self.num_examples = num_examples
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.consumed = 0
        self._perm: tuple[int, np.ndarray] | None = None

    def next_batch(self, batch: int) -> list[int]:
        if batch % self.world_size:
            raise ConfigError(
                f"train.prompts_per_step ({batch}) must be a multiple of world size {self.world_size}"
            )
        positions = range(self.consumed + self.rank, self.consumed + batch, self.world_size)
        self.consumed += batch
        return [self._index(p) for p in positions]

    def _index(self, position: int) -> int:
        if self.num_examples is None:
            return position
        epoch, offset = divmod(position, self.num_examples)
        if self._perm is None or self._perm[0] != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._perm = (epoch, rng.permutation(self.num_examples))
        return int(self._perm[1][offset])

    def state_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.consumed = int(state["consumed"])


_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available as ``task.name = cls.name``."""
    _TASKS[cls.name] = cls
    return cls


def task_names() -> tuple[str, ...]:
    return tuple(sorted(_TASKS))


def task_class(name: str) -> type[Task]:
    try:
        return _TASKS[name]
    except KeyError:
        raise ConfigError(
            f"task.name: unknown task {name!r}; known tasks: {', '.join(task_names())}"
        ) from None


def stream_rng(*key: int) -> np.random.Generator:
    """A NumPy generator for one example of one stream, stable across NumPy versions and platforms."""
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))
