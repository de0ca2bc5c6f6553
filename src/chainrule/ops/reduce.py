"""Reductions over axes: sum, mean, max."""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads

Axis = int | tuple[int, ...] | None


def _expand(grad_out: Array, ndim: int, axis: Axis, keepdims: bool) -> Array:
    """Re-insert the reduced axes of ``grad_out`` so that it broadcasts against the input."""
    if keepdims or axis is None:
        return grad_out  # keepdims kept the axes; a full reduction is a scalar
    axes = (axis,) if isinstance(axis, int) else axis
    return np.expand_dims(grad_out, tuple(ax % ndim for ax in axes))


class Sum(Function):
    """z = Σ_axis a;  dz/da = 1 (the gradient is copied back along the summed axes)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: Axis = None, keepdims: bool = False) -> Array:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return np.broadcast_to(_expand(grad_out, len(ctx.shape), ctx.axis, ctx.keepdims), ctx.shape)


class Mean(Function):
    """z = (1/n) Σ_axis a;  dz/da = 1/n."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: Axis = None, keepdims: bool = False) -> Array:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        out = np.asarray(a.mean(axis=axis, keepdims=keepdims))
        ctx.count = a.size // max(out.size, 1) if a.size else 1
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        grad = _expand(grad_out, len(ctx.shape), ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)


class Max(Function):
    """z = max_axis a;  dz/da = 1/k at the k positions that attain the max, else 0."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: Axis = None, keepdims: bool = False) -> Array:
        out = np.asarray(a.max(axis=axis, keepdims=True))
        if ctx.needs_input_grad[0]:
            winners = a == out
            ctx.save_for_backward(winners / winners.sum(axis=axis, keepdims=True, dtype=a.dtype))
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return out if keepdims else np.asarray(np.squeeze(out, axis=axis))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (share,) = ctx.saved
        return share * _expand(grad_out, len(ctx.shape), ctx.axis, ctx.keepdims)
