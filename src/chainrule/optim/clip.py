"""Gradient clipping against exploding gradients, as torch.nn.utils.clip_grad_*."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..errors import NonFiniteError
from ..tensor import Tensor


def clip_grad_norm_(
    parameters: Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their joint norm is at most max_norm.

    Returns:
        The total norm before clipping (inf or nan when a gradient is not finite).

    Raises:
        NonFiniteError: when error_if_nonfinite and the norm is NaN or infinite. Without it, a
            non-finite norm leaves the gradients untouched (scaling by nan would spread NaN).
    """
    grads = [p.grad.array for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = float(
            sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
            ** (1.0 / norm_type)
        )
    if not math.isfinite(total):
        if error_if_nonfinite:
            raise NonFiniteError(
                f"the total gradient norm is {total}: some gradient is NaN or infinite, "
                "so clipping cannot rescue this step (lower the learning rate, normalise inputs)"
            )
        return total
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= np.asarray(scale, dtype=g.dtype)
    return total


def clip_grad_value_(parameters: Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value] in place."""
    for p in parameters:
        if p.grad is not None:
            np.clip(p.grad.array, -clip_value, clip_value, out=p.grad.array)
