"""``chainrule.autograd``, as ``torch.autograd``: gradients without ``.grad`` (``grad``),
backward from several tensors at once, custom differentiable functions (``Function``),
``gradcheck``, and the grad-mode switches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from . import ops
from .errors import ChainruleError
from .gradcheck import gradcheck as _gradcheck
from .graph import TensorBase, apply, make_tensor
from .tensor import (
    Node,
    Tensor,
    _accumulate,
    _run_backward,
    _seed,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    no_grad,
    set_grad_enabled,
)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Σ backward from each tensor (with its gradient), accumulated into the leaves' ``.grad``."""
    outs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    seeds = (
        [None] * len(outs)
        if grad_tensors is None
        else ([grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    )
    for i, (out, seed) in enumerate(zip(outs, seeds, strict=True)):
        if create_graph:
            out.backward(seed, create_graph=True)
        keep = bool(retain_graph) or i < len(outs) - 1
        _accumulate(_run_backward(out, _seed(out, seed), keep, inputs))


class FunctionCtx:
    """What a custom Function's forward leaves for its backward, as PyTorch's ``ctx``."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors

    def mark_dirty(self, *tensors: Any) -> None:
        raise ChainruleError(
            "custom Functions that change their inputs in place (mark_dirty) are not supported; "
            "return a new tensor"
        )

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Accepted: outputs of integer dtype get no gradient anyway."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class Function:
    """A differentiable function written by the user, as ``torch.autograd.Function``::

        class Square(chainrule.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return 2 * x * grad_output

        y = Square.apply(x)

    forward runs under no_grad on tensors; backward gets one gradient per output and returns
    one per forward argument (None for arguments that are not tensors). One output tensor.
    """

    _primitives: ClassVar[dict[type, type[ops.Function]]] = {}

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, TensorBase))
        primitive = Function._primitives.get(cls)
        if primitive is None:
            primitive = type(cls.__name__, (_UserFunction,), {"function": cls})
            Function._primitives[cls] = primitive
        return apply(
            primitive, *(args[i] for i in positions), args=args, positions=positions, kwargs=kwargs
        )


class _UserFunction(ops.Function):
    """The op behind a custom Function: its forward and backward called with tensors."""

    function: ClassVar[type[Function]]
    promotes = False  # the user's inputs keep their dtypes (floats beside indices)

    @classmethod
    def forward(  # type: ignore[override]
        cls, ctx: ops.Context, *arrays: Any, args: Any, positions: Any, kwargs: Any
    ) -> Any:
        call = list(args)
        for i, array in zip(positions, arrays, strict=True):
            call[i] = make_tensor(array)
        needs = [False] * len(args)
        for i, need in zip(positions, ctx.needs_input_grad, strict=True):
            needs[i] = need
        user = FunctionCtx(tuple(needs))
        with no_grad():
            out = cls.function.forward(user, *call, **kwargs)
        if not isinstance(out, TensorBase):
            raise ChainruleError(
                f"{cls.__name__}.forward returned {type(out).__name__}: custom Functions with "
                "several or non-tensor outputs are not supported"
            )
        # Saved tensors' arrays go through the engine's own saving, for its version checks.
        ctx.save_for_backward(*(t.array for t in user.saved_tensors if isinstance(t, TensorBase)))
        ctx.user, ctx.positions, ctx.count = user, positions, len(args)
        return out.array

    @classmethod
    def backward(cls, ctx: ops.Context, grad_out: Any) -> Any:  # type: ignore[override]
        with no_grad():
            grads = cls.function.backward(ctx.user, make_tensor(grad_out))
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < ctx.count:
            grads = grads + (None,) * (ctx.count - len(grads))
        result = []
        for i in ctx.positions:
            g = grads[i]
            result.append(
                None if g is None else np.asarray(g.array if isinstance(g, TensorBase) else g)
            )
        return tuple(result)


def gradcheck(
    func: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_: Any,
) -> bool:
    """``torch.autograd.gradcheck``: True when backprop matches float64 finite differences;
    raises (or returns False) otherwise. chainrule.gradcheck gives the per-tensor table."""
    result = _gradcheck(func, inputs, eps=eps, tolerance=max(rtol, atol), atol=1e-3)
    if not result.passed and raise_exception:
        raise ChainruleError(f"gradcheck failed\n{result}")
    return result.passed


class set_detect_anomaly:  # noqa: N801 (PyTorch's name)
    """``set_detect_anomaly(True)`` checks every op's output from now on (or, as a context
    manager, inside the block), raising at the first op that makes NaN or Inf."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = _anomaly_mode[0] is not None
        _set_anomaly(bool(mode) and check_nan)

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc: object) -> None:
        _set_anomaly(self._previous)


_anomaly_mode: list[Any] = [None]


def _set_anomaly(on: bool) -> None:
    active = _anomaly_mode[0]
    if on and active is None:
        manager = detect_anomaly()
        manager.__enter__()
        _anomaly_mode[0] = manager
    elif not on and active is not None:
        active.__exit__(None, None, None)
        _anomaly_mode[0] = None


def is_anomaly_enabled() -> bool:
    return _anomaly_mode[0] is not None


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """PyTorch's old wrapper: today a Variable is a Tensor."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


__all__ = [
    "Function",
    "FunctionCtx",
    "Node",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
