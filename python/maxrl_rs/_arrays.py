"""Conversions from user inputs (lists, NumPy, torch) to the contiguous arrays the Rust core reads.

torch is never imported here: a tensor is recognised by duck typing and converted through NumPy, so
``import maxrl_rs`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maxrl_rs.errors import InvalidInputError, must_be


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


def mask_array(x: Any) -> np.ndarray | None:
    """1-D booleans, or None; its length is checked by the core against the arrays it goes with.

    A mask holds booleans or the numbers 0 and 1: any other value (0.5, 2, NaN, a string) is refused rather
    than read as True.
    """
    if x is None:
        return None
    a = to_numpy(x)
    if a.ndim != 1:
        raise InvalidInputError(f"mask must be 1-D, got shape {a.shape}")
    if a.dtype == bool:
        return np.ascontiguousarray(a)
    if a.dtype.kind in "iuf":
        bad = np.flatnonzero((a != 0) & (a != 1))
        if bad.size == 0:
            return np.ascontiguousarray(a != 0)
        i, value = int(bad[0]), a[bad[0]].item()
    else:  # objects, or strings NumPy made of a mixed list: judge the caller's own values
        items = a.tolist() if isinstance(x, np.ndarray) else list(x)
        i = next((i for i, v in enumerate(items) if not _zero_or_one(v)), -1)
        if i < 0:
            return np.asarray([bool(v) for v in items], dtype=bool)
        value = items[i]
    err = InvalidInputError(f"mask[{i}] {must_be('a boolean or 0/1', value)}")
    err.index, err.name = i, "mask"
    raise err


def _zero_or_one(v: Any) -> bool:
    return isinstance(v, (bool, int, float, np.number, np.bool_)) and v in (0, 1)


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
