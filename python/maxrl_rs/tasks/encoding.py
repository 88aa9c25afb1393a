"""Whether a model's tokenizer can serve a task: checked before any sampling, training or run directory.

A model trained on one built-in task has a word-level vocabulary of that task alone (maze moves, or digits),
so the prompts of another task do not encode: the ``tokenizers`` library raises ``Missing [UNK] token`` from
deep inside a rollout. A tokenizer with an unknown token encodes them, but as ``[UNK]``, and the model never
sees the text. :func:`check_tokenizer` finds either case up front and names the task, the model and the first
piece of text that does not encode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from maxrl_rs.errors import ConfigError
from maxrl_rs.tasks.base import Example, Task

#: Training (and SFT) examples checked besides the held-out ones: a generated task draws every example from
#: the same vocabulary, and a data file's first rows show a mismatch as well as all of them would.
TRAIN_EXAMPLES_CHECKED = 64


def examples_to_check(task: Task) -> list[Example]:
    """The held-out examples and the first :data:`TRAIN_EXAMPLES_CHECKED` training and SFT warm-start examples
    of ``task``."""
    count = TRAIN_EXAMPLES_CHECKED if task.num_train is None else min(task.num_train, TRAIN_EXAMPLES_CHECKED)
    out = list(task.eval_examples())
    out += [task.train_example(i) for i in range(count)]
    out += [task.sft_example(i) for i in range(count)]
    return out


def check_tokenizer(
    task: Task,
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    model: str | Path,
    key: str | None = None,
    hint: str | None = None,
) -> None:
    """Refuse a tokenizer that cannot serve ``task``.

    Args:
        task: the task whose prompts (and SFT solutions) the model will read and write.
        tokenizer: the model's tokenizer.
        examples: the examples checked, e.g. :func:`examples_to_check` or the held-out set evaluated.
        model: the model's directory, named in the message.
        key: the config key or option that gave the model (``"model.path"``), prefixed to the message.
        hint: what to do instead, appended to the message (default: a general one).

    Raises:
        ConfigError: the tokenizer has no EOS token (a rollout could never stop), or a prompt or solution of
            ``examples`` does not encode (encoding fails, or yields the unknown token for text that is not
            the unknown token itself); the message names the task, the model, the example and the first
            piece of text that does not encode.
    """
    head = f"{key}: " if key else ""
    if tokenizer.eos_token_id is None:
        raise ConfigError(
            f"{head}the tokenizer of model {str(model)!r} has no EOS token; rollouts could never stop"
        )
    texts = list(_texts(examples))
    if not texts:
        return
    try:
        encoded = tokenizer([t for _, _, t in texts], add_special_tokens=False)["input_ids"]
        bad = next((i for i, ids in enumerate(encoded) if _unknown(tokenizer, ids, texts[i][2])), None)
    except Exception:  # tokenizers raises a plain Exception for a word outside its vocabulary
        bad = next(i for i, (_, _, t) in enumerate(texts) if _fails(tokenizer, t))
    if bad is None:
        return
    ex, what, text = texts[bad]
    piece = _first_failing_piece(tokenizer, text)
    raise ConfigError(
        f"{head}the tokenizer of model {str(model)!r} cannot encode the {what}s of task {task.name!r}: "
        f"it has no token for {piece!r} (example {ex.id}, {what} {text!r:.80}); "
        + (hint or "give a model trained on this task, or one whose tokenizer covers its text")
    )


def _texts(examples: Sequence[Example]) -> Iterator[tuple[Example, str, str]]:
    for ex in examples:
        yield ex, "prompt", ex.prompt
        if ex.solution is not None:
            yield ex, "solution", ex.solution


def _unknown(tokenizer: Any, ids: Sequence[int], text: str) -> bool:
    """The encoding of ``text`` holds the unknown token, and ``text`` does not spell it out."""
    unk = tokenizer.unk_token_id
    return unk is not None and unk in ids and str(tokenizer.unk_token) not in text


def _fails(tokenizer: Any, text: str) -> bool:
    try:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    except Exception:  # see check_tokenizer
        return True
    return _unknown(tokenizer, ids, text)


def _first_failing_piece(tokenizer: Any, text: str) -> str:
    """The first whitespace-separated word of ``text`` that does not encode on its own; ``text`` itself when
    every word does."""
    return next((word for word in text.split() if _fails(tokenizer, word)), text)
