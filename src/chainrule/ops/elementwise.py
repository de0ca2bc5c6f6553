"""Elementwise arithmetic and functions. Broadcasting is undone by the engine, not here."""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads


class Add(Function):
    """z = a + b;  dz/da = 1,  dz/db = 1."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out, grad_out


class Sub(Function):
    """z = a - b;  dz/da = 1,  dz/db = -1."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b;  dz/da = b,  dz/db = a."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out * b if da else None), (grad_out * a if db else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b,  dz/db = -a/b²."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out / b if da else None), (-grad_out * a / (b * b) if db else None)


class Neg(Function):
    """z = -a;  dz/da = -1."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return -a

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return -grad_out


class Pow(Function):
    """z = a ** b;  dz/da = b·a^(b-1),  dz/db = a^b·ln(a)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b, out = ctx.saved
        da, db = ctx.needs_input_grad
        grad_a = grad_out * b * a ** (b - 1) if da else None
        grad_b = None
        if db:
            # ln(a) is undefined for a <= 0; PyTorch returns NaN there too, but we keep 0 at a == 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = np.where(a == 0, 0, grad_out * out * np.log(a)).astype(out.dtype)
        return grad_a, grad_b


class Exp(Function):
    """z = e^a;  dz/da = z (saved output)."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * ctx.saved[0]


class Log(Function):
    """z = ln(a);  dz/da = 1/a."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out / ctx.saved[0]


class Sqrt(Function):
    """z = √a;  dz/da = 1/(2z) (saved output)."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out / (2 * ctx.saved[0])


class Abs(Function):
    """z = |a|;  dz/da = sign(a) (0 at a = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * np.sign(ctx.saved[0])


class Clip(Function):
    """z = min(max(a, low), high);  dz/da = 1 where low <= a <= high, else 0."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, low: float | None, high: float | None) -> Array:
        if ctx.needs_input_grad[0]:
            inside = np.ones(a.shape, dtype=bool)
            if low is not None:
                inside &= a >= low
            if high is not None:
                inside &= a <= high
            ctx.save_for_backward(inside)
        return np.clip(a, low, high)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * ctx.saved[0]


class Where(Function):
    """z = a where condition else b;  dz/da = condition,  dz/db = not condition."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array, *, condition: Array) -> Array:
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (condition,) = ctx.saved
        da, db = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad_out.dtype)
        return (
            np.where(condition, grad_out, zero) if da else None,
            np.where(condition, zero, grad_out) if db else None,
        )
