"""dtype names and PyTorch's type promotion.

The names are NumPy dtypes, so ``x.dtype == chainrule.float32`` and ``np.zeros(3, chainrule.int64)``
both work. Promotion follows PyTorch, not NumPy: the categories are bool < integer < floating; a
Python number or a NumPy constant decides only the category (``int_tensor + 0.5`` is float32, the
default float type, where NumPy gives float64); a 0-d tensor counts only when its category is
higher than every dimensioned tensor's (``float32_vector * float64_scalar_tensor`` stays float32).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
# PyTorch's short names (chainrule.float is float32, chainrule.long is int64, as in torch).
half, double, short, long = float16, float64, int16, int64
ALIASES = {"float": float32, "int": int32, "bool": bool_}

_default_float = float32


def get_default_dtype() -> np.dtype[Any]:
    """The floating type of tensors made from Python floats (float32 unless set)."""
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    """Make float64 (or back to float32) the type of new floating tensors, as in PyTorch."""
    global _default_float
    d = as_dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"the default dtype must be float32 or float64, got {d}")
    _default_float = d


def as_dtype(dtype: Any) -> np.dtype[Any]:
    """A NumPy dtype from any spelling: chainrule.float32, np.float32, 'float32', float."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str) and dtype.startswith("torch."):
        dtype = dtype[len("torch.") :]
    if isinstance(dtype, str) and dtype in ALIASES:
        return ALIASES[dtype]
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{dtype!r} is not a dtype") from None


def category(dtype: np.dtype[Any]) -> int:
    """0 bool, 1 integer, 2 floating; complex and others rank as floating."""
    kind = dtype.kind
    return 0 if kind == "b" else 1 if kind in "iu" else 2


def promote(a: np.dtype[Any] | None, b: np.dtype[Any]) -> np.dtype[Any]:
    """The higher category wins; within one category, NumPy's widening (int32+int64: int64)."""
    if a is None or a == b:
        return b
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def default_for(category_: int) -> np.dtype[Any]:
    return (bool_, int64, _default_float)[category_]


def scalar_category(value: Any) -> int | None:
    """The category of a Python number or NumPy constant; None for what is not a number."""
    if isinstance(value, builtins.bool | np.bool_):
        return 0
    if isinstance(value, builtins.int | np.integer):
        return 1
    if isinstance(value, builtins.float | np.floating):
        return 2
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype):
        return category(dtype)
    if isinstance(value, list | tuple):
        return category(np.asarray(value).dtype)
    return None
