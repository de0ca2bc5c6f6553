"""Matrix products: matmul with NumPy's (and PyTorch's) batch broadcasting."""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads


class MatMul(Function):
    """z = a @ b;  dz/da = grad @ bᵀ,  dz/db = aᵀ @ grad (batch axes broadcast as in NumPy)."""

    @staticmethod
    def forward(ctx: Context, a: Array, b: Array) -> Array:
        da, db = ctx.needs_input_grad
        ctx.save_for_backward(a if db else None, b if da else None)
        ctx.ndims = (a.ndim, b.ndim)
        return np.asarray(a @ b)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, b = ctx.saved
        da, db = ctx.needs_input_grad
        a_ndim, b_ndim = ctx.ndims
        # Promote vectors to matrices so that one formula covers every case; undo it after.
        g = grad_out
        if a_ndim == 1:
            g = g[..., None, :] if b_ndim > 1 else g[..., None]  # (..., 1, K) or (1,)
        if b_ndim == 1:
            g = g[..., None]  # (..., N, 1)
        grad_a = grad_b = None
        if da:
            b2 = b[:, None] if b_ndim == 1 else b  # (D, 1) for a vector
            grad_a = g @ np.swapaxes(b2, -1, -2)
            if a_ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if db:
            a2 = a[None, :] if a_ndim == 1 else a  # (1, D) for a vector
            grad_b = np.swapaxes(a2, -1, -2) @ g
            if b_ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b
