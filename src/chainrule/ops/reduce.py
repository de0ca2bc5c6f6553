"""Reductions and scans over axes: sum, mean, amax/amin, prod, logsumexp, norm, cumsum, cumprod.

Axes arrive normalised by the Tensor methods: a tuple of non-negative ints (empty for a 0-d
input, which reduces nothing, as PyTorch allows dim 0 or -1 there), or None for every axis.
"""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads

Axes = tuple[int, ...] | None


def _expand(grad_out: Array, axes: Axes, keepdims: bool) -> Array:
    """Re-insert the reduced axes of ``grad_out`` so that it broadcasts against the input."""
    if keepdims or axes is None:
        return grad_out  # keepdims kept the axes; a full reduction is a scalar
    return np.expand_dims(grad_out, axes)


def _count(shape: tuple[int, ...], axes: Axes) -> int:
    return int(np.prod(shape if axes is None else [shape[i] for i in axes], dtype=np.int64))


def _spread(grad: Array, shape: tuple[int, ...]) -> Array:
    """grad (broadcastable to shape) spread over shape: a broadcast view, or for a 0-d grad a
    filled array (cheaper than np.broadcast_to's bookkeeping for a loss's small inputs)."""
    if grad.ndim == 0:
        out = np.empty(shape, dtype=grad.dtype)
        out.fill(grad)
        return out
    return np.broadcast_to(grad, shape)


class Sum(Function):
    """z = Σ_axes a;  dz/da = 1 (the gradient is copied back along the summed axes)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False) -> Array:
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        return np.asarray(a.sum(axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return _spread(_expand(grad_out, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    """z = (1/n) Σ_axes a;  dz/da = 1/n."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False) -> Array:
        ctx.shape, ctx.axes, ctx.keepdims = a.shape, axes, keepdims
        if a.size == 0 or a.dtype == np.float16:
            with np.errstate(invalid="ignore", divide="ignore"):  # the mean of nothing is NaN
                return np.asarray(a.mean(axis=axes, keepdims=keepdims))
        # Σ/n by one add-reduce: np.mean's own bookkeeping costs more than the sum itself for
        # the small arrays of a loss.
        total = np.add.reduce(a, axis=axes, keepdims=keepdims)
        ctx.count = a.size // max(np.size(total), 1)
        return np.asarray(total / np.asarray(ctx.count, dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        count = np.asarray(max(getattr(ctx, "count", 1), 1), dtype=grad_out.dtype)
        return _spread(_expand(grad_out, ctx.axes, ctx.keepdims) / count, ctx.shape)


def _extreme_forward(
    ctx: Context, a: Array, axes: Axes, keepdims: bool, reduce: np.ufunc, nan_wins: bool
) -> Array:
    if a.size == 0 or any(a.shape[i] == 0 for i in (axes or ())):
        raise IndexError(
            f"amax/amin: the reduced dims of shape {a.shape} must not be empty (no value to take)"
        )
    out = np.asarray(reduce.reduce(a, axis=axes, keepdims=True))
    if ctx.needs_input_grad[0]:
        winners = a == out
        if nan_wins:  # a NaN maximum's gradient goes to the NaNs, as PyTorch's max()
            winners |= np.isnan(a) & np.isnan(out)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = winners / winners.sum(axis=axes, keepdims=True, dtype=a.dtype)
        ctx.save_for_backward(share)
    ctx.axes, ctx.keepdims = axes, keepdims
    if keepdims:
        return out
    return np.asarray(out.reshape(()) if axes is None else np.squeeze(out, axis=axes))


class Amax(Function):
    """z = max_axes a;  dz/da = 1/k at the k positions that attain the max, else 0 (as amax;
    ``nan_wins``: NaNs attain a NaN max, as max() without a dim)."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False, nan_wins: bool = False
    ) -> Array:
        return _extreme_forward(ctx, a, axes, keepdims, np.maximum, nan_wins)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return ctx.saved[0] * _expand(grad_out, ctx.axes, ctx.keepdims)


class Amin(Function):
    """z = min_axes a;  dz/da = 1/k at the k positions that attain the min, else 0 (as amin)."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False, nan_wins: bool = False
    ) -> Array:
        return _extreme_forward(ctx, a, axes, keepdims, np.minimum, nan_wins)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return ctx.saved[0] * _expand(grad_out, ctx.axes, ctx.keepdims)


def _to_last(a: Array, axes: Axes) -> tuple[Array, tuple[int, ...]]:
    """a with the reduced axes moved to the end and flattened into one: (..., n), and the
    permutation that did it (to undo it on the gradient)."""
    axes = tuple(range(a.ndim)) if axes is None else axes
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    order = kept + axes
    moved = a.transpose(order)
    return moved.reshape((*moved.shape[: len(kept)], -1)), order


class Prod(Function):
    """z = Π_axes a;  dz/da_i = Π_{j≠i} a_j (exclusive products, exact when some a_j = 0)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False) -> Array:
        ctx.axes, ctx.keepdims = axes, keepdims
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a)
        return np.asarray(np.prod(a, axis=axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (a,) = ctx.saved
        if a.size == 0:
            return np.zeros_like(a)
        flat, order = _to_last(a, ctx.axes)  # (..., n)
        ones = np.ones((*flat.shape[:-1], 1), dtype=a.dtype)
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = before * after  # Π_{j<i} a_j · Π_{j>i} a_j, no division by a_i
        moved_shape = tuple(a.shape[i] for i in order)
        grad = others.reshape(moved_shape).transpose(np.argsort(order))
        return grad * _expand(grad_out, ctx.axes, ctx.keepdims)


class LogSumExp(Function):
    """z = log Σ_axes e^a (shifted by the max);  dz/da = e^(a - z) = softmax(a)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, axes: Axes = None, keepdims: bool = False) -> Array:
        peak = np.max(a, axis=axes, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
        peak = np.where(np.isfinite(peak), peak, np.zeros((), dtype=a.dtype))  # all -inf rows
        with np.errstate(divide="ignore"):
            out = np.log(np.exp(a - peak).sum(axis=axes, keepdims=True)) + peak
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        if keepdims:
            return out
        return np.asarray(out.reshape(()) if axes is None else np.squeeze(out, axis=axes))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, out = ctx.saved
        return np.exp(a - out) * _expand(grad_out, ctx.axes, ctx.keepdims)


class Norm(Function):
    """z = (Σ_axes |a|^p)^(1/p);  dz/da = sign(a)·|a|^(p-1) / z^(p-1), 0 where z = 0.

    p = inf (max |a|) and -inf (min |a|) share the gradient among ties; p = 0 counts non-zeros
    and has gradient 0.
    """

    float_output = True

    @staticmethod
    def forward(
        ctx: Context, a: Array, *, p: float = 2.0, axes: Axes = None, keepdims: bool = False
    ) -> Array:
        magnitude = np.abs(a)
        if p == np.inf or p == -np.inf:
            out = (np.max if p > 0 else np.min)(magnitude, axis=axes, keepdims=True)
        elif p == 0:
            out = (magnitude != 0).sum(axis=axes, keepdims=True).astype(a.dtype)
        elif p == 1:
            out = magnitude.sum(axis=axes, keepdims=True)
        elif p == 2:
            out = np.sqrt(np.sum(a * a, axis=axes, keepdims=True))
        else:
            out = np.sum(magnitude**p, axis=axes, keepdims=True) ** (1 / p)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a, out)
        ctx.p, ctx.axes, ctx.keepdims = p, axes, keepdims
        if keepdims:
            return np.asarray(out)
        return np.asarray(out.reshape(()) if axes is None else np.squeeze(out, axis=axes))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, out = ctx.saved
        p = ctx.p
        g = _expand(grad_out, ctx.axes, ctx.keepdims)
        zero = np.zeros((), dtype=a.dtype)
        if p == 0:
            return np.zeros_like(a)
        if p == 1:
            return g * np.sign(a)
        if p == np.inf or p == -np.inf:
            winners = np.abs(a) == out
            share = winners / winners.sum(axis=ctx.axes, keepdims=True, dtype=a.dtype)
            return g * np.sign(a) * share
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                scaled = a / out
            else:
                scaled = np.sign(a) * np.abs(a) ** (p - 1) / out ** (p - 1)
        return g * np.where(out == 0, zero, scaled)


class Cumsum(Function):
    """z_i = Σ_{j<=i} a_j along axis;  dz/da_i = Σ_{j>=i} grad_j (a reversed cumulative sum)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int) -> Array:
        ctx.axis = axis
        return np.cumsum(a, axis=axis, dtype=a.dtype if a.dtype.kind == "f" else None)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        flipped = np.flip(grad_out, ctx.axis)
        return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis)


class Cumprod(Function):
    """z_i = Π_{j<=i} a_j along axis;  dz/da_k = Σ_{i>=k} grad_i · Π_{j<=i, j≠k} a_j."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int) -> Array:
        ctx.axis = axis
        out = np.cumprod(a, axis=axis, dtype=a.dtype if a.dtype.kind == "f" else None)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, out = ctx.saved
        axis = ctx.axis
        if not (a == 0).any():
            # Π_{j<=i, j≠k} a_j = z_i / a_k, so the sum is a reversed cumulative sum over i.
            summed = np.flip(np.cumsum(np.flip(grad_out * out, axis), axis=axis), axis)
            return summed / a
        # With zeros, no division: for each k, the products of a_{k+1..i} by a cumprod
        # masked to start after k (an (n, n) table per row, fine for the lengths scans have).
        x = np.moveaxis(a, axis, -1)  # (..., n)
        g = np.moveaxis(grad_out, axis, -1)
        n = x.shape[-1]
        before = np.cumprod(np.concatenate([np.ones_like(x[..., :1]), x[..., :-1]], -1), -1)
        k = np.arange(n)
        after_k = np.where(k[:, None] < k[None, :], x[..., None, :], np.ones((), x.dtype))
        tails = np.cumprod(after_k, axis=-1)  # (..., k, i): Π_{k<j<=i} a_j for i >= k
        grad = before * np.sum(np.where(k[:, None] <= k[None, :], tails * g[..., None, :], 0), -1)
        return np.moveaxis(grad, -1, axis)


class LogCumSumExp(Function):
    """z_i = log Σ_{j<=i} e^(a_j) along axis (stable: logaddexp.accumulate);
    dz/da_k = Σ_{i>=k} grad_i·e^(a_k - z_i), summed as exps of log-sums so nothing overflows."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int) -> Array:
        out = np.logaddexp.accumulate(a, axis=axis)
        ctx.save_for_backward(a, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, out = ctx.saved
        axis = ctx.axis

        def reversed_logcumsumexp(x: Array) -> Array:
            return np.flip(np.logaddexp.accumulate(np.flip(x, axis), axis=axis), axis)

        with np.errstate(divide="ignore", invalid="ignore"):
            # Positive and negative parts of grad separately: log of a sum of positives.
            positive = reversed_logcumsumexp(
                np.where(grad_out > 0, np.log(grad_out), -np.inf) - out
            )
            negative = reversed_logcumsumexp(
                np.where(grad_out < 0, np.log(-grad_out), -np.inf) - out
            )
            return np.exp(a + positive) - np.exp(a + negative)
