"""Ops that move values without changing them: reshape, transpose, expand, flip, roll, tile,
pad, concatenate.

Reshape, Transpose and Expand return views when NumPy can, as PyTorch's do; the engine tracks
those views so that an in-place change through one is seen by the others. Flip copies (PyTorch's
flip is not a view).
"""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads


class Reshape(Function):
    """z = a viewed with a new shape;  dz/da = grad reshaped back."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, shape: tuple[int, ...]) -> Array:
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out.reshape(ctx.shape)


class Transpose(Function):
    """z = a with axes permuted (a permutation of non-negative axes);  dz/da = grad with the
    inverse permutation."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: tuple[int, ...]) -> Array:
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out.transpose(np.argsort(ctx.axes))


class Expand(Function):
    """z = a broadcast to ``shape`` (a read-only view);  dz/da = grad summed over the broadcast
    axes (the engine's unbroadcast does it)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, shape: tuple[int, ...]) -> Array:
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out


class Flip(Function):
    """z = a reversed along ``axes``;  dz/da = grad reversed along the same axes."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: tuple[int, ...]) -> Array:
        ctx.axes = axes
        return np.flip(a, axes).copy()

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return np.flip(grad_out, ctx.axes)


class Roll(Function):
    """z = a shifted cyclically by ``shifts`` along ``axes`` (flattened when axes is None);
    dz/da = grad shifted back."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, *, shifts: tuple[int, ...], axes: tuple[int, ...] | None
    ) -> Array:
        ctx.shifts, ctx.axes = shifts, axes
        return np.roll(a, shifts if axes is not None else shifts[0], axes)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        back = tuple(-s for s in ctx.shifts)
        return np.roll(grad_out, back if ctx.axes is not None else back[0], ctx.axes)


class Tile(Function):
    """z = a repeated reps[i] times along axis i (len(reps) == a.ndim);  dz/da = Σ over the
    copies of grad."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, reps: tuple[int, ...]) -> Array:
        ctx.shape, ctx.reps = a.shape, reps
        return np.tile(a, reps)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        # (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...), then sum over the r axes.
        split = tuple(d for pair in zip(ctx.reps, ctx.shape, strict=True) for d in pair)
        return grad_out.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


class Pad(Function):
    """z = a framed by ``value`` (widths: (before, after) per axis, non-negative);
    dz/da = the inner block of grad."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, *, widths: tuple[tuple[int, int], ...], value: float = 0.0
    ) -> Array:
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape, strict=True))
        return np.pad(a, widths, constant_values=np.asarray(value, dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out[ctx.inner]


class Concatenate(Function):
    """z = [a1, a2, ...] joined along axis;  dz/da_i = the slice of grad that came from a_i."""

    @staticmethod
    def forward(ctx: Context, *arrays: Array, axis: int = 0) -> Array:
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return tuple(np.split(grad_out, ctx.splits, axis=ctx.axis))


def diagonal_view(a: Array, offset: int, dim1: int, dim2: int) -> Array:
    """The diagonal of dims dim1, dim2 as a view (writeable when a is), moved to the last dim."""
    index = [slice(None)] * a.ndim
    if offset >= 0:
        index[dim2] = slice(offset, None)
    else:
        index[dim1] = slice(-offset, None)
    b = a[tuple(index)]
    n = max(0, min(b.shape[dim1], b.shape[dim2]))
    keep = [i for i in range(a.ndim) if i not in (dim1, dim2)]
    shape = (*(b.shape[i] for i in keep), n)
    strides = (*(b.strides[i] for i in keep), b.strides[dim1] + b.strides[dim2])
    return np.lib.stride_tricks.as_strided(b, shape, strides, writeable=a.flags.writeable)


class Diagonal(Function):
    """z = the diagonal of a over (dim1, dim2), shifted by offset, a view;  dz/da = grad on that
    diagonal, 0 elsewhere."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, offset: int, dim1: int, dim2: int) -> Array:
        ctx.shape, ctx.where = a.shape, (offset, dim1, dim2)
        return diagonal_view(a, offset, dim1, dim2)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        diagonal_view(grad, *ctx.where)[...] = grad_out
        return grad


class Unfold(Function):
    """z[..., i, ..., k] = a[..., i·step + k, ...]: the windows of ``size`` along ``axis``, every
    ``step``, as a new last dim (a read-only view);  dz/da = each window's gradient added back."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int, size: int, step: int) -> Array:
        ctx.shape, ctx.where = a.shape, (axis, size, step)
        windows = np.lib.stride_tricks.sliding_window_view(a, size, axis=axis)
        index = [slice(None)] * windows.ndim
        index[axis] = slice(None, None, step)
        return windows[tuple(index)]

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        axis, size, step = ctx.where
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        count = grad_out.shape[axis]
        for k in range(size):  # offset k of every window lands on k, k + step, k + 2·step, ...
            index = [slice(None)] * grad.ndim
            index[axis] = slice(k, k + step * (count - 1) + 1, step)
            grad[tuple(index)] += grad_out[..., k]
        return grad
