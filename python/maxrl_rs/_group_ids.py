"""Group ids as the int64 codes the Rust core groups by.

Two ids share a group exactly when Python considers them the same dict key: equal and with equal hashes. So
``1``, ``1.0``, ``True`` and ``np.int64(1)`` are one group (``1 == 1.0 == True`` in Python), while ``1`` and
``"1"``, ``None`` and ``"None"``, or ``b"a"`` and ``"a"`` are two. Ids that are not equal are never merged: in
particular they are never compared through ``str()``, and a list is never coerced by NumPy into an array of
another type (``np.asarray([1, "1"])`` is an array of strings).

Integer arrays (NumPy, torch, lists of ints) are passed through without a Python loop, non-integral float
arrays factorised with ``np.unique``, and any other ids (strings, objects, tuples, mixed types) with one dict
lookup each. NaN is refused (it is not equal to itself, so it names no group), as are unhashable ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from maxrl_rs._arrays import is_torch_tensor, to_numpy
from maxrl_rs.errors import InvalidInputError, shown

_INT64_LIMIT = 2.0**63  # floats of this size or more do not fit int64 (the cast would merge them)
_FLOATS = (float, complex, np.floating, np.complexfloating)
_NAN = "is NaN, which equals no id (not even itself)"


@dataclass(frozen=True)
class GroupIds:
    """``codes``: int64 per rollout, equal exactly for rollouts of one group. ``labels[code]`` is the caller's
    id of a group, or ``labels`` is None when the codes are the caller's (integer) ids themselves."""

    codes: np.ndarray
    labels: np.ndarray | None

    def ascending(self) -> GroupIds:
        """The same grouping with codes in ascending order of the ids when the ids can be ordered (numbers,
        strings, tuples of them), else in order of first appearance."""
        if self.labels is None or self.labels.dtype != object:
            return self  # integer ids, or labels from np.unique: already ascending
        try:
            order = np.asarray(sorted(range(len(self.labels)), key=self.labels.__getitem__), dtype=np.int64)
        except TypeError:  # ids of types that do not compare (str with int, None, ...)
            return self
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return GroupIds(rank[self.codes], self.labels[order])

    def label(self, code: int) -> Any:
        """The caller's id of the group with ``code``."""
        if self.labels is None:
            return code
        v = self.labels[code]
        return v.item() if isinstance(v, np.generic) else v


def group_ids(x: Any, name: str = "group_ids") -> GroupIds:
    """Codes and labels of 1-D ids ``x`` (list, tuple, NumPy array, torch tensor, pandas Series, ...).

    Raises:
        InvalidInputError: ``x`` is not 1-D, or an id is NaN or unhashable (naming its index and value).
    """
    if isinstance(x, np.ndarray) or is_torch_tensor(x) or hasattr(x, "__array__"):
        a = to_numpy(x)
        if a.ndim != 1:
            raise InvalidInputError(f"{name} must be 1-D, got shape {a.shape}")
        if a.dtype.kind in "iubf":
            return _numbers(a, name)
        # Strings too: a dict is several times faster than np.unique's sort (verl's uuid uids).
        return _by_hash(list(a) if a.dtype == object else a.tolist(), name)
    try:
        items = list(x)
    except TypeError:
        raise InvalidInputError(f"{name} must be a 1-D sequence, got {type(x).__name__}") from None
    # NumPy turns a list of ints (and bools) into int64 without changing a value; mixed lists it may coerce
    # (ints to float, anything to str) and tuples it splits into columns, so those go by hash.
    if items and isinstance(items[0], (int, np.integer)):
        try:
            a = np.asarray(items)
        except ValueError:  # ragged: ints mixed with sequences
            return _by_hash(items, name)
        if a.ndim == 1 and a.dtype.kind in "iub":
            return GroupIds(np.ascontiguousarray(a, dtype=np.int64), None)
    return _by_hash(items, name)


def _numbers(a: np.ndarray, name: str) -> GroupIds:
    if a.dtype.kind in "iub":
        return GroupIds(np.ascontiguousarray(a, dtype=np.int64), None)
    nan = np.flatnonzero(np.isnan(a))
    if nan.size:
        _refuse(name, int(nan[0]), a[nan[0]].item(), _NAN)
    if np.all((a == np.round(a)) & (np.abs(a) < _INT64_LIMIT)):
        return GroupIds(a.astype(np.int64), None)  # integral floats: 3.0 is id 3, as 3.0 == 3
    return _unique(a)


def _unique(a: np.ndarray) -> GroupIds:
    labels, inverse = np.unique(a, return_inverse=True)
    return GroupIds(np.ascontiguousarray(inverse.reshape(-1), dtype=np.int64), labels)


def _by_hash(items: list[Any], name: str) -> GroupIds:
    """Factorise by Python equality: one dict lookup per id; codes in order of first appearance."""
    index: dict[Any, int] = {}
    try:
        codes = np.fromiter(
            (index.setdefault(v, len(index)) for v in items), dtype=np.int64, count=len(items)
        )
    except TypeError:
        for i, v in enumerate(items):
            try:
                hash(v)
            except TypeError:
                _refuse(name, i, v, "is not hashable", "; ids must be hashable: int, str, tuple, ...")
        raise
    for label, code in index.items():
        if isinstance(label, _FLOATS) and label != label:
            _refuse(name, int(np.argmax(codes == code)), label, _NAN)
    labels = np.empty(len(index), dtype=object)
    for i, label in enumerate(index):  # one by one: a tuple must stay one element, not become a row
        labels[i] = label
    return GroupIds(codes, labels)


def _refuse(name: str, i: int, value: Any, why: str, hint: str = "") -> NoReturn:
    err = InvalidInputError(f"{name}[{i}] {why}: {shown(value)}{hint}")
    err.index, err.name = i, name
    raise err


def relabel_groups(err: InvalidInputError, ids: GroupIds) -> InvalidInputError:
    """The core error ``err`` with its group code replaced by the caller's own id when ids were factorised:
    in the message and in the ``group`` attribute."""
    code = err.group
    if ids.labels is None or code is None:
        return err
    label = ids.label(code)
    out = type(err)(re.sub(rf"\bgroup {code}\b", lambda _: f"group {label!r}", str(err)))
    out.index, out.group, out.name = err.index, label, err.name
    return out
