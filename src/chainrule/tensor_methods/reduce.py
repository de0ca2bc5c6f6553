"""Tensor methods: reductions (sum, mean, max(dim), var, norm, logsumexp), scans (cumsum,
cumprod), sorting and counting, with ``dim=``/``keepdim=`` (and NumPy's ``axis=``/``keepdims=``)."""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes, ops
from ..arguments import MaxMin, _axes, _dim, numpy_aliases
from ..errors import ChainruleError, ShapeError
from ..graph import (
    TensorBase,
    _arr,
    apply,
    make_tensor,
)
from .math import where

if TYPE_CHECKING:
    from ..tensor import Tensor


class ReduceMethods:
    __slots__ = ()

    def unique(
        self,
        sorted: builtins.bool = True,
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values (sorted), and optionally where each element went and how many
        times each value occurs; no gradient, as in PyTorch."""
        axis = None if dim is None else _dim(dim, self.ndim)
        values, inverse, counts = np.unique(
            self.array, return_inverse=True, return_counts=True, axis=axis
        )
        out = [make_tensor(values)]
        if return_inverse:
            shape = self.shape if axis is None else (self.shape[axis],)
            out.append(make_tensor(inverse.reshape(shape).astype(np.int64)))
        if return_counts:
            out.append(make_tensor(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        if self.ndim != 1 or self.dtype.kind not in "iu":
            raise ShapeError(f"bincount needs a 1-d integer tensor, got {self.shape} {self.dtype}")
        w = None if weights is None else np.asarray(_arr(weights))
        counts = np.bincount(self.array, weights=w, minlength=minlength)
        dtype = dtypes.int64 if w is None else (w.dtype if w.dtype.kind == "f" else dtypes.float64)
        return make_tensor(counts.astype(dtype))

    @numpy_aliases
    def count_nonzero(self, dim: Any = None) -> Tensor:
        return make_tensor(np.asarray(np.count_nonzero(self.array, axis=_axes(dim, self.ndim))))

    @numpy_aliases
    def sum(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        return apply(ops.Sum, x, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def nansum(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return where(np.isnan(self.array), 0.0, self).sum(dim, keepdim)

    @numpy_aliases
    def mean(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        """The mean; integer and bool tensors give the default float type (PyTorch refuses
        them; ``(pred == y).mean()`` is the accuracy)."""
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(ops.Mean, x, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def nanmean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        valid = ~np.isnan(self.array)
        count = make_tensor(np.asarray(valid.sum(axis=_axes(dim, self.ndim), keepdims=keepdim)))
        return self.nansum(dim, keepdim) / count

    @numpy_aliases
    def prod(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        return apply(ops.Prod, x, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def amax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        """The max over dims; ties share the gradient evenly (unlike max(dim))."""
        return apply(ops.Amax, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return apply(ops.Amin, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """``max()``: the largest element; ``max(dim)``: (values, indices) along dim, the
        gradient going to each row's first maximum; ``max(other)``: the elementwise maximum."""
        return self._extreme(dim, keepdim, ops.Amax, np.argmax, ops.Maximum)

    @numpy_aliases
    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return self._extreme(dim, keepdim, ops.Amin, np.argmin, ops.Minimum)

    def _extreme(
        self,
        dim: Any,
        keepdim: builtins.bool,
        whole: type[ops.Function],
        arg: Callable[..., Any],
        pairwise: type[ops.Function],
    ) -> Any:
        if isinstance(dim, TensorBase | np.ndarray):
            return apply(pairwise, self, dim)
        if dim is None:
            if self.array.size == 0:
                raise ShapeError("max()/min() of an empty tensor has no value; give a dim")
            return apply(whole, self, axes=None, keepdims=False, nan_wins=True)
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return MaxMin(self.clone(), make_tensor(np.zeros((), np.int64)))
        indices = np.expand_dims(arg(self.array, axis=d), d)  # keepdims for the gather
        values = self.gather(d, indices, _unique=True)
        if not keepdim:
            values, indices = _squeezed(values, d), np.squeeze(indices, d)
        return MaxMin(values, make_tensor(indices.astype(np.int64)))

    @numpy_aliases
    def argmax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return self._arg(np.argmax, dim, keepdim)

    @numpy_aliases
    def argmin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, arg: Callable[..., Any], dim: Any, keepdim: builtins.bool) -> Tensor:
        if dim is None:
            index = np.asarray(arg(self.array))
            return make_tensor(
                (index.reshape((1,) * self.ndim) if keepdim else index).astype(np.int64)
            )
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return make_tensor(np.zeros((), np.int64))
        index = arg(self.array, axis=d)
        return make_tensor(
            np.asarray(np.expand_dims(index, d) if keepdim else index, dtype=np.int64)
        )

    @numpy_aliases
    def all(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return make_tensor(
            np.asarray(np.all(self.array, axis=_axes(dim, self.ndim), keepdims=keepdim))
        )

    @numpy_aliases
    def any(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return make_tensor(
            np.asarray(np.any(self.array, axis=_axes(dim, self.ndim), keepdims=keepdim))
        )

    @numpy_aliases
    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
    ) -> Tensor:
        """Variance Σ(x - mean)²/(n - correction); correction 1 (unbiased) unless told."""
        axes = _axes(dim, self.ndim)
        if isinstance(unbiased, builtins.bool) or unbiased is None:
            correction = (
                (1 if unbiased in (None, True) else 0) if correction is None else correction
            )
        else:  # var(dim, keepdim) spelled positionally with a bool in unbiased's place
            raise TypeError(f"unbiased must be a bool, got {unbiased!r}")
        centred = self - self.mean(dim=axes, keepdim=True)
        n = self.array.size if axes is None else math.prod(self.shape[a] for a in axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (centred * centred).sum(dim=axes, keepdim=keepdim) / builtins.max(
                n - correction, 0
            )

    @numpy_aliases
    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
    ) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    @numpy_aliases
    def logsumexp(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return apply(ops.LogSumExp, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def norm(
        self, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False, dtype: Any = None
    ) -> Tensor:
        """The vector p-norm over dim (all elements by default): 2 ('fro'), 1, inf, -inf, 0, or
        any p; the gradient is 0 where the norm is 0, as PyTorch."""
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        order = 2.0 if p in ("fro", None) else builtins.float(p)
        if p == "nuc":
            raise ChainruleError("the nuclear norm is not supported")
        return apply(ops.Norm, x, p=order, axes=_axes(dim, self.ndim), keepdims=keepdim)

    @numpy_aliases
    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        if self.ndim == 0:
            return x.clone()
        return apply(ops.Cumsum, x, axis=_dim(dim, self.ndim))

    @numpy_aliases
    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        if self.ndim == 0:
            return x.clone()
        return apply(ops.Cumprod, x, axis=_dim(dim, self.ndim))

    def aminmax(self, *, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        from collections import namedtuple

        pair = namedtuple("aminmax", ["min", "max"])
        return pair(self.amin(dim, keepdim), self.amax(dim, keepdim))

    @numpy_aliases
    def cummax(self, dim: int) -> MaxMin:
        """Running max along dim and where it was (the last of tied maxima, as PyTorch); the
        gradient goes to that position."""
        return self._running(dim, np.maximum)

    @numpy_aliases
    def cummin(self, dim: int) -> MaxMin:
        return self._running(dim, np.minimum)

    def _running(self, dim: int, extreme: np.ufunc) -> MaxMin:
        if self.ndim == 0:
            return MaxMin(self.clone(), make_tensor(np.zeros((), np.int64)))
        d = _dim(dim, self.ndim)
        a = self.array
        running = extreme.accumulate(a, axis=d)
        # The index of the running extreme is the last position so far that attains it.
        positions = np.arange(a.shape[d]).reshape((-1,) + (1,) * (a.ndim - d - 1))
        attained = a == running
        if a.dtype.kind == "f":  # a NaN is the running extreme from where it appears on
            attained |= np.isnan(a)
        record = np.where(attained, positions, 0)
        indices = np.maximum.accumulate(record, axis=d).astype(np.int64)
        return MaxMin(self.gather(d, indices), make_tensor(indices))

    @numpy_aliases
    def logcumsumexp(self, dim: int) -> Tensor:
        """log Σ_{j<=i} e^(x_j) along dim, without overflow."""
        if self.ndim == 0:
            return self.clone()
        return apply(ops.LogCumSumExp, self, axis=_dim(dim, self.ndim))

    @numpy_aliases
    def mode(self, dim: int = -1, keepdim: builtins.bool = False) -> MaxMin:
        """The most frequent value along dim (the smallest of tied ones) and the index of its
        last occurrence, as PyTorch; the gradient goes to that index."""
        if self.ndim == 0:
            return MaxMin(self.clone(), make_tensor(np.zeros((), np.int64)))
        d = _dim(dim, self.ndim)
        rows = np.moveaxis(self.array, d, -1)
        flat = rows.reshape(-1, rows.shape[-1])
        picks = np.empty(len(flat), dtype=np.int64)
        for r, row in enumerate(flat):
            values, counts = np.unique(row, return_counts=True)
            value = values[np.argmax(counts)]  # np.unique sorts: the first max is the smallest
            picks[r] = row.size - 1 - np.argmax(row[::-1] == value)
        indices = np.expand_dims(picks.reshape(rows.shape[:-1]), d)
        values = self.gather(d, indices, _unique=True)
        if not keepdim:
            return MaxMin(_squeezed(values, d), make_tensor(np.squeeze(indices, d)))
        return MaxMin(values, make_tensor(indices))

    @numpy_aliases
    def sort(
        self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False
    ) -> MaxMin:
        indices = self.argsort(dim, descending, stable=True)
        return MaxMin(self.gather(dim, indices, _unique=True), indices)

    @numpy_aliases
    def argsort(
        self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False
    ) -> Tensor:
        if self.ndim == 0:
            return make_tensor(np.zeros((), np.int64))
        d = _dim(dim, self.ndim)
        keys = self.array
        if not descending:  # NaN sorts as the largest value, last (NumPy's order too)
            return make_tensor(np.argsort(keys, axis=d, kind="stable").astype(np.int64))
        if keys.dtype.kind in "bu":
            keys = keys.astype(np.int64)
        if keys.dtype.kind != "f":
            return make_tensor(np.argsort(-keys, axis=d, kind="stable").astype(np.int64))
        # Descending, stable, NaN first (the largest), as PyTorch: NaNs by a key of their own.
        nan = np.isnan(keys)
        order = np.lexsort((np.where(nan, 0, -keys), ~nan), axis=d)
        return make_tensor(order.astype(np.int64))

    @numpy_aliases
    def topk(
        self, k: int, dim: int = -1, largest: builtins.bool = True, sorted: builtins.bool = True
    ) -> MaxMin:
        d = _dim(dim, self.ndim)
        length = self.shape[d] if self.ndim else 1
        if not 0 <= k <= length:
            raise ShapeError(f"topk: k={k} is out of range for dimension {d} of size {length}")
        order = self.argsort(d, descending=largest).array
        indices = np.take(order, np.arange(k), axis=d) if self.ndim else order
        indices_t = make_tensor(indices)
        return MaxMin(self.gather(d, indices_t, _unique=True), indices_t)

    @numpy_aliases
    def kthvalue(self, k: int, dim: int = -1, keepdim: builtins.bool = False) -> MaxMin:
        d = _dim(dim, self.ndim)
        order = self.argsort(d).array
        indices = np.take(order, [k - 1], axis=d)
        values = self.gather(d, indices, _unique=True)
        if not keepdim:
            return MaxMin(_squeezed(values, d), make_tensor(np.squeeze(indices, d)))
        return MaxMin(values, make_tensor(indices))

    @numpy_aliases
    def median(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """The lower median (PyTorch's): the ((n - 1) // 2)-th smallest. Without a dim the
        gradient is shared by every element equal to it (ties), as PyTorch; along a dim it goes
        to the one whose index is returned."""
        if dim is None:
            flat = self.reshape(-1)
            value = flat.kthvalue((flat.numel() - 1) // 2 + 1).values
            ties = self.array == value.array
            if not ties.any():  # a NaN median
                return value
            return (self * ties).sum() / builtins.int(ties.sum())
        d = _dim(dim, self.ndim)
        return self.kthvalue((self.shape[d] - 1) // 2 + 1, d, keepdim)


def _sum_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Sums and products of bools and integers are int64, as in PyTorch (NumPy keeps uint8
    as uint64)."""
    return dtypes.int64 if dtype.kind in "biu" else dtype


def _squeezed(values: Tensor, d: int) -> Tensor:
    """values (keepdim) without axis d, as a tensor of its own: PyTorch's max/min/median/mode/
    kthvalue(dim) return new tensors, and a view of the keepdim intermediate would let an
    in-place op through a view of the result bypass the result's own history (retain_grad,
    hooks)."""
    return values.squeeze(d).clone()
