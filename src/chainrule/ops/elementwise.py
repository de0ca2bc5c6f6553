"""Elementwise arithmetic and functions. Broadcasting is undone by the engine, not here.

Derivatives and their values at the edges (x ** 0 at 0, ties of maximum, clamp's bounds) are
PyTorch's, so that gradients agree with it everywhere, not only away from the edges.
"""

from __future__ import annotations

import numpy as np

from . import special
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
        da, db = ctx.needs_input_grad
        ctx.save_for_backward(a if db else None, b if da else None)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out * b if da else None), (grad_out * a if db else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b,  dz/db = -a/b²."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
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
    """z = a ** b;  dz/da = b·a^(b-1) (0 where b = 0),  dz/db = z·ln a (0 where a = 0, b >= 0)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        if a.dtype.kind in "iu" and (b < 0).any():
            # Integer powers as PyTorch: 1 -> 1, -1 -> ±1, anything else -> 0 for b < 0.
            positive = np.abs(b)
            out = np.where(b < 0, np.where(np.abs(a) == 1, a ** (positive % 2), 0), a**positive)
            return out.astype(a.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = a**b
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b, out = ctx.saved
        da, db = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad_out.dtype)
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if da:
                grad_a = grad_out * b * a ** (b - 1)
                if b.ndim or b == 0:
                    grad_a = np.where(b == 0, zero, grad_a)  # 0·0^-1 would be NaN at a = 0
            if db:
                grad_b = np.where((a == 0) & (b >= 0), zero, grad_out * out * np.log(a))
        return grad_a, grad_b


class Exp(Function):
    """z = e^a;  dz/da = z (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        with np.errstate(over="ignore"):
            out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * ctx.saved[0]


class Exp2(Function):
    """z = 2^a;  dz/da = z·ln 2 (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.exp2(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * ctx.saved[0] * np.asarray(np.log(2), dtype=grad_out.dtype)


class Expm1(Function):
    """z = e^a - 1 (exact near 0);  dz/da = z + 1 (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.expm1(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * (ctx.saved[0] + 1)


class Log(Function):
    """z = ln(a);  dz/da = 1/a."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad_out / ctx.saved[0]


class Log2(Function):
    """z = log₂ a;  dz/da = 1/(a·ln 2)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out / (ctx.saved[0] * np.asarray(np.log(2), dtype=grad_out.dtype))


class Log10(Function):
    """z = log₁₀ a;  dz/da = 1/(a·ln 10)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out / (ctx.saved[0] * np.asarray(np.log(10), dtype=grad_out.dtype))


class Log1p(Function):
    """z = ln(1 + a) (exact near 0);  dz/da = 1/(1 + a)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out / (ctx.saved[0] + 1)


class Sqrt(Function):
    """z = √a;  dz/da = 1/(2z) (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        with np.errstate(invalid="ignore"):
            out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        with np.errstate(divide="ignore"):
            return grad_out / (2 * ctx.saved[0])


class Rsqrt(Function):
    """z = 1/√a;  dz/da = -z³/2 (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1 / np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return grad_out * out * out * out * np.asarray(-0.5, dtype=grad_out.dtype)


class Reciprocal(Function):
    """z = 1/a;  dz/da = -z² (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        with np.errstate(divide="ignore"):
            out = 1 / a
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return -grad_out * out * out


class Square(Function):
    """z = a²;  dz/da = 2a."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * 2 * ctx.saved[0]


class Sin(Function):
    """z = sin a;  dz/da = cos a."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * np.cos(ctx.saved[0])


class Cos(Function):
    """z = cos a;  dz/da = -sin a."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return -grad_out * np.sin(ctx.saved[0])


class Tan(Function):
    """z = tan a;  dz/da = 1 + z² (saved output)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        out = np.tan(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        out = ctx.saved[0]
        return grad_out * (1 + out * out)


class Asin(Function):
    """z = arcsin a;  dz/da = 1/√(1 - a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arcsin(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad_out / np.sqrt(1 - a * a)


class Acos(Function):
    """z = arccos a;  dz/da = -1/√(1 - a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arccos(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return -grad_out / np.sqrt(1 - a * a)


class Atan(Function):
    """z = arctan a;  dz/da = 1/(1 + a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.arctan(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        return grad_out / (1 + a * a)


class Atan2(Function):
    """z = atan2(a, b);  dz/da = b/(a² + b²),  dz/db = -a/(a² + b²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad_out / (a * a + b * b)
        return (scale * b if da else None), (-scale * a if db else None)


class Sinh(Function):
    """z = sinh a;  dz/da = cosh a."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.sinh(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * np.cosh(ctx.saved[0])


class Cosh(Function):
    """z = cosh a;  dz/da = sinh a."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.cosh(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * np.sinh(ctx.saved[0])


class Asinh(Function):
    """z = arsinh a;  dz/da = 1/√(a² + 1)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.arcsinh(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        return grad_out / np.sqrt(a * a + 1)


class Acosh(Function):
    """z = arcosh a (a >= 1);  dz/da = 1/√(a² - 1)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return np.arccosh(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return grad_out / np.sqrt(a * a - 1)


class Atanh(Function):
    """z = artanh a (|a| < 1);  dz/da = 1/(1 - a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.arctanh(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        with np.errstate(divide="ignore"):
            return grad_out / (1 - a * a)


class Erf(Function):
    """z = erf a;  dz/da = 2/√π · e^(-a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return special.erf(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        return grad_out * np.asarray(2 / np.sqrt(np.pi), dtype=a.dtype) * np.exp(-(a * a))


class Erfc(Function):
    """z = erfc a = 1 - erf a (exact in the tail);  dz/da = -2/√π · e^(-a²)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return special.erfc(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a = ctx.saved[0]
        return grad_out * np.asarray(-2 / np.sqrt(np.pi), dtype=a.dtype) * np.exp(-(a * a))


class Abs(Function):
    """z = |a|;  dz/da = sign(a) (0 at a = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * np.sign(ctx.saved[0])


class Clamp(Function):
    """z = min(max(a, low), high);  dz/da = 1 where low <= a <= high,  dz/dlow = 1 where a < low,
    dz/dhigh = 1 where a > high (or everywhere when high < low, where z = high)."""

    @staticmethod
    def forward(ctx: Context, a: Array, low: Array | None, high: Array | None) -> Array:
        out = a if low is None else np.maximum(a, low)
        out = out if high is None else np.minimum(out, high)
        da, dlow, dhigh = ctx.needs_input_grad
        inside = below = above = None
        if da:
            inside = np.ones(a.shape, dtype=bool)
            if low is not None:
                inside &= a >= low
            if high is not None:
                inside &= a <= high
        if dlow:
            below = a < low if high is None else (a < low) & (low < high)
        if dhigh:
            above = a > high if low is None else (a > high) | (high < low)
        ctx.save_for_backward(inside, below, above)
        return out if out is not a else a.copy()

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        inside, below, above = ctx.saved
        return tuple(None if mask is None else grad_out * mask for mask in (inside, below, above))


class Maximum(Function):
    """z = max(a, b) elementwise;  dz/da = 1 where a > b, 1/2 at ties, else 0 (dz/db mirrored)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return _split_by_comparison(ctx, grad_out, np.less)


class Minimum(Function):
    """z = min(a, b) elementwise;  dz/da = 1 where a < b, 1/2 at ties, else 0 (dz/db mirrored)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return _split_by_comparison(ctx, grad_out, np.greater)


def _split_by_comparison(ctx: Context, grad_out: Array, loses: np.ufunc) -> Grads:
    """PyTorch's rule: all of the gradient to the winner, half to each at a tie, none to a loser."""
    a, b = ctx.saved
    da, db = ctx.needs_input_grad
    zero, half, one = (np.asarray(v, dtype=grad_out.dtype) for v in (0, 0.5, 1))
    share = np.where(a == b, half, one)
    return (
        grad_out * np.where(loses(a, b), zero, share) if da else None,
        grad_out * np.where(loses(b, a), zero, share) if db else None,
    )


class Fmax(Function):
    """z = max(a, b) ignoring NaN;  dz/da = 1 where a >= b or b is NaN,  dz/db elsewhere."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.fmax(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return _choose(ctx, grad_out, np.greater_equal)


class Fmin(Function):
    """z = min(a, b) ignoring NaN;  dz/da = 1 where a <= b or b is NaN,  dz/db elsewhere."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.fmin(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return _choose(ctx, grad_out, np.less_equal)


def _choose(ctx: Context, grad_out: Array, keeps: np.ufunc) -> Grads:
    """All of the gradient to the input fmax/fmin returned (the first one at a tie)."""
    a, b = ctx.saved
    da, db = ctx.needs_input_grad
    first = keeps(a, b) | np.isnan(b)
    zero = np.zeros((), dtype=grad_out.dtype)
    return (
        np.where(first, grad_out, zero) if da else None,
        np.where(first, zero, grad_out) if db else None,
    )


class Xlogy(Function):
    """z = a·log b, 0 where a = 0 (b not NaN);  dz/da = log b (0 where a = b = 0),  dz/db = a/b."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((a == 0) & ~np.isnan(b), np.zeros((), dtype=a.dtype), a * np.log(b))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad_out.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (
                grad_out * np.where((a == 0) & (b == 0), zero, np.log(b)) if da else None,
                grad_out * a / b if db else None,
            )


class Copysign(Function):
    """z = |a| with the sign of b;  dz/da = sign(a)·sign(z) (0 at a = 0),  dz/db = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        out = np.copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, out = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out * np.sign(a) * np.sign(out) if da else None), (
            np.zeros_like(grad_out) if db else None
        )


class Remainder(Function):
    """z = a - b·floor(a/b) (Python's %, the sign of b);  dz/da = 1,  dz/db = -floor(a/b)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.mod(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out if da else None), (-grad_out * np.floor_divide(a, b) if db else None)


class Fmod(Function):
    """z = a - b·trunc(a/b) (C's fmod, the sign of a);  dz/da = 1,  dz/db = -trunc(a/b)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.fmod(a, b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        return (grad_out if da else None), (-grad_out * np.trunc(a / b) if db else None)


class _Step(Function):
    """A piecewise-constant function: its derivative is 0 wherever it exists, as in PyTorch."""

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return np.zeros_like(grad_out)


class Sign(_Step):
    """z = sign a (-1, 0 or 1);  dz/da = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return np.sign(a)


class Floor(_Step):
    """z = ⌊a⌋;  dz/da = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return np.floor(a) if a.dtype.kind == "f" else a.copy()


class Ceil(_Step):
    """z = ⌈a⌉;  dz/da = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return np.ceil(a) if a.dtype.kind == "f" else a.copy()


class Trunc(_Step):
    """z = a rounded toward 0;  dz/da = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return np.trunc(a) if a.dtype.kind == "f" else a.copy()


class Round(_Step):
    """z = a rounded to ``decimals`` places, halves to even (as PyTorch);  dz/da = 0."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, decimals: int = 0) -> Array:
        return np.round(a, decimals) if a.dtype.kind == "f" else a.copy()


class Frac(Function):
    """z = a - trunc(a);  dz/da = 1."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return a - np.trunc(a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out


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


class Cast(Function):
    """z = a converted to another floating dtype;  dz/da = grad converted back."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, dtype: np.dtype) -> Array:  # type: ignore[type-arg]
        ctx.input_dtype = a.dtype
        return a.astype(dtype)  # always a copy: a cast is never a view

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out.astype(ctx.input_dtype)


class Clone(Function):
    """z = a copied into new memory;  dz/da = 1."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        return a.copy()

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out
