"""Conversions from user inputs (lists, NumPy, torch) to the contiguous arrays the Rust core reads.

torch is never imported here: a tensor is recognised by duck typing and converted through NumPy, so
``import maxrl_rs`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maxrl_rs.errors import InvalidInputError


def is_torch_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "cpu")


def to_numpy(x: Any) -> np.ndarray:
    if is_torch_tensor(x):
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16", "torch.float16"):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def float_array(x: Any, name: str) -> np.ndarray:
    """1-D float64 view/copy of ``x``; error names the first element that is not a number."""
    a = to_numpy(x)
    if a.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {a.shape}")
    if a.dtype.kind not in "biuf":
        for i, v in enumerate(a.tolist()):
            try:
                float(v)
            except (TypeError, ValueError):
                raise InvalidInputError(f"{name}[{i}] is not a number: {v!r}") from None
    return np.ascontiguousarray(a, dtype=np.float64)


def id_array(x: Any, name: str = "group_ids") -> np.ndarray:
    """1-D int64 group ids. Non-integer ids (strings, uuids, floats) are factorised by value."""
    return id_array_with_labels(x, name)[0]


def id_array_with_labels(x: Any, name: str = "group_ids") -> tuple[np.ndarray, np.ndarray | None]:
    """As :func:`id_array`, plus the original id of each factorised code (None when ids were integers)."""
    a = to_numpy(x)
    if a.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D, got shape {a.shape}")
    if a.dtype.kind in "iub":
        return np.ascontiguousarray(a, dtype=np.int64), None
    if a.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(a) | (a != np.round(a)))
        if bad.size == 0:
            return np.ascontiguousarray(a, dtype=np.int64), None
    # Strings (verl's uuid ``uid``), objects, non-integral floats: group by value.
    try:
        labels, inverse = np.unique(a.astype(str) if a.dtype.kind == "O" else a, return_inverse=True)
    except TypeError as e:
        raise InvalidInputError(f"{name} must be hashable, comparable ids: {e}") from None
    return np.ascontiguousarray(inverse.reshape(-1), dtype=np.int64), labels


def relabel_groups(err: InvalidInputError, labels: np.ndarray | None) -> InvalidInputError:
    """The core error ``err`` with its group code replaced by the caller's own id when ids were factorised:
    in the message and in the ``group`` attribute."""
    code = err.group
    if labels is None or code is None:
        return err
    label = labels[code].item()
    out = type(err)(str(err).replace(f"group {code}", f"group {label!r}"))
    out.index, out.group, out.name = err.index, label, err.name
    return out


def mask_array(x: Any) -> np.ndarray | None:
    """1-D booleans, or None; its length is checked by the core against the arrays it goes with."""
    if x is None:
        return None
    a = to_numpy(x)
    if a.ndim != 1:
        raise InvalidInputError(f"mask must be 1-D, got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=bool)


def count_array(x: Any, name: str) -> np.ndarray:
    a = np.asarray(to_numpy(x))
    if a.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(a.ravel()) | (a.ravel() != np.round(a.ravel())))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"{name} must hold integers, got {a.ravel()[i]!r} at index {i}")
    elif a.dtype.kind not in "iub":
        raise InvalidInputError(f"{name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)
