"""Tensor methods that move values: reshape/view, squeeze, expand, repeat, flip, roll, transpose
and permute (negative dims everywhere), narrow/chunk/split, triangles and diagonals."""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from ..arguments import _dim, _is_dtype, _shape_args, numpy_aliases
from ..errors import ChainruleError, ShapeError, TensorError
from ..graph import (
    _arr,
    apply,
    make_tensor,
)

if TYPE_CHECKING:
    from ..tensor import Tensor


class ShapeMethods:
    __slots__ = ()

    def reshape(self, *shape: Any) -> Tensor:
        target = _shape_args(shape)
        if target != self.shape:
            known = math.prod(d for d in target if d != -1)
            size = self.array.size
            if target.count(-1) == 0:
                valid = known == size
            else:
                valid = target.count(-1) == 1 and (size % known == 0 if known else size == 0)
            if not valid or builtins.any(d < -1 for d in target):
                raise ShapeError(
                    f"shape {target} is invalid for a tensor of {size} elements "
                    f"(shape {self.shape})"
                )
        return apply(ops.Reshape, self, shape=target)

    def view(self, *shape: Any) -> Tensor:
        """The same memory seen with another shape; refused where that needs a copy (use
        reshape), as PyTorch refuses it."""
        if len(shape) == 1 and _is_dtype(shape[0]):
            raise ChainruleError("view(dtype) is not supported; use to(dtype)")
        out = self.reshape(*shape)
        if out.array.size and not np.may_share_memory(out.array, self.array):
            raise TensorError(
                f"view size {out.shape} is not compatible with the input tensor's size and "
                f"strides (shape {self.shape}, not contiguous): use reshape(), which copies"
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        if start == end:
            return self  # nothing to flatten: PyTorch returns the tensor itself
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 not in sizes and math.prod(sizes) != self.shape[d]:
            raise ShapeError(
                f"unflatten: sizes {sizes} do not multiply to dim {d}'s size {self.shape[d]}"
            )
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1 :])

    @numpy_aliases
    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop dims of size 1 (all, or the given ones; a given dim of another size stays)."""
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
            drop = {_dim(d, self.ndim) for d in dims}
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in drop and n == 1))
        return self.reshape(shape)

    @numpy_aliases
    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def expand(self, *sizes: Any) -> Tensor:
        """A broadcast view: -1 keeps a dim, new dims are added in front (no copy)."""
        target = _shape_args(sizes)
        extra = len(target) - self.ndim
        if extra < 0:
            raise ShapeError(f"expand: {target} has fewer dims than the tensor's {self.shape}")
        shape = tuple(
            self.shape[i - extra] if n == -1 and i >= extra else n for i, n in enumerate(target)
        )
        try:
            valid = np.broadcast_shapes(self.shape, shape) == shape
        except ValueError:
            valid = False
        if not valid or builtins.any(n < 0 for n in shape):
            raise ShapeError(f"expand: shape {self.shape} cannot be expanded to {target}")
        return apply(ops.Expand, self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor sizes[i] times along dim i (new dims in front), as torch.repeat."""
        reps = _shape_args(sizes)
        if len(reps) < self.ndim:
            raise ShapeError(f"repeat: {len(reps)} repeats for a tensor of {self.ndim} dims")
        x = self.reshape((1,) * (len(reps) - self.ndim) + self.shape)
        return apply(ops.Tile, x, reps=reps)

    def tile(self, *dims: Any) -> Tensor:
        reps = _shape_args(dims)
        reps = (1,) * (self.ndim - len(reps)) + reps
        return self.repeat(*reps)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        d = _dim(dim, self.ndim)
        counts = np.broadcast_to(np.asarray(_arr(repeats)), (self.shape[d],))
        index = np.repeat(np.arange(self.shape[d]), counts)
        return self.index_select(d, index)

    @numpy_aliases
    def flip(self, *dims: Any, **kwargs: Any) -> Tensor:
        if "dims" in kwargs:
            dims = (kwargs.pop("dims"),)
        if kwargs:
            raise TypeError(f"flip() got unexpected arguments {sorted(kwargs)}")
        axes = _shape_args(dims) if dims else ()
        normalised = tuple(_dim(d, self.ndim) for d in axes)
        if len(set(normalised)) != len(normalised):
            raise ShapeError(f"flip: dims {axes} name a dimension more than once")
        if self.ndim == 0:
            return self.clone()
        return apply(ops.Flip, self, axes=tuple(sorted(normalised)))

    def fliplr(self) -> Tensor:
        return self.flip(1)

    def flipud(self) -> Tensor:
        return self.flip(0)

    @numpy_aliases
    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        shift = (shifts,) if isinstance(shifts, int | np.integer) else tuple(shifts)
        if dims is None:
            if len(shift) != 1:
                raise ShapeError(f"roll: {len(shift)} shifts need as many dims, got none")
            return apply(ops.Roll, self, shifts=shift, axes=None)
        axes = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
        if len(axes) != len(shift):
            raise ShapeError(f"roll: {len(shift)} shifts for {len(axes)} dims")
        return apply(ops.Roll, self, shifts=shift, axes=tuple(_dim(d, self.ndim) for d in axes))

    def transpose(self, *dims: Any) -> Tensor:
        """``transpose(d0, d1)`` swaps two dims, as in PyTorch. NumPy's spellings stay as
        aliases: ``transpose()`` reverses every dim, three or more dims (or one sequence) are
        a permutation."""
        if len(dims) == 2 and builtins.all(isinstance(d, int | np.integer) for d in dims):
            if self.ndim == 0:
                _dim(dims[0], 0), _dim(dims[1], 0)
                return self.reshape(())
            d0, d1 = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
            order = list(range(self.ndim))
            order[d0], order[d1] = order[d1], order[d0]
            return apply(ops.Transpose, self, axes=tuple(order))
        if not dims:
            return self.T
        return self.permute(*dims)

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor of at most 2 dims, got shape {self.shape}")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        order = tuple(_dim(d, self.ndim) for d in _shape_args(dims)) if dims else ()
        if sorted(order) != list(range(self.ndim)):
            raise ShapeError(
                f"permute: {tuple(_shape_args(dims)) if dims else ()} is not a permutation of the "
                f"{self.ndim} dims of a tensor of shape {self.shape}"
            )
        return apply(ops.Transpose, self, axes=order)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        src = (source,) if isinstance(source, int | np.integer) else tuple(source)
        dst = (destination,) if isinstance(destination, int | np.integer) else tuple(destination)
        if len(src) != len(dst):
            raise ShapeError(f"movedim: {len(src)} source dims but {len(dst)} destinations")
        src = tuple(_dim(d, self.ndim) for d in src)
        if self.ndim == 0:
            _ = tuple(_dim(d, 0) for d in dst)
            return self.reshape(())
        dst = tuple(_dim(d, self.ndim) for d in dst)
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return self.permute(*order)

    moveaxis = movedim

    @numpy_aliases
    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = _dim(dim, self.ndim)
        start = builtins.int(start) % self.shape[d] if start < 0 else builtins.int(start)
        if start + length > self.shape[d] or length < 0:
            raise ShapeError(f"narrow: {start} + {length} exceeds dim {d}'s size {self.shape[d]}")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    @numpy_aliases
    def select(self, dim: int, index: int) -> Tensor:
        d = _dim(dim, self.ndim)
        return self[(slice(None),) * d + (index,)]

    @numpy_aliases
    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    @numpy_aliases
    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        size = -(-self.shape[d] // chunks) if chunks > 0 else 0
        if chunks <= 0:
            raise ShapeError(f"chunk expects a positive number of chunks, got {chunks}")
        return self.split(builtins.max(size, 1), d)

    @numpy_aliases
    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, int | np.integer):
            size = builtins.int(split_size_or_sections)
            if size <= 0:
                raise ShapeError(f"split_size must be positive, got {size}")
            bounds = [*list(range(0, n, size)), n]
            if n == 0:
                bounds = [0, 0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ShapeError(f"split sizes {sizes} do not add up to dim {d}'s size {n}")
            bounds = [0, *itertools.accumulate(sizes)]
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(bounds))

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(indices_or_sections, int | np.integer):
            k = builtins.int(indices_or_sections)
            bounds = [i * (n // k) + builtins.min(i, n % k) for i in range(k + 1)]
        else:
            bounds = [0, *indices_or_sections, n]
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(bounds))

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return self.split(list(split_sizes), dim)

    def hsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return self.tensor_split(sections, 0 if self.ndim == 1 else 1)

    def vsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return self.tensor_split(sections, 0)

    def dsplit(self, sections: Any) -> tuple[Tensor, ...]:
        return self.tensor_split(sections, 2)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotate by 90° k times from dims[0] towards dims[1], as torch.rot90."""
        d0, d1 = (_dim(d, self.ndim) for d in dims)
        k %= 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of ``size`` along ``dimension``, every ``step``, as a new last dim (a
        read-only view), as torch.Tensor.unfold."""
        d = _dim(dimension, self.ndim)
        length = self.shape[d] if self.ndim else 1
        if size > length or size < 0 or step <= 0:
            raise ShapeError(
                f"unfold: windows of {size} every {step} do not fit dim {d} of size {length}"
            )
        if self.ndim == 0:
            return self.reshape(1)
        return apply(ops.Unfold, self, axis=d, size=builtins.int(size), step=builtins.int(step))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        """x[i + 1] - x[i] along dim, n times (prepend/append join the ends first)."""
        d = _dim(dim, self.ndim)
        x = self
        if prepend is not None or append is not None:
            parts = [p for p in (prepend, self, append) if p is not None]
            x = apply(ops.Concatenate, *parts, axis=d)
        for _ in range(n):
            length = x.shape[d]
            x = x.narrow(d, 1, length - 1) - x.narrow(d, 0, length - 1)
        return x

    def tril(self, diagonal: int = 0) -> Tensor:
        return self._triangle(np.tril, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return self._triangle(np.triu, diagonal)

    def _triangle(self, make: Callable[..., Any], diagonal: int) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(f"tril/triu need at least 2 dims, got shape {self.shape}")
        keep = make(np.ones(self.shape[-2:], dtype=bool), diagonal)
        return apply(ops.Where, self, np.zeros((), dtype=self.dtype), condition=keep)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal as a view (writing into it writes into the tensor), as a last dim."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        if d1 == d2:
            raise ShapeError(f"diagonal: dim1 and dim2 are the same dim ({d1})")
        return apply(ops.Diagonal, self, offset=builtins.int(offset), dim1=d1, dim2=d2)

    def fill_diagonal_(self, fill_value: Any, wrap: builtins.bool = False) -> Tensor:
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise ShapeError(
                f"fill_diagonal_ needs a matrix or a tensor with all dims equal, got {self.shape}"
            )
        if self.ndim > 2:
            n = self.shape[0]
            index = tuple(np.arange(n) for _ in range(self.ndim))
            self[index] = fill_value
            return self
        rows, cols = self.shape
        if wrap and rows > cols + 1:
            # Below the square, the diagonal starts again every cols + 1 rows (NumPy's wrap).
            for start in range(0, rows, cols + 1):
                self[start : start + cols].diagonal().fill_(fill_value)
            return self
        self.diagonal().fill_(fill_value)
        return self

    def diag(self, diagonal: int = 0) -> Tensor:
        if self.ndim == 1:
            n = self.shape[0] + builtins.abs(diagonal)
            rows = np.arange(self.shape[0]) + builtins.max(0, -diagonal)
            out = zeros_like_tensor(self, (n, n))
            return apply(ops.IndexPut, out, self, steps=((rows, rows + diagonal),))
        return self.diagonal(diagonal)

    def trace(self) -> Tensor:
        return self.diagonal().sum()


def zeros_like_tensor(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return make_tensor(np.zeros(shape, dtype=t.dtype))
