"""Activation primitives beyond ReLU/sigmoid/tanh (those live in ``nn``).

Each could be composed from elementwise ops; they are primitives because the composite either
overflows (softplus, log-sigmoid and mish need log(1 + e^x) written as max(x, 0) + log1p(e^-|x|))
or costs several full-size temporaries per call in a hot layer (GELU, SiLU). Hardtanh and
Hardswish are primitives because PyTorch's gradient at their kinks differs from what the
composite (clamp, x·hardsigmoid) would give. Gradients at kinks are PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Array, Context, Function, Grads, constant_like
from .special import erf


def _sigmoid(a: Array) -> Array:
    # σ(a) = (1 + tanh(a/2))/2 never overflows, unlike 1/(1 + e^-a) at a = -1000.
    return 0.5 * (1 + np.tanh(0.5 * a))


def _softplus(a: Array) -> Array:
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for large |a|.
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


class GELU(Function):
    """z = a·Φ(a), Φ the normal CDF (or its tanh approximation);
    dz/da = Φ(a) + a·φ(a) (exact), 0.5(1 + t) + 0.5a(1 - t²)·√(2/π)(1 + 3·0.044715a²) (tanh)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, approximate: str = "none") -> Array:
        ctx.approximate = approximate
        half = constant_like(0.5, a)
        if approximate == "tanh":
            k, c = constant_like(math.sqrt(2 / math.pi), a), constant_like(0.044715, a)
            t = np.tanh(k * (a + c * a * a * a))
            ctx.save_for_backward(a, t)
            return half * a * (1 + t)
        # Φ is saved: erf costs about ten exps, so backward does not evaluate it again.
        cdf = half * (1 + erf(a * constant_like(math.sqrt(0.5), a)))
        ctx.save_for_backward(a, cdf)
        return a * cdf

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, saved = ctx.saved
        half = constant_like(0.5, a)
        if ctx.approximate == "tanh":
            k, c = constant_like(math.sqrt(2 / math.pi), a), constant_like(0.044715, a)
            inner_grad = k * (1 + 3 * c * a * a)
            return grad_out * (half * (1 + saved) + half * a * (1 - saved * saved) * inner_grad)
        pdf = constant_like(1 / math.sqrt(2 * math.pi), a) * np.exp(-half * a * a)
        return grad_out * (saved + a * pdf)


class SiLU(Function):
    """z = a·σ(a);  dz/da = σ(a)·(1 + a·(1 - σ(a)))."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        s = _sigmoid(a)
        ctx.save_for_backward(a, s)
        return a * s

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, s = ctx.saved
        return grad_out * s * (1 + a * (1 - s))


class Softplus(Function):
    """z = log(1 + e^(βa))/β, or a where βa > threshold;  dz/da = σ(βa), or 1 above threshold."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array, *, beta: float = 1.0, threshold: float = 20.0) -> Array:
        scaled = a * constant_like(beta, a)
        linear = scaled > threshold
        ctx.save_for_backward(scaled, linear)
        return np.where(linear, a, _softplus(scaled) / constant_like(beta, a))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        scaled, linear = ctx.saved
        return grad_out * np.where(linear, constant_like(1, scaled), _sigmoid(scaled))


class LogSigmoid(Function):
    """z = log σ(a) = min(a, 0) - log1p(e^-|a|);  dz/da = 1 - σ(a) = σ(-a)."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * _sigmoid(-ctx.saved[0])


class Mish(Function):
    """z = a·tanh(softplus(a));  dz/da = t + a·σ(a)·(1 - t²) with t = tanh(softplus(a))."""

    float_output = True

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        t = np.tanh(_softplus(a))
        ctx.save_for_backward(a, t)
        return a * t

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, t = ctx.saved
        return grad_out * (t + a * _sigmoid(a) * (1 - t * t))


class ELU(Function):
    """z = scale·a for a > 0, else scale·α·(e^(input_scale·a) - 1) (ELU, CELU and SELU);
    dz/da = scale for a > 0, else scale·α·input_scale·e^(input_scale·a) (a = 0 included)."""

    float_output = True

    @staticmethod
    def forward(
        ctx: Context,
        a: Array,
        *,
        alpha: float = 1.0,
        scale: float = 1.0,
        input_scale: float = 1.0,
    ) -> Array:
        positive = a > 0
        # e^(input_scale·a) only where it is used: no overflow warning from large positive a.
        negative_part = np.expm1(np.where(positive, 0, a) * constant_like(input_scale, a))
        ctx.save_for_backward(positive, negative_part)
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        return constant_like(scale, a) * np.where(
            positive, a, constant_like(alpha, a) * negative_part
        )

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        positive, negative_part = ctx.saved
        scale = constant_like(ctx.scale, grad_out)
        negative_slope = constant_like(ctx.scale * ctx.alpha * ctx.input_scale, grad_out)
        return grad_out * np.where(positive, scale, negative_slope * (negative_part + 1))


class Hardtanh(Function):
    """z = clip(a, min_val, max_val);  dz/da = 1 strictly inside (min_val, max_val), else 0
    (0 at both ends, as PyTorch; clamp's gradient there is 1)."""

    @staticmethod
    def forward(ctx: Context, a: Array, *, min_val: float = -1.0, max_val: float = 1.0) -> Array:
        ctx.save_for_backward((a > min_val) & (a < max_val))
        return np.clip(a, constant_like(min_val, a), constant_like(max_val, a))

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return grad_out * ctx.saved[0]


class Hardswish(Function):
    """z = a·relu6(a + 3)/6;  dz/da = 0 for a <= -3, a/3 + 1/2 for -3 < a < 3, 1 for a >= 3."""

    @staticmethod
    def forward(ctx: Context, a: Array) -> Array:
        ctx.save_for_backward(a)
        three = constant_like(3, a)
        return a * np.clip(a + three, 0, 6) / constant_like(6, a)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (a,) = ctx.saved
        three = constant_like(3, a)
        slope = np.where(a <= -three, 0, np.where(a < three, a / three + constant_like(0.5, a), 1))
        return grad_out * slope.astype(grad_out.dtype, copy=False)
