"""Neural-network primitives.

Each of these could be composed from the elementwise ops; they are primitives because one fused
forward and backward is either faster (Linear, the activations: one pass, no temporaries) or
numerically stable where the composite is not (log-softmax and the losses use log-sum-exp).
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from .base import Array, Context, Function, Grads


class ReLU(Function):
    """z = max(a, 0);  dz/da = 1 where z > 0, else 0 (saved output)."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = kernels.relu(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return kernels.relu_backward(grad_out, ctx.saved[0])


class LeakyReLU(Function):
    """z = a if a > 0 else slope·a;  dz/da = 1 if a > 0 else slope."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, negative_slope: float = 0.01) -> Array:
        positive = a > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        return np.where(positive, a, a * np.asarray(negative_slope, dtype=a.dtype))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        slope = np.asarray(ctx.slope, dtype=grad_out.dtype)
        return np.where(ctx.saved[0], grad_out, grad_out * slope)


class Sigmoid(Function):
    """z = 1/(1 + e^-a);  dz/da = z(1 - z) (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        # σ(a) = (1 + tanh(a/2))/2 never overflows, unlike 1/(1 + e^-a) at a = -1000.
        out = 0.5 * (1 + np.tanh(0.5 * a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return grad_out * out * (1 - out)


class Tanh(Function):
    """z = tanh(a);  dz/da = 1 - z² (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return grad_out * (1 - out * out)


class Linear(Function):
    """z = x @ Wᵀ + b;  dz/dx = grad @ W,  dz/dW = gradᵀ @ x,  dz/db = Σ_rows grad."""

    @staticmethod
    def forward(ctx: Context, x: Array, weight: Array, bias: Array | None = None) -> Array:
        ctx.save_for_backward(x, weight)
        out = x @ weight.T  # (N, out_features)
        if bias is not None:
            out += bias  # in place: no second (N, out_features) temporary
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        x, weight = ctx.saved
        dx, dw, db = ctx.needs_input_grad
        g2 = grad_out.reshape(-1, grad_out.shape[-1])  # (N, out_features), leading axes folded
        return (
            grad_out @ weight if dx else None,
            g2.T @ x.reshape(-1, x.shape[-1]) if dw else None,  # (out, N) @ (N, in)
            g2.sum(axis=0) if db else None,
        )


class LogSoftmax(Function):
    """z = a - log Σ e^a (log-sum-exp, shifted by the max);  dz/da = grad - softmax·Σ grad."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int = -1) -> Array:
        if a.size == 0:
            ctx.save_for_backward(a.copy())
            ctx.axis = axis
            return a.copy()
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return grad_out - np.exp(out) * grad_out.sum(axis=ctx.axis, keepdims=True)


class Softmax(Function):
    """z = e^a / Σ e^a (shifted by the max);  dz/da = z·(grad - Σ grad·z)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, axis: int = -1) -> Array:
        if a.size == 0:
            ctx.save_for_backward(a.copy())
            ctx.axis = axis
            return a.copy()
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return out * (grad_out - (grad_out * out).sum(axis=ctx.axis, keepdims=True))


class CrossEntropy(Function):
    """z_n = -log softmax(a_n)[y_n] for logits a (N, K);  dz_n/da_n = softmax(a_n) - onehot(y_n).

    ``reduction`` 'mean' or 'sum' returns the 0-d mean or sum of z, fused (one node, not two:
    the training loop's loss, where per-op overhead counts at small batches); 'none' the (N,)
    losses.
    """

    @staticmethod
    def forward(ctx: Context, logits: Array, *, target: Array, reduction: str = "none") -> Array:
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(logits))
        loss = np.log(total[:, 0]) - shifted[rows, target]  # (N,)
        if ctx.needs_input_grad[0]:
            exp /= total  # now softmax probabilities, reused in place
            ctx.save_for_backward(exp, rows, target)
            ctx.reduction = reduction
        if reduction == "mean":
            return np.asarray(loss.mean(), dtype=loss.dtype)
        if reduction == "sum":
            return np.asarray(loss.sum(), dtype=loss.dtype)
        return loss

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        probs, rows, target = ctx.saved
        if ctx.reduction == "none":
            scale = grad_out[:, None]  # (N, 1)
            picked = grad_out
        else:
            picked = grad_out / len(rows) if ctx.reduction == "mean" else grad_out
            scale = picked
        grad = probs * scale  # (N, K)
        grad[rows, target] -= picked
        return grad


class BCEWithLogits(Function):
    """z = max(a,0) - a·t + log(1 + e^-|a|) = BCE(σ(a), t);  dz/da = σ(a) - t,  dz/dt = -a."""

    @staticmethod
    def forward(ctx: Context, logits: Array, target: Array) -> Array:
        ctx.save_for_backward(logits, target)
        return np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        logits, target = ctx.saved
        da, dt = ctx.needs_input_grad
        sigmoid = 0.5 * (1 + np.tanh(0.5 * logits))
        return (grad_out * (sigmoid - target) if da else None), (-grad_out * logits if dt else None)


# PyTorch clamps each log term of BCE at -100 so that p = 0 or 1 gives a finite loss.
_LOG_FLOOR = -100.0
_EPS = 1e-12


class BCE(Function):
    """z = -(t·log p + (1-t)·log(1-p)), logs floored at -100;  dz/dp = (p - t)/(p(1-p))."""

    @staticmethod
    def forward(ctx: Context, p: Array, target: Array) -> Array:
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_q = np.maximum(np.log1p(-p), _LOG_FLOOR)
        ctx.save_for_backward(p, target)
        return -(target * log_p + (1 - target) * log_q)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        p, target = ctx.saved
        dp, dt = ctx.needs_input_grad
        eps = np.asarray(_EPS, dtype=p.dtype)
        target_grad = None
        if dt:  # d/dt = log(1-p) - log p, unclamped (±inf at p = 0 or 1), as PyTorch's
            with np.errstate(divide="ignore"):
                target_grad = grad_out * (np.log1p(-p) - np.log(p))
        return grad_out * (p - target) / np.maximum(p * (1 - p), eps) if dp else None, target_grad
