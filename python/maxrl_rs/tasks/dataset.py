"""User data in the layouts TRL and verl users have: ``task.name = "dataset"`` with ``[task.dataset]``.

Files are local ``.jsonl``, ``.json``, ``.parquet`` or ``.csv``, read with the ``datasets`` library by
:func:`maxrl_rs.tasks.data_files.read_rows` (nothing from the hub; a file it cannot read, or an empty one,
is an error naming the file, the line where it can be found, and the cause). Each row gives:

- a prompt, column ``prompt_field`` (default ``prompt``): a string, or a list of ``{"role", "content"}``
  chat messages. Messages go through the tokenizer's chat template; a tokenizer without one (the word-level
  tokenizers of tiny models) gets the messages' contents joined by blank lines, roles dropped.
  ``system_prompt``, when set, is put first as a system message (before a string prompt: a blank line);
- a reference answer, column ``answer_field`` (default ``answer``); both fields take dotted paths into
  nested columns, so verl's ``reward_model.ground_truth`` works as is. Numbers become their text, dicts JSON
  (``countdown``), a list of strings rows (``maze``). With ``reward_fn`` the answer is checked the same way;
  ``answer_field`` unset (``""``) says the function needs no reference (every reference is ``""``), and is
  refused without ``reward_fn``;
- optionally ``verifier``: the row's ``maxrl_rs.grade`` verifier (default ``task.dataset.verifier``).

A verl-layout parquet file (``data_source``, ``prompt`` = messages, ``ability``, ``reward_model`` =
``{style, ground_truth}``, ``extra_info``) trains with ``answer_field = "reward_model.ground_truth"``.
``reward_fn`` scores responses with a Python function instead of the verifiers (:mod:`maxrl_rs.rewards`).

Every row is checked before training (:func:`validate_rows`): a prompt or answer field that no row has is an
error naming the fields the rows do have; a row with a missing or null field, a prompt
that is neither a string nor messages, an empty answer, an unknown verifier or a reference the verifier
cannot read is left out with a warning naming the file and the row index (0-based); more than 10% of such
rows, or none usable, stop the run with the list (the same rule as JSONL files).

The held-out set is ``eval`` when given, else the first ``task.eval_size`` rows of ``train`` (then left out
of training).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from maxrl_rs.errors import ConfigError, did_you_mean
from maxrl_rs.grading import unknown_verifier
from maxrl_rs.options import need, optional_str
from maxrl_rs.tasks.base import Example, FileTask, Graded, register_task
from maxrl_rs.tasks.data_files import read_rows
from maxrl_rs.tasks.jsonl import report_unusable

#: ``task.dataset.verifier`` unless set.
DEFAULT_VERIFIER = "math"
#: The verifier name of examples scored by ``reward_fn``.
PYTHON_REWARD = "python"


@dataclass
class DatasetOptions:
    """``[task.dataset]``: ``train`` and optional ``eval`` files; the prompt and answer columns (dotted paths
    into nested columns allowed); ``system_prompt``; the default ``verifier``; ``reward_fn``, a Python reward
    function replacing the verifiers (``module:function`` or ``file.py:function``); the token budget."""

    train: str = optional_str()
    eval: str = optional_str()
    prompt_field: str = "prompt"
    answer_field: str = optional_str("answer")
    system_prompt: str = optional_str()
    verifier: str = DEFAULT_VERIFIER
    reward_fn: str = optional_str()
    max_new_tokens: int = 512

    def check(self) -> None:
        """ConfigError naming the ``task.dataset.*`` key of a bad value, before any file is read: an unknown
        ``verifier``, or one set away from its default beside ``reward_fn`` (which scores every row, so the
        verifier would be ignored without a word)."""
        need((problem := unknown_verifier(self.verifier)) is None, "task.dataset.verifier", str(problem))
        need(
            not self.reward_fn or self.verifier == DEFAULT_VERIFIER,
            "task.dataset.verifier",
            f"{self.verifier!r} does not apply with task.dataset.reward_fn set (the function scores every "
            f"row); leave it at its default ({DEFAULT_VERIFIER!r})",
        )
        need(
            self.max_new_tokens >= 1,
            "task.dataset.max_new_tokens",
            f"must be >= 1, got {self.max_new_tokens}",
        )


@dataclass(frozen=True)
class Row:
    """One checked row: the prompt as text (messages' contents joined) and as messages, and its reference."""

    index: int
    text: str
    messages: tuple[tuple[str, str], ...] | None
    reference: str
    verifier: str


def get_field(row: dict[str, Any], path: str) -> Any:
    """``row[path]``, or the nested value at dotted ``path`` (``reward_model.ground_truth``).

    KeyError when absent or null: ``datasets`` gives every row every column of the file, so a field some
    rows lack reads as None there.
    """
    node: Any = row
    if path in row:
        node = row[path]
    else:
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(path)
            node = node[part]
    if node is None:
        raise KeyError(path)
    return node


def _fields(row: dict[str, Any]) -> str:
    return ", ".join(k for k, v in row.items() if v is not None)


def _paths(node: Any, prefix: str = "") -> list[str]:
    """Every field of a row as a dotted path, nested columns included (``reward_model.ground_truth``)."""
    out = []
    for k, v in node.items():
        out.append(f"{prefix}{k}")
        if isinstance(v, dict):
            out += _paths(v, f"{prefix}{k}.")
    return out


def _has_path(row: dict[str, Any], path: str) -> bool:
    """``path`` names a field of ``row``, null or not (:func:`get_field`'s lookup)."""
    node: Any = row
    if path in row:
        return True
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_fields(rows: list[dict[str, Any]], options: DatasetOptions, path: str) -> None:
    """ConfigError when the prompt or answer field names a field that no row of ``path`` has (a misspelled
    ``answer_field`` would otherwise leave every row without a reference), naming the fields the rows have."""
    fields = _paths(rows[0]) if rows else []
    for key in ("prompt_field", "answer_field"):
        name = getattr(options, key)
        if key == "answer_field" and not name:
            continue  # no reference wanted (reward_fn only: DatasetTask checks it)
        if any(_has_path(row, name) for row in rows):
            continue
        hint = did_you_mean(name, fields)
        unset = ""
        if key == "answer_field" and options.reward_fn:
            unset = (
                "; if the reward function needs no reference answer, unset task.dataset.answer_field "
                '(answer_field = "" in the config file, --set task.dataset.answer_field=none)'
            )
        raise ConfigError(
            f"task.dataset.{key}: no row of {path!r} has a field {name!r}{hint}; its rows have "
            f"{', '.join(fields) or 'no fields'}{unset}"
        )


def validate_rows(rows: list[dict[str, Any]], options: DatasetOptions, path: str) -> list[Row]:
    """Check every row of ``path`` up front and return the usable ones, parsed.

    A prompt or answer field that no row has is a ConfigError (:func:`check_fields`). Unusable rows are left
    out with a warning naming each as ``path: row i: why`` (0-based); as for JSONL files
    (:func:`maxrl_rs.tasks.jsonl.report_unusable`), ConfigError listing them when no row or more than 10% of
    the rows are unusable. The same rules hold with ``reward_fn``; with ``answer_field`` unset every
    reference is ``""``.
    """
    check_fields(rows, options, path)
    out: list[Row] = []
    problems: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        try:
            out.append(_row(i, row, options))
        except _Unusable as e:
            problems.append((i, str(e)))
    if not options.reward_fn:
        unreadable = _unreadable_references(out, options.answer_field)
        problems += unreadable
        out = [r for r in out if r.index not in {i for i, _ in unreadable}]
    report_unusable(path, [(f"{path}: row {i}", why) for i, why in sorted(problems)], len(rows), len(out))
    if not out:
        raise ConfigError(f"{path}: has no rows")
    return out


class _Unusable(ValueError):
    """Why one row cannot be trained on."""


def _row(i: int, row: dict[str, Any], options: DatasetOptions) -> Row:
    try:
        prompt = get_field(row, options.prompt_field)
    except KeyError:
        raise _Unusable(
            f"no field {options.prompt_field!r} (task.dataset.prompt_field), or it is null; "
            f"its fields: {_fields(row)}"
        ) from None
    text, messages = _prompt(prompt, options.system_prompt, options.prompt_field)
    if options.reward_fn:
        verifier = PYTHON_REWARD
    else:
        verifier = row.get("verifier") or options.verifier
        if (problem := unknown_verifier(verifier)) is not None:
            raise _Unusable(f"field 'verifier': {problem}")
    reference = _answer(row, options.answer_field, verifier) if options.answer_field else ""
    return Row(i, text, messages, reference, verifier)


def _answer(row: dict[str, Any], field: str, verifier: str) -> str:
    """The row's reference answer as text; _Unusable when it is missing, null or empty."""
    try:
        answer = get_field(row, field)
    except KeyError:
        raise _Unusable(
            f"no field {field!r} (task.dataset.answer_field), or it is null; its fields: {_fields(row)}"
        ) from None
    if (isinstance(answer, float) and math.isnan(answer)) or (  # an empty CSV cell
        isinstance(answer, (list, tuple, np.ndarray)) and len(answer) == 0
    ):
        raise _Unusable(f"field {field!r} is empty ({answer!r})")
    try:
        reference = _reference(answer, verifier)
    except TypeError as e:
        raise _Unusable(f"field {field!r} {e}") from None
    if not reference.strip():
        raise _Unusable(f"field {field!r} is empty ({answer!r})")
    return reference


def _prompt(value: Any, system: str, field: str) -> tuple[str, tuple[tuple[str, str], ...] | None]:
    if isinstance(value, str):
        if not value.strip():
            raise _Unusable(f"field {field!r} is an empty prompt")
        if not system:
            return value, None
        return f"{system}\n\n{value}", (("system", system), ("user", value))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and value:
        messages = []
        for j, m in enumerate(value):
            if (
                not isinstance(m, dict)
                or not isinstance(m.get("role"), str)
                or not isinstance(m.get("content"), str)
            ):
                raise _Unusable(
                    f"field {field!r} message {j} must be {{'role': str, 'content': str}}, got {m!r:.120}"
                )
            messages.append((m["role"], m["content"]))
        if system and messages[0][0] != "system":
            messages.insert(0, ("system", system))
        return "\n\n".join(c for _, c in messages), tuple(messages)
    raise _Unusable(
        f"field {field!r} must be a string or a non-empty list of {{role, content}} messages, "
        f"got {value!r:.120}"
    )


def _reference(answer: Any, verifier: str) -> str:
    from maxrl_rs.grading import reference_text

    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if isinstance(answer, (list, tuple)) and verifier != "maze":
        if len(answer) == 1:  # verl sometimes stores one ground truth in a list
            return _reference(answer[0], verifier)
        return json.dumps(list(answer))
    return reference_text(answer, verifier)


def _unreadable_references(rows: list[Row], field: str) -> list[tuple[int, str]]:
    """Rows whose reference the verifier cannot read (graded against itself: ``invalid_reference``),
    which would otherwise mask every rollout of their prompt."""
    import maxrl_rs

    invalid = maxrl_rs.STATUS_NAMES.index("invalid_reference")
    by_verifier: dict[str, list[Row]] = {}
    for r in rows:
        by_verifier.setdefault(r.verifier, []).append(r)
    out = []
    for verifier, group in by_verifier.items():
        refs = [r.reference for r in group]
        status = maxrl_rs.grade(refs, refs, verifier=verifier).status
        for r, code in zip(group, status.tolist()):
            if code == invalid:
                out.append(
                    (
                        r.index,
                        f"field {field!r} = {r.reference!r:.80} is not a reference the "
                        f"{verifier!r} verifier can read",
                    )
                )
    return out


@register_task
class DatasetTask(FileTask):
    name = "dataset"
    Options = DatasetOptions

    #: Set by the run: reward_fn scores must be 0/1 (the maxrl estimator).
    binary_rewards: bool = True

    def __init__(self, options: DatasetOptions, **kwargs: Any) -> None:
        options.check()
        if not options.train:
            raise ConfigError(
                "task.dataset.train: path to a .jsonl, .json, .parquet or .csv file is required"
            )
        if not options.answer_field and not options.reward_fn:
            raise ConfigError(
                "task.dataset.answer_field: unset, but the verifiers grade against a reference answer in "
                "every row: name the field that holds it (only a task.dataset.reward_fn may go without one)"
            )
        super().__init__(options, **kwargs)
        self._reward_fn = None
        if options.reward_fn:
            from maxrl_rs.rewards import load_reward_fn

            self._reward_fn = load_reward_fn(options.reward_fn)

    def _read(self, path: str, key: str, prefix: str) -> list[tuple[Example, Row]]:
        rows = validate_rows(read_rows(path, key), self.options, path)
        return [(Example(f"{prefix}:{r.index}", r.text, r.reference, r.verifier), r) for r in rows]

    def _read_split(self) -> tuple[list[Example], list[Example]]:
        train = self._read(self.options.train, "task.dataset.train", "train")
        if self.options.eval:
            held = self._read(self.options.eval, "task.dataset.eval", "eval")
        else:
            train, held = self._hold_out(train)
        self._messages = {ex.id: r.messages for ex, r in (*train, *held)}
        return [ex for ex, _ in train], [ex for ex, _ in held]

    def prompt_ids(self, example: Example, tokenizer: Any) -> list[int]:
        """Chat messages through the tokenizer's chat template; without one, the prompt text (contents
        joined by blank lines)."""
        self._split  # noqa: B018 - reads the files, which fills _messages
        messages = self._messages.get(example.id)
        if messages is None or not getattr(tokenizer, "chat_template", None):
            return super().prompt_ids(example, tokenizer)
        ids = tokenizer.apply_chat_template(
            [{"role": r, "content": c} for r, c in messages], add_generation_prompt=True, tokenize=True
        )
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)

    def check_grading(self) -> None:
        """One trial call of ``reward_fn`` on the first example, with two responses: its reference
        and an empty string (a model may answer either). A function that raises or returns something unusable
        then fails before anything is written, with the errors of :func:`maxrl_rs.rewards.call_reward_fn`."""
        if self._reward_fn is None:
            return
        from maxrl_rs.rewards import call_reward_fn

        train, held_out = self._split
        ex = (train or held_out)[0]
        call_reward_fn(
            self._reward_fn,
            [ex.prompt, ex.prompt],
            [ex.reference, ""],
            [ex.reference, ex.reference],
            binary=self.binary_rewards,
            ids=[ex.id, ex.id],
            trial=True,
        )

    def grade(self, responses: Any, examples: Any) -> Graded:
        """The verifiers (:meth:`Task.grade`), or one call of ``reward_fn`` on the whole batch."""
        if self._reward_fn is None:
            return super().grade(responses, examples)
        from maxrl_rs.rewards import call_reward_fn

        rewards, mask, status = call_reward_fn(
            self._reward_fn,
            [ex.prompt for ex in examples],
            list(responses),
            [ex.reference for ex in examples],
            binary=self.binary_rewards,
            ids=[ex.id for ex in examples],
        )
        return Graded(rewards=rewards, mask=mask, status=status)
