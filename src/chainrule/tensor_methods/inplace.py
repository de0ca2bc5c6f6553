"""Tensor methods that change a tensor in place: ``+= -= *= /=``, ``add_`` and the other ``*_``
methods, random fills. Each goes through TensorBase._inplace (graph.py), which records it in grad
mode and keeps version counters right."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import grad_mode, ops
from ..errors import ShapeError
from ..graph import (
    TensorBase,
    _arr,
    _bump,
    _check_inplace,
    _lift,
    _requires,
    _scaled,
    _write_error,
    apply,
)
from ..random import generator_of

if TYPE_CHECKING:
    from ..tensor import Tensor


def _twin(name: str) -> Callable[[Tensor], Tensor]:
    """The in-place twin of the unary method ``name``."""

    def method(self: Tensor) -> Tensor:
        return self._inplace(lambda t: getattr(t, name)(), name + "_")

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place {name}: the result is written into this tensor."
    return method


class InplaceMethods:
    __slots__ = ()

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.add, ops.Add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.subtract, ops.Sub, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.multiply, ops.Mul, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.true_divide, ops.Div, other, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t**other, "**=")

    def __imatmul__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t @ other, "@=")

    def __ifloordiv__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t.floor_divide(other), "//=")

    def __imod__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t.remainder(other), "%=")

    def __iand__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t & other, "&=")

    def __ior__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t | other, "|=")

    def __ixor__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t ^ other, "^=")

    def add_(self, other: Any, *args: Any, alpha: Any = 1) -> Tensor:
        other, alpha = _legacy_alpha(other, args, alpha)
        return self._inplace_ufunc(
            np.add, ops.Add, other if alpha == 1 else _scaled(other, alpha), "add_"
        )

    def sub_(self, other: Any, *args: Any, alpha: Any = 1) -> Tensor:
        other, alpha = _legacy_alpha(other, args, alpha)
        return self._inplace_ufunc(
            np.subtract, ops.Sub, other if alpha == 1 else _scaled(other, alpha), "sub_"
        )

    def mul_(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.multiply, ops.Mul, other, "mul_")

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self._inplace_ufunc(np.true_divide, ops.Div, other, "div_")
        return self._inplace(lambda t: t.div(other, rounding_mode=rounding_mode), "div_")

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(lambda t: t**exponent, "pow_")

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.addcmul(tensor1, tensor2, value=value), "addcmul_")

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.addcdiv(tensor1, tensor2, value=value), "addcdiv_")

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return self._inplace(lambda t: t.lerp(end, weight), "lerp_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        if isinstance(value, TensorBase) and value.ndim:
            raise ShapeError(f"fill_ takes a number or a 0-d tensor, got shape {value.shape}")
        return self.copy_(value)

    def copy_(self, src: Any, non_blocking: builtins.bool = False) -> Tensor:
        """Write src (broadcast to this shape, cast to this dtype) into this tensor's memory; in
        grad mode the gradient flows to src, none to the old value."""
        if grad_mode.enabled:
            _check_inplace(self, "copy_")
            if self._requires_grad or _requires(src):
                source = _lift(src, self)._cast(self.dtype)
                everywhere = np.ones((), dtype=bool)
                return self._inplace(
                    lambda t: apply(ops.Where, source, t, condition=everywhere), "copy_"
                )
        try:
            np.copyto(self.array, np.broadcast_to(_arr(src), self.shape), casting="unsafe")
        except ValueError as error:
            raise _write_error("copy_", self, error) from None
        _bump(self)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(lambda t: t.clamp(min, max), "clamp_")

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:
        return self._inplace(lambda t: t.clamp_min(min), "clamp_min_")

    def clamp_max_(self, max: Any) -> Tensor:
        return self._inplace(lambda t: t.clamp_max(max), "clamp_max_")

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace(lambda t: t.masked_fill(mask, value), "masked_fill_")

    def masked_scatter_(self, mask: Any, source: Any) -> Tensor:
        m = np.broadcast_to(np.asarray(_arr(mask)), self.shape)
        count = builtins.int(m.sum())
        values = _lift(source, self).reshape(-1)[:count]
        return self._inplace(
            lambda t: apply(ops.IndexPut, t, values, steps=(m,)), "masked_scatter_"
        )

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        return self._inplace(lambda t: t.index_fill(dim, index, value), "index_fill_")

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.index_add(dim, index, source, alpha=alpha), "index_add_")

    def index_put_(self, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
        return self._inplace(lambda t: t.index_put(indices, values, accumulate), "index_put_")

    def scatter_(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
    ) -> Tensor:
        return self._inplace(
            lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), "scatter_"
        )

    def scatter_reduce_(
        self, dim: int, index: Any, src: Any, reduce: str, *, include_self: builtins.bool = True
    ) -> Tensor:
        return self._inplace(
            lambda t: t.scatter_reduce(dim, index, src, reduce, include_self=include_self),
            "scatter_reduce_",
        )

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(lambda t: t.tril(diagonal), "tril_")

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(lambda t: t.triu(diagonal), "triu_")

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Tensor:
        return self._inplace(lambda t: t.scatter_add(dim, index, src), "scatter_add_")

    # Each in-place twin of a unary function, as in PyTorch (x.relu_() is x.relu() written back).
    abs_ = _twin("abs")
    neg_ = _twin("neg")
    exp_ = _twin("exp")
    log_ = _twin("log")
    sqrt_ = _twin("sqrt")
    rsqrt_ = _twin("rsqrt")
    reciprocal_ = _twin("reciprocal")
    square_ = _twin("square")
    sign_ = _twin("sign")
    sin_ = _twin("sin")
    cos_ = _twin("cos")
    tanh_ = _twin("tanh")
    sigmoid_ = _twin("sigmoid")
    relu_ = _twin("relu")
    floor_ = _twin("floor")
    ceil_ = _twin("ceil")
    round_ = _twin("round")
    trunc_ = _twin("trunc")
    erf_ = _twin("erf")

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.uniform(a, b, self.shape), "uniform_", generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.normal(mean, std, self.shape), "normal_", generator)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.random(self.shape) < _arr(p), "bernoulli_", generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(
            lambda g: g.exponential(1 / lambd, self.shape), "exponential_", generator
        )

    def random_(self, low: int = 0, high: int | None = None, *, generator: Any = None) -> Tensor:
        if high is None:
            low, high = 0, low if low else 2**24
        return self._fill_random(lambda g: g.integers(low, high, self.shape), "random_", generator)

    def _fill_random(
        self, draw: Callable[[np.random.Generator], np.ndarray], name: str, generator: Any
    ) -> Tensor:
        if grad_mode.enabled:
            _check_inplace(self, name)
        return self.copy_(draw(generator_of(generator)))


def _legacy_alpha(other: Any, args: tuple[Any, ...], alpha: Any) -> tuple[Any, Any]:
    """PyTorch's old spelling ``p.add_(-lr, grad)`` (alpha first) beside ``add_(grad, alpha=)``."""
    if not args:
        return other, alpha
    if len(args) == 1 and not isinstance(other, TensorBase) and isinstance(args[0], TensorBase):
        return args[0], other
    raise TypeError("add_/sub_ take (other, *, alpha=1) or the old (alpha, other)")
