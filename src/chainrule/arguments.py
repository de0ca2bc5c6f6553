"""Arguments as PyTorch spells them, normalised for the ops: dims (negative ones, 0-d
tensors), shapes (``f(2, 3)`` or ``f((2, 3))``), and indices (PyTorch's rule for ints beside
integer arrays). Pure functions of NumPy values and plain Python: no tensors, no graph."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import dtypes
from .errors import ShapeError


def _dim(dim: Any, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative index; 0-d tensors accept 0 and -1."""
    n = builtins.max(ndim, 1)
    if not isinstance(dim, int | np.integer) or isinstance(dim, builtins.bool):
        raise TypeError(f"a dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(
            f"dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def _axes(dim: Any, ndim: int) -> tuple[int, ...] | None:
    """Reduction dims as a tuple of non-negative ints, or None for every dim (also for 0-d)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    normalised = tuple(_dim(d, ndim) for d in dims)
    if len(set(normalised)) != len(normalised):
        raise ShapeError(f"dims {dims} name a dimension more than once")
    if ndim == 0 or not normalised:
        return None
    return tuple(sorted(normalised))


F = TypeVar("F", bound=Callable[..., Any])


def numpy_aliases(method: F) -> F:
    """Accept NumPy's ``axis=`` and ``keepdims=`` for ``dim=`` and ``keepdim=``, as PyTorch does."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _pick(dim: Any, axis: Any) -> Any:
    """PyTorch's ``dim=`` with NumPy's ``axis=`` as an alias."""
    return dim if axis is None else axis


def _shape_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
    if len(args) == 1 and not isinstance(args[0], int | np.integer):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _index_array(item: Any) -> Any:
    if isinstance(item, list):
        item = np.asarray([np.asarray(i) if hasattr(i, "__array__") else i for i in item])
    elif hasattr(item, "__array__") and not isinstance(item, np.ndarray | np.generic):
        item = np.asarray(item)  # a tensor: its array, no copy
    if isinstance(item, np.ndarray):
        if item.dtype.kind not in "iub":
            raise IndexError(
                f"tensors used as indices must be integer or bool, got dtype {item.dtype}"
            )
        if item.dtype == np.uint8:
            item = item.astype(np.int64)
    return item


def _index_steps(index: Any) -> tuple[Any, ...]:
    """PyTorch's indexing as NumPy steps (see ops.index): ints select before advanced indices
    apply, so ``x[0, :, [0, 1]]`` on (2, 3, 4) is (3, 2) as in PyTorch, not NumPy's (2, 3)."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(_index_array(i) for i in items)
    has_int = any(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in items)
    has_array = any(isinstance(i, np.ndarray) for i in items)
    has_ellipsis = any(i is Ellipsis for i in items)
    if not has_array:
        # A trailing Ellipsis makes NumPy return a 0-d view, not a copied scalar, for x[0, 0].
        return (items if has_ellipsis else (*items, Ellipsis),)
    if not has_int:
        return (items,)
    first: list[Any] = []
    second: list[Any] = []
    for i in items:
        if isinstance(i, np.ndarray):
            first.extend([slice(None)] * (i.ndim if i.dtype == bool else 1))
            second.append(i)
        elif isinstance(i, int | np.integer):
            first.append(i)
        elif i is Ellipsis:
            first.append(i)
            second.append(i)
        else:  # a slice or None: kept by the first step, passed over by the second
            first.append(i)
            second.append(slice(None))
    if not has_ellipsis:
        first.append(Ellipsis)
    return (tuple(first), tuple(second))


class MaxMin(NamedTuple):
    """``max(dim)``/``min(dim)``/``sort``/``topk``: values and their indices, as in PyTorch."""

    values: Any  # a Tensor
    indices: Any


def _is_dtype(value: Any) -> builtins.bool:
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return True
    if value in (builtins.float, builtins.int, builtins.bool):
        return True
    if isinstance(value, str):
        try:
            dtypes.as_dtype(value)
            return not value.startswith(("cpu", "cuda", "mps"))
        except TypeError:
            return False
    return False
