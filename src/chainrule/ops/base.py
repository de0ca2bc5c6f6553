"""The contract every op follows: forward and backward on NumPy arrays, side by side.

Ops never see a Tensor, so a backward cannot build a graph by accident and an op can be tested
without the engine. ``graph.apply`` runs ``forward``; ``Tensor.backward`` runs ``backward`` and
sums each returned gradient back to its input's shape.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
Grads = Array | None | tuple[Array | None, ...]


class Context:
    """What forward leaves for backward: saved arrays, non-array arguments, needed gradients."""

    __slots__ = ("__dict__", "__weakref__", "needs_input_grad", "saved")

    # True while the op's last backward runs (the graph is not retained): what the context
    # saved is read for the last time, so an op may hand its own buffers back for reuse.
    last_use = False

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved: tuple[Any, ...] = ()

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays for backward. The engine records the version of every input (and of the
        output) that a saved array shares memory with, so that an in-place change to one of them
        before backward is an error instead of a silently wrong gradient."""
        self.saved = arrays


class Function:
    """A differentiable primitive. Subclasses define ``forward`` and ``backward`` as staticmethods.

    ``forward(ctx, *arrays, **options) -> Array``: the arrays arrive promoted to one dtype
    (PyTorch's rules); options are passed as they are. Arrays the backward needs go through
    ``ctx.save_for_backward``, never other ctx attributes.

    ``backward(ctx, grad_out) -> one gradient per array input`` (``None`` where
    ``ctx.needs_input_grad`` says it is not needed), each of the input's shape or broadcastable
    to it. ``grad_out`` is read-only: it may be shared with other branches of the graph. A
    returned gradient may be ``grad_out`` itself or a view; the engine copies whatever it cannot
    prove to be exclusively its own before it becomes a ``.grad``.
    """

    differentiable: ClassVar[bool] = True
    # Integer and bool inputs compute in the default float type (exp, division, mean), as PyTorch.
    float_output: ClassVar[bool] = False
    # Inputs are promoted to one dtype; an op that takes, say, floats and indices says False.
    promotes: ClassVar[bool] = True

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Array:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        raise NotImplementedError


def constant_like(value: float, a: Array) -> Array:
    """A scalar in ``a``'s dtype, so that constants never upcast float32 to float64."""
    return np.asarray(value, dtype=a.dtype)
