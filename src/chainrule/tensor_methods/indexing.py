"""Tensor methods for indexing: ``x[...]`` and ``x[...] = v`` with PyTorch's rules, gather, scatter,
index_select, masked_select, take, index_add/fill/put, nonzero."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import grad_mode, ops
from ..arguments import _dim, _index_steps
from ..errors import ChainruleError, ShapeError, TensorError
from ..graph import (
    TensorBase,
    _arr,
    _bump,
    _check_inplace,
    _lift,
    _requires,
    _write_error,
    apply,
    make_tensor,
)

if TYPE_CHECKING:
    from ..tensor import Tensor


class IndexMethods:
    __slots__ = ()

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        if self.ndim == 0:  # one "row" with no coordinates, when the value is non-zero
            count = builtins.int(builtins.bool(self.array))
            if as_tuple:
                return (make_tensor(np.zeros(count, np.int64)),)
            return make_tensor(np.zeros((count, 0), np.int64))
        indices = np.nonzero(self.array)
        if as_tuple:
            return tuple(make_tensor(i) for i in indices)
        return make_tensor(np.stack(indices, axis=1) if indices else np.zeros((1, 0), np.int64))

    def argwhere(self) -> Tensor:
        return make_tensor(np.argwhere(self.array))

    def __getitem__(self, index: Any) -> Tensor:
        return apply(ops.Index, self, steps=_index_steps(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place (PyTorch's rules; in grad mode the write is recorded)."""
        steps = _index_steps(index)
        if isinstance(value, TensorBase):
            value = value._cast(self.dtype)
        if grad_mode.enabled:
            _check_inplace(self, "setitem")
        if not (grad_mode.enabled and (self._requires_grad or _requires(value))):
            target = ops.index.select(self.array, steps[:-1])
            value = _arr(value)
            if np.ndim(value) > 1 and np.shape(value)[0] == 1:
                value = ops.index.fit(value, target[steps[-1]])
            try:
                target[steps[-1]] = value
            except ValueError as error:
                raise _write_error("setitem", self, error) from None
            _bump(self)
            return
        self._inplace(lambda t: apply(ops.IndexPut, t, value, steps=steps), "setitem")

    def gather(self, dim: int, index: Any, *, _unique: builtins.bool = False) -> Tensor:
        """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (index may be smaller than x in
        the other dims)."""
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather expects an integer index, got dtype {idx.dtype}")
        if self.ndim == 0:
            return self.clone()
        if idx.ndim != self.ndim:
            raise ShapeError(f"gather: index has {idx.ndim} dims, the input has {self.ndim}")
        bad = [i for i in range(self.ndim) if i != d and idx.shape[i] > self.shape[i]]
        if bad:
            raise ShapeError(
                f"gather: index shape {idx.shape} exceeds input shape {self.shape} in dim {bad[0]}"
            )
        _check_bounds("gather", idx, self.shape[d], d)
        grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)]) if idx.ndim else []
        grid[d] = idx
        return apply(ops.Index, self, steps=(tuple(grid),), unique=_unique)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """Values at indices along dim, input and indices broadcast against each other in the
        other dims (both flattened when dim is None), as torch.take_along_dim."""
        idx = np.asarray(_arr(indices))
        if dim is None:
            return self.reshape(-1).gather(0, idx.reshape(-1))
        d = _dim(dim, self.ndim)
        if idx.ndim != self.ndim:
            raise ShapeError(f"take_along_dim: indices have {idx.ndim} dims, input {self.ndim}")
        # Broadcast every dim but d: the input keeps its length there, the indices theirs.
        others = np.broadcast_shapes(*((*s[:d], 1, *s[d + 1 :]) for s in (self.shape, idx.shape)))
        x = self.expand((*others[:d], self.shape[d], *others[d + 1 :]))
        return x.gather(d, np.broadcast_to(idx, (*others[:d], idx.shape[d], *others[d + 1 :])))

    def take(self, index: Any) -> Tensor:
        return self.reshape(-1)[np.asarray(_arr(index))]

    def index_select(self, dim: int, index: Any) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        if self.ndim == 0:
            if idx.size != 1 or idx[0] not in (0, -1):
                raise IndexError(f"index_select on a 0-d tensor takes index [0], got {idx}")
            return self.clone()
        return self[(slice(None),) * d + (idx,)]

    def masked_select(self, mask: Any) -> Tensor:
        m = np.asarray(_arr(mask))
        shape = np.broadcast_shapes(self.shape, m.shape)
        return self.expand(shape)[np.broadcast_to(m, shape)]

    def _scatter_steps(self, dim: int, index: Any, src: Any) -> tuple[tuple[Any, ...], Any]:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"scatter expects an integer index, got dtype {idx.dtype}")
        _check_bounds("scatter", idx, self.shape[d], d)
        bad = [i for i in range(self.ndim) if i != d and idx.shape[i] > self.shape[i]]
        if bad:
            raise ShapeError(
                f"scatter: index shape {idx.shape} exceeds the shape {self.shape} in dim {bad[0]}"
            )
        grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
        grid[d] = idx
        if isinstance(src, TensorBase) and src.ndim:
            src = src[tuple(slice(0, n) for n in idx.shape)]
        return (tuple(grid),), src

    def scatter(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
    ) -> Tensor:
        """out = x with out[index[i][j]][j] = src[i][j] for dim 0 (a number fills instead)."""
        if reduce in ("multiply", "prod"):
            source = value if src is None else src
            if not isinstance(source, TensorBase):
                source = make_tensor(np.full(np.shape(_arr(index)), source, dtype=self.dtype))
            return self.scatter_reduce(dim, index, source, "prod")
        steps, source = self._scatter_steps(dim, index, value if src is None else src)
        if reduce not in (None, "add", "sum"):
            raise ChainruleError(f"scatter reduce={reduce!r}: 'add' or 'multiply'")
        if isinstance(source, TensorBase):
            source = source._cast(self.dtype)
        return apply(ops.IndexPut, self, source, steps=steps, accumulate=reduce is not None)

    def scatter_reduce(
        self,
        dim: int,
        index: Any,
        src: Any,
        reduce: str,
        *,
        include_self: builtins.bool = True,
    ) -> Tensor:
        """out = self with src reduced into out[index[i][j]][j] (dim 0): 'sum', 'prod', 'mean',
        'amax' or 'amin'; without include_self, self's own value at those positions is left
        out."""
        steps, source = self._scatter_steps(dim, index, src)
        if not isinstance(source, TensorBase):
            raise TypeError("scatter_reduce takes a tensor src")
        return apply(
            ops.ScatterReduce,
            self,
            source._cast(self.dtype),
            index=steps[0],
            reduce=reduce,
            include_self=include_self,
        )

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        steps, source = self._scatter_steps(dim, index, src)
        if isinstance(source, TensorBase):
            source = source._cast(self.dtype)
        return apply(ops.IndexPut, self, source, steps=steps, accumulate=True)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        src = _lift(source, self) * alpha if alpha != 1 else _lift(source, self)
        return apply(
            ops.IndexPut,
            self,
            src._cast(self.dtype),
            steps=((slice(None),) * d + (idx,),),
            accumulate=True,
        )

    def index_copy(self, dim: int, index: Any, source: Any) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        source = source._cast(self.dtype) if isinstance(source, TensorBase) else source
        return apply(ops.IndexPut, self, source, steps=((slice(None),) * d + (idx,),))

    def select_scatter(self, src: Any, dim: int, index: int) -> Tensor:
        """self with self.select(dim, index) replaced by src (out of place)."""
        d = _dim(dim, self.ndim)
        return self._view_scatter(src, ops.Index, steps=_index_steps((slice(None),) * d + (index,)))

    def slice_scatter(
        self,
        src: Any,
        dim: int = 0,
        start: int | None = None,
        end: int | None = None,
        step: int = 1,
    ) -> Tensor:
        d = _dim(dim, self.ndim)
        index = (slice(None),) * d + (slice(start, end, step),)
        return self._view_scatter(src, ops.Index, steps=_index_steps(index))

    def diagonal_scatter(self, src: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        return self._view_scatter(src, ops.Diagonal, offset=builtins.int(offset), dim1=d1, dim2=d2)

    def _view_scatter(self, src: Any, view_op: type[ops.Function], **options: Any) -> Tensor:
        value = _lift(src, self)._cast(self.dtype)
        expected = apply(view_op, self, **options).shape
        if value.shape != expected:
            raise ShapeError(f"the source has shape {value.shape}, the slot it fills {expected}")
        return apply(ops.ViewScatter, self, value, chain=((view_op, options),))

    def masked_scatter(self, mask: Any, source: Any) -> Tensor:
        m = np.broadcast_to(np.asarray(_arr(mask)), self.shape)
        count = builtins.int(m.sum())
        values = _lift(source, self).reshape(-1)[:count]
        return apply(ops.IndexPut, self, values._cast(self.dtype), steps=(m,))

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        return apply(ops.IndexPut, self, value, steps=((slice(None),) * d + (idx,),))

    def index_put(self, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
        steps = _index_steps(tuple(indices))
        return apply(ops.IndexPut, self, values, steps=steps, accumulate=accumulate)


def _check_bounds(name: str, index: Any, size: int, dim: int) -> None:
    """PyTorch's gather and scatter take indices in [0, size)."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index.max() if index.max() >= size else index.min()
        raise TensorError(
            f"{name}: index {builtins.int(bad)} is out of bounds for dim {dim} of size {size}"
        )
