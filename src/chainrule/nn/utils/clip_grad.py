"""Gradient clipping against exploding gradients, as torch.nn.utils.clip_grad_*."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ...errors import NonFiniteError
from ...tensor import Tensor, make_tensor

TensorOrTensors = Tensor | Iterable[Tensor]


def _tensor_list(tensors: TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(array: np.ndarray, norm_type: float) -> float:
    """‖x‖_p of all the elements, accumulated in float64 (p = ±inf: the largest/smallest |x|,
    p = 0: the count of nonzeros), as torch.linalg.vector_norm."""
    if array.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(np.max(np.abs(array)))
    if norm_type == -math.inf:
        return float(np.min(np.abs(array)))
    if norm_type == 0:
        return float(np.count_nonzero(array))
    magnitude = np.abs(array.astype(np.float64, copy=False))
    if norm_type == 2:
        return math.sqrt(float(np.dot(magnitude.ravel(), magnitude.ravel())))
    if norm_type == 1:
        return float(magnitude.sum())
    return float(np.sum(magnitude**norm_type) ** (1.0 / norm_type))


def get_total_norm(
    tensors: TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm of the norms of ``tensors`` (the norm of all their elements together), as a 0-d
    tensor of their dtype.

    Raises:
        NonFiniteError: when error_if_nonfinite and the norm is NaN or infinite.
    """
    arrays = [t.array if isinstance(t, Tensor) else np.asarray(t) for t in _tensor_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return make_tensor(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=dtype)
    total = np.array(_vector_norm(norms, norm_type), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise NonFiniteError(
            f"the total norm of order {norm_type} of the gradients is {float(total)}: some "
            "gradient is NaN or infinite, so clipping cannot rescue this step (lower the "
            "learning rate, normalise inputs), or pass error_if_nonfinite=False"
        )
    return make_tensor(total)


def clip_grads_with_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    total_norm: Any,
    foreach: bool | None = None,
) -> None:
    """Scale every gradient by min(1, max_norm/(total_norm + 1e-6)) in place.

    chainrule leaves the gradients untouched when total_norm is NaN or infinite (PyTorch scales
    them by 0 or NaN, which zeroes the finite ones and turns the rest into NaN).
    """
    grads = [p.grad.array for p in _tensor_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = np.asarray(total_norm.array if isinstance(total_norm, Tensor) else total_norm)
    if not np.isfinite(total):
        return
    # PyTorch's arithmetic, in the norm's dtype: max_norm / (total + 1e-6), clamped at 1.
    coefficient = np.minimum(float(max_norm) / (total + total.dtype.type(1e-6)), 1.0)
    coefficient = coefficient.astype(total.dtype)
    for g in grads:
        g *= coefficient.astype(g.dtype)


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most max_norm.

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` is clipped in place.
        max_norm: the largest norm allowed.
        norm_type: p of the p-norm; ``math.inf`` for the largest absolute value.
        error_if_nonfinite: raise when the norm is NaN or infinite.
        foreach: accepted for PyTorch's signature; NumPy has one kernel.

    Returns:
        The total norm before clipping, a 0-d tensor (inf or nan when a gradient is not finite;
        then the gradients are left untouched).

    Raises:
        NonFiniteError: when error_if_nonfinite and the norm is NaN or infinite.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([0.0, 0.0]))
        >>> w.grad = cr.tensor([3.0, 4.0])
        >>> float(cr.nn.utils.clip_grad_norm_([w], max_norm=1.0))
        5.0
    """
    parameters = _tensor_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_value_(
    parameters: TensorOrTensors, clip_value: float, foreach: bool | None = None
) -> None:
    """Clip every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for p in _tensor_list(parameters):
        if p.grad is not None:
            g = p.grad.array
            np.clip(g, -clip_value, clip_value, out=g)
