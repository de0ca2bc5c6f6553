"""Ops that move values without changing them: reshape, transpose, indexing, concatenation."""

from __future__ import annotations

from typing import Any

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
    """z = a with axes permuted;  dz/da = grad with the inverse permutation."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: tuple[int, ...] | None = None) -> Array:
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out.transpose(None if ctx.axes is None else np.argsort(ctx.axes))


def _is_basic(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis: such an index never selects an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | slice | type(None) | type(Ellipsis)) for i in items)


class Index(Function):
    """z = a[index];  dz/da = grad scattered back to the selected positions (summed on repeats)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, index: Any) -> Array:
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        grad = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic(ctx.index):
            grad[ctx.index] = grad_out
        else:
            np.add.at(grad, ctx.index, grad_out)  # integer arrays may repeat an index
        return grad


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


class MatMul(Function):
    """z = a @ b;  dz/da = grad @ bᵀ,  dz/db = aᵀ @ grad (batch axes broadcast as in NumPy)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        # Promote vectors to matrices so that one formula covers every case; undo it after.
        a2 = a[None, :] if a.ndim == 1 else a  # (1, D) for a vector
        b2 = b[:, None] if b.ndim == 1 else b  # (D, 1) for a vector
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g = grad_out.reshape((*batch, a2.shape[-2], b2.shape[-1]))  # (..., N, K) with vectors as 1
        grad_a = g @ np.swapaxes(b2, -1, -2) if da else None
        grad_b = np.swapaxes(a2, -1, -2) @ g if db else None
        if grad_a is not None and a.ndim == 1:
            grad_a = grad_a.reshape(grad_a.shape[:-2] + a.shape)
        if grad_b is not None and b.ndim == 1:
            grad_b = grad_b.reshape(grad_b.shape[:-2] + b.shape)
        return grad_a, grad_b
