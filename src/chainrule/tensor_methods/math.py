"""Tensor methods: arithmetic, comparisons and logic, and the elementwise functions, each a call to
one op (or a short composite), as ``torch.Tensor``'s."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes, ops
from ..arguments import _dim, numpy_aliases
from ..errors import ShapeError, TensorError
from ..graph import (
    TensorBase,
    _arr,
    _lift,
    _result_dtype,
    apply,
    make_tensor,
)

if TYPE_CHECKING:
    from ..tensor import Tensor


class MathMethods:
    __slots__ = ()

    def __add__(self, other: Any) -> Tensor:
        return apply(ops.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return apply(ops.Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return apply(ops.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return apply(ops.Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return apply(ops.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return apply(ops.Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply(ops.Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(ops.Div, other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return self.floor_divide(other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _lift(other, self).floor_divide(self)

    def __mod__(self, other: Any) -> Tensor:
        return apply(ops.Remainder, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return apply(ops.Remainder, other, self)

    def __neg__(self) -> Tensor:
        return apply(ops.Neg, self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(ops.Abs, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return self.pow(exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return apply(ops.Pow, base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _lift(other, self).matmul(self)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return apply(ops.Add, self, other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return apply(ops.Sub, self, other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        return apply(ops.Mul, self, other)

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return apply(ops.Div, self, other)
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            dtype = _result_dtype((self, other))
            if dtype is not None and dtype.kind in "iub":
                a, b = self.array, np.asarray(_arr(other))
                quotient = np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)
                return make_tensor(np.asarray(quotient, dtype=dtype))
            return apply(ops.Div, self, other).trunc()
        raise ValueError(f"rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")

    divide = true_divide = div

    def floor_divide(self, other: Any) -> Tensor:
        """⌊a / b⌋, of the promoted dtype (exact for integers); its gradient is 0."""
        dtype = _result_dtype((self, other))
        if dtype is not None and dtype.kind in "iub":
            return make_tensor(np.asarray(np.floor_divide(self.array, _arr(other)), dtype=dtype))
        return apply(ops.Div, self, other).floor()

    def remainder(self, other: Any) -> Tensor:
        return apply(ops.Remainder, self, other)

    def fmod(self, other: Any) -> Tensor:
        return apply(ops.Fmod, self, other)

    def neg(self) -> Tensor:
        return apply(ops.Neg, self)

    negative = neg

    def pow(self, exponent: Any) -> Tensor:
        if self.dtype.kind in "iu" and not isinstance(exponent, TensorBase):
            e = np.asarray(exponent)
            if e.dtype.kind in "iu" and (e < 0).any():
                raise TensorError("integers to negative integer powers are not allowed")
        return apply(ops.Pow, self, exponent)

    def matmul(self, other: Any) -> Tensor:
        other_shape = np.shape(_arr(other))
        if self.ndim == 0 or len(other_shape) == 0:
            raise ShapeError(
                f"matmul needs tensors of at least 1 dimension, got {self.shape} and {other_shape}"
            )
        inner_a = self.shape[-1]
        inner_b = other_shape[0] if len(other_shape) == 1 else other_shape[-2]
        if inner_a != inner_b:
            raise ShapeError(
                f"matmul: shapes {self.shape} and {tuple(other_shape)} cannot be multiplied "
                f"({inner_a} != {inner_b})"
            )
        return apply(ops.MatMul, self, other)

    def mm(self, other: Any) -> Tensor:
        if self.ndim != 2 or np.ndim(_arr(other)) != 2:
            raise ShapeError(f"mm needs two matrices, got {self.shape} and {np.shape(_arr(other))}")
        return self.matmul(other)

    def bmm(self, other: Any) -> Tensor:
        if self.ndim != 3 or np.ndim(_arr(other)) != 3:
            raise ShapeError(
                f"bmm needs two 3-d tensors, got {self.shape} and {np.shape(_arr(other))}"
            )
        return self.matmul(other)

    def mv(self, vec: Any) -> Tensor:
        return self.matmul(vec)

    def dot(self, other: Any) -> Tensor:
        if self.ndim != 1 or np.ndim(_arr(other)) != 1:
            raise ShapeError(f"dot needs two vectors, got {self.shape} and {np.shape(_arr(other))}")
        return self.matmul(other)

    inner = dot

    def outer(self, other: Any) -> Tensor:
        return self.reshape(-1, 1) * _lift(other, self).reshape(1, -1)

    ger = outer

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        product = _lift(mat1, self).matmul(mat2)
        return (self if beta == 1 else self * beta) + (product if alpha == 1 else product * alpha)

    def addmv(self, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._scaled_sum(_lift(mat, self).mv(vec), beta, alpha)

    def addr(self, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return self._scaled_sum(_lift(vec1, self).outer(vec2), beta, alpha)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta·self + alpha·(batch1 @ batch2), batch by batch (attention's scores)."""
        return self._scaled_sum(_lift(batch1, self).bmm(batch2), beta, alpha)

    def addbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta·self + alpha·Σ_b batch1[b] @ batch2[b]."""
        return self._scaled_sum(_lift(batch1, self).bmm(batch2).sum(0), beta, alpha)

    def _scaled_sum(self, product: Tensor, beta: Any, alpha: Any) -> Tensor:
        left = self if beta == 1 else self * beta
        return left + (product if alpha == 1 else product * alpha)

    def cross(self, other: Any, dim: int | None = None) -> Tensor:
        """The cross product along dim (the first dim of size 3 when not given, as torch.cross)."""
        if dim is None:
            dim = next((i for i, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise ShapeError(f"cross needs a dim of size 3, got shape {self.shape}")
        d = _dim(dim, self.ndim)
        if self.shape[d] != 3:
            raise ShapeError(f"cross needs dim {d} of size 3, got shape {self.shape}")
        b = _lift(other, self)
        a0, a1, a2 = self.unbind(d)
        b0, b1, b2 = b.unbind(d)
        parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0]
        return _stack(parts, d)

    def kron(self, other: Any) -> Tensor:
        """The Kronecker product: every element of self times the whole of other."""
        b = _lift(other, self)
        ndim = builtins.max(self.ndim, b.ndim)
        a = self.reshape((1,) * (ndim - self.ndim) + self.shape)
        b = b.reshape((1,) * (ndim - b.ndim) + b.shape)
        # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0·b0, a1·b1, ...)
        left = a.reshape(tuple(d for n in a.shape for d in (n, 1)))
        right = b.reshape(tuple(d for n in b.shape for d in (1, n)))
        return (left * right).reshape(tuple(m * n for m, n in zip(a.shape, b.shape, strict=True)))

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self + _lift(tensor1, self) * tensor2 * value

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self + _lift(tensor1, self) / tensor2 * value

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return self + (_lift(end, self) - self) * weight

    # They give bool tensors with no graph, as in PyTorch.

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.not_equal, other)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        if other is None:
            return NotImplemented
        try:
            return make_tensor(np.asarray(ufunc(self.array, _arr(other))))
        except TypeError:
            return NotImplemented  # not array-like: let the other side compare

    def eq(self, other: Any) -> Tensor:
        return self._compare(np.equal, other)

    def ne(self, other: Any) -> Tensor:
        return self._compare(np.not_equal, other)

    not_equal = ne

    def lt(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    less = lt

    def le(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    less_equal = le

    def gt(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    greater = gt

    def ge(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    greater_equal = ge

    def equal(self, other: Any) -> builtins.bool:
        """True when both have the same shape and elements (a Python bool, as torch.equal)."""
        other_array = _arr(other)
        return self.shape == np.shape(other_array) and builtins.bool(
            np.array_equal(self.array, other_array)
        )

    def allclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: builtins.bool = False
    ) -> builtins.bool:
        return builtins.bool(np.allclose(self.array, _arr(other), rtol, atol, equal_nan))

    def isclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: builtins.bool = False
    ) -> Tensor:
        return make_tensor(np.isclose(self.array, _arr(other), rtol, atol, equal_nan))

    def _logic(self, ufunc: np.ufunc, other: Any = None) -> Tensor:
        if other is None:
            return make_tensor(np.asarray(ufunc(self.array)))
        return make_tensor(np.asarray(ufunc(self.array, _arr(other))))

    def __and__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_and, other)

    __rand__ = __and__

    def __or__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_or, other)

    __ror__ = __or__

    def __xor__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_xor, other)

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        return self._logic(np.invert)

    def __lshift__(self, other: Any) -> Tensor:
        return self._logic(np.left_shift, other)

    def __rshift__(self, other: Any) -> Tensor:
        return self._logic(np.right_shift, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_and, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_or, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_xor, other)

    def bitwise_not(self) -> Tensor:
        return self._logic(np.invert)

    def logical_and(self, other: Any) -> Tensor:
        return self._logic(np.logical_and, other)

    def logical_or(self, other: Any) -> Tensor:
        return self._logic(np.logical_or, other)

    def logical_xor(self, other: Any) -> Tensor:
        return self._logic(np.logical_xor, other)

    def logical_not(self) -> Tensor:
        return self._logic(np.logical_not)

    def isnan(self) -> Tensor:
        return self._logic(np.isnan)

    def isinf(self) -> Tensor:
        return self._logic(np.isinf)

    def isfinite(self) -> Tensor:
        return self._logic(np.isfinite)

    def isposinf(self) -> Tensor:
        return self._logic(np.isposinf)

    def isneginf(self) -> Tensor:
        return self._logic(np.isneginf)

    def signbit(self) -> Tensor:
        return self._logic(np.signbit)

    def exp(self) -> Tensor:
        return apply(ops.Exp, self)

    def exp2(self) -> Tensor:
        return apply(ops.Exp2, self)

    def expm1(self) -> Tensor:
        return apply(ops.Expm1, self)

    def log(self) -> Tensor:
        return apply(ops.Log, self)

    def log2(self) -> Tensor:
        return apply(ops.Log2, self)

    def log10(self) -> Tensor:
        return apply(ops.Log10, self)

    def log1p(self) -> Tensor:
        return apply(ops.Log1p, self)

    def sqrt(self) -> Tensor:
        return apply(ops.Sqrt, self)

    def rsqrt(self) -> Tensor:
        return apply(ops.Rsqrt, self)

    def reciprocal(self) -> Tensor:
        return apply(ops.Reciprocal, self)

    def square(self) -> Tensor:
        return apply(ops.Square, self)

    def abs(self) -> Tensor:
        return apply(ops.Abs, self)

    absolute = abs

    def sign(self) -> Tensor:
        return apply(ops.Sign, self)

    sgn = sign

    def sin(self) -> Tensor:
        return apply(ops.Sin, self)

    def cos(self) -> Tensor:
        return apply(ops.Cos, self)

    def tan(self) -> Tensor:
        return apply(ops.Tan, self)

    def asin(self) -> Tensor:
        return apply(ops.Asin, self)

    arcsin = asin

    def acos(self) -> Tensor:
        return apply(ops.Acos, self)

    arccos = acos

    def atan(self) -> Tensor:
        return apply(ops.Atan, self)

    arctan = atan

    def atan2(self, other: Any) -> Tensor:
        return apply(ops.Atan2, self, other)

    arctan2 = atan2

    def sinh(self) -> Tensor:
        return apply(ops.Sinh, self)

    def cosh(self) -> Tensor:
        return apply(ops.Cosh, self)

    def tanh(self) -> Tensor:
        return apply(ops.Tanh, self)

    def asinh(self) -> Tensor:
        return apply(ops.Asinh, self)

    arcsinh = asinh

    def acosh(self) -> Tensor:
        return apply(ops.Acosh, self)

    arccosh = acosh

    def atanh(self) -> Tensor:
        return apply(ops.Atanh, self)

    arctanh = atanh

    def logaddexp(self, other: Any) -> Tensor:
        """log(e^a + e^b), shifted by the larger of the two so that it never overflows."""
        peak = apply(ops.Maximum, self, other)
        return peak + ((self - peak).exp() + (_lift(other, self) - peak).exp()).log()

    def logaddexp2(self, other: Any) -> Tensor:
        peak = apply(ops.Maximum, self, other)
        return peak + ((self - peak).exp2() + (_lift(other, self) - peak).exp2()).log2()

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 - p)), with p clamped into [eps, 1 - eps] when eps is given."""
        p = self if eps is None else self.clamp(eps, 1 - eps)
        return (p / (1 - p)).log()

    def xlogy(self, other: Any) -> Tensor:
        """x·log y, and 0 where x is 0 (unless y is NaN), as torch.xlogy."""
        return apply(ops.Xlogy, self, other)

    def hypot(self, other: Any) -> Tensor:
        return (self * self + _lift(other, self) * other).sqrt()

    def sinc(self) -> Tensor:
        """sin(πx)/(πx), and 1 at 0 (where its gradient is 0)."""
        zero = self.array == 0
        x = where(zero, 1.0, self) * np.pi  # no 0/0 on either branch's gradient
        return where(zero, 1.0, x.sin() / x)

    def deg2rad(self) -> Tensor:
        return self * (np.pi / 180)

    def rad2deg(self) -> Tensor:
        return self * (180 / np.pi)

    def float_power(self, exponent: Any) -> Tensor:
        """self ** exponent computed in float64, as torch.float_power."""
        return self._cast(dtypes.float64) ** exponent

    def copysign(self, other: Any) -> Tensor:
        """|self| with the sign of other (-0.0 counts as negative)."""
        return apply(ops.Copysign, self, other)

    def positive(self) -> Tensor:
        return self

    def sigmoid(self) -> Tensor:
        return apply(ops.Sigmoid, self)

    def relu(self) -> Tensor:
        return apply(ops.ReLU, self)

    def erf(self) -> Tensor:
        return apply(ops.Erf, self)

    def erfc(self) -> Tensor:
        return apply(ops.Erfc, self)

    def floor(self) -> Tensor:
        return apply(ops.Floor, self)

    def ceil(self) -> Tensor:
        return apply(ops.Ceil, self)

    def trunc(self) -> Tensor:
        return apply(ops.Trunc, self)

    fix = trunc

    def frac(self) -> Tensor:
        return apply(ops.Frac, self)

    def round(self, decimals: int = 0) -> Tensor:
        return apply(ops.Round, self, decimals=decimals)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Elementwise min(max(x, min), max); bounds may be numbers or tensors."""
        if min is None and max is None:
            raise TensorError("clamp needs at least one of min and max")
        return apply(ops.Clamp, self, min, max)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        return apply(ops.Clamp, self, min, None)

    def clamp_max(self, max: Any) -> Tensor:
        return apply(ops.Clamp, self, None, max)

    def maximum(self, other: Any) -> Tensor:
        return apply(ops.Maximum, self, other)

    def minimum(self, other: Any) -> Tensor:
        return apply(ops.Minimum, self, other)

    def fmax(self, other: Any) -> Tensor:
        """The elementwise maximum ignoring NaN (NaN only where both are NaN)."""
        return apply(ops.Fmax, self, other)

    def fmin(self, other: Any) -> Tensor:
        return apply(ops.Fmin, self, other)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``x.where(condition, y)``: x where condition holds, else y."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        mask_array = np.asarray(_arr(mask))
        if mask_array.dtype != bool:
            raise TypeError(f"masked_fill needs a bool mask, got dtype {mask_array.dtype}")
        if isinstance(value, TensorBase) and value.ndim:
            raise ShapeError(f"masked_fill takes a number or a 0-d tensor, got shape {value.shape}")
        filled = apply(ops.Where, value, self, condition=mask_array)
        if filled.shape != self.shape:
            raise ShapeError(
                f"masked_fill: mask {mask_array.shape} does not broadcast to {self.shape}"
            )
        return filled if filled.dtype == self.dtype else filled._cast(self.dtype)

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        finite = np.nan_to_num(self.array, nan=nan, posinf=posinf, neginf=neginf)
        return where(np.isfinite(self.array), self, finite)

    @numpy_aliases
    def softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(ops.Softmax, x, axis=_dim(dim, self.ndim))

    @numpy_aliases
    def log_softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(ops.LogSoftmax, x, axis=_dim(dim, self.ndim))


def where(condition: Any, a: Any = None, b: Any = None) -> Any:
    """Elementwise ``a`` where condition holds, else ``b``; gradients flow to the chosen side.
    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``."""
    cond = np.asarray(_arr(condition))
    if a is None and b is None:
        return tuple(make_tensor(i) for i in np.nonzero(cond))
    if cond.dtype != bool:
        cond = cond.astype(bool)
    return apply(ops.Where, a, b, condition=cond)


def _stack(tensors: list[Any], dim: int) -> Tensor:
    return apply(ops.Concatenate, *[t.unsqueeze(dim) for t in tensors], axis=dim)
