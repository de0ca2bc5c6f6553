"""Layer normalisation as one primitive.

Composed from mean, subtract, square, mean, add, rsqrt, multiply and add, layer norm records
about ten nodes and as many full-size temporaries; it sits twice in every transformer block, so
it is fused: the forward saves the normalised values and 1/std, the backward is one formula.
(Batch norm is in ``conv``; group norm reuses this op on a (N, G, C/G·spatial) view.)
"""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads, constant_like


class LayerNorm(Function):
    """z = x̂·w + b, x̂ = (x - mean)/√(var + eps) over the last ``normalized_ndim`` axes;
    dz/dx = (1/std)·(g - mean(g) - x̂·mean(g·x̂)) with g = grad·w,  dz/dw = Σ grad·x̂,  dz/db = Σ grad.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: Array,
        weight: Array | None = None,
        bias: Array | None = None,
        *,
        normalized_ndim: int = 1,
        eps: float = 1e-5,
    ) -> Array:
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.square(centered).mean(axis=axes, keepdims=True)  # biased, as PyTorch
        rstd = 1 / np.sqrt(var + constant_like(eps, x))
        normalized = centered * rstd
        ctx.save_for_backward(normalized, rstd, weight)
        ctx.axes = axes
        if weight is None and bias is None:
            return normalized
        out = normalized * weight if weight is not None else normalized.copy()
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        normalized, rstd, weight = ctx.saved
        axes = ctx.axes
        dx, dw, db = ctx.needs_input_grad
        leading = tuple(range(grad_out.ndim - len(axes)))  # the axes that are not normalised
        grad_x = None
        if dx:
            g = grad_out * weight if weight is not None else grad_out
            grad_x = rstd * (
                g
                - g.mean(axis=axes, keepdims=True)
                - normalized * (g * normalized).mean(axis=axes, keepdims=True)
            )
        return (
            grad_x,
            (grad_out * normalized).sum(axis=leading) if dw else None,
            grad_out.sum(axis=leading) if db else None,
        )
