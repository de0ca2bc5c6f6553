"""One line per op case: name, the primitives it exercises, input shapes, domain, torch twin.

test_ops.py runs each case through gradcheck (float64), a float32 check and, where PyTorch is
installed, a forward/backward comparison with its twin. A twin is written in PyTorch's own
spelling; where the chainrule line uses the same spelling, the case also checks that chainrule
accepts it. ``exact=False`` skips the float64 gradcheck for ops that round through float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import functional as F

LABELS = np.array([0, 2, 1, 2])  # class labels for (4, 3) logits
ROWS = np.array([2, 0, 2, 1])  # rows picked by integer indexing (one repeated)
GATHER = np.array([[0, 2, 2], [1, 0, 3], [3, 3, 1]])  # gather/scatter index along dim 1 (3, 4)
SCATTER = np.array([[0, 2, 1], [3, 1, 0], [2, 0, 3]])  # a permutation per row: no collisions
MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, True]])


def _real(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _unit(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Inside (-1, 1), away from its ends, for asin/acos."""
    return rng.uniform(-0.8, 0.8, shape)


def _off_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Away from the kink at 0 of relu/abs/leaky_relu, where finite differences are wrong."""
    x = rng.uniform(0.1, 1.5, shape)
    return x * rng.choice([-1.0, 1.0], shape)


def _off_integers(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Away from the jumps of floor/ceil/round/trunc/remainder (integers and half-integers)."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """All values at least 0.1 apart, so max/sort have no ties within ±eps."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def _with_zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Some exact zeros (one and two per row): prod and cumprod must not divide by them."""
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    x.reshape(-1)[::3] = 0.0
    return x


def _probability(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.05, 0.95, shape)


@dataclass
class Case:
    name: str
    ops: tuple[str, ...]
    fn: Callable[..., cr.Tensor]
    shapes: tuple[tuple[int, ...], ...]
    domain: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] = _real
    torch: Callable[..., Any] | None = None
    exact: bool = True

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [self.domain(rng, s) for s in self.shapes]


def T() -> Any:  # noqa: N802
    import torch

    return torch


def TF() -> Any:  # noqa: N802
    import torch.nn.functional

    return torch.nn.functional


def _set_rows(a: Any, b: Any) -> Any:
    """Writes into a copy, recorded in grad mode (IndexPut), with PyTorch's mixed-index rule."""
    y = a.clone()
    y[1:, 0] = b[:2, 0] * 2  # basic: a slice and an int
    y[[0, 2], 1:3] = b[1:3, :2] * 3  # advanced rows and a slice
    return y


def _view_inplace(a: Any, b: Any) -> Any:
    """An in-place op on a view changes its base's history (ViewScatter)."""
    y = a * 1
    y[0].mul_(b[0])  # y[0] is a view of y
    y[:, 1:].add_(b[:3, 1:])
    return y


def _fill_diagonal(a: Any, b: Any) -> Any:
    y = a * 1
    y.diagonal().copy_(b * b)  # writing through the diagonal view
    return y


def _chain_inplace(a: Any, b: Any) -> Any:
    y = a * 2  # (a.exp() would be an error: Exp saves its output, which += overwrites)
    y += b  # recorded: y's history becomes Add(2a, b)
    y *= a  # Mul saves y's old value: it gets a private copy before the write
    return y.sigmoid_()


CASES = [
    # elementwise arithmetic
    Case("add", ("Add",), lambda a, b: a + b, ((3, 4), (3, 4)), torch=lambda a, b: a + b),
    Case("add_broadcast", ("Add",), lambda a, b: a + b, ((2, 1, 4), (3, 1)),
         torch=lambda a, b: a + b),
    Case("add_alpha", ("Add", "Mul"), lambda a, b: a.add(b, alpha=3), ((3, 4), (4,)),
         torch=lambda a, b: a.add(b, alpha=3)),
    Case("sub_broadcast", ("Sub",), lambda a, b: a - b, ((3, 4), (4,)), torch=lambda a, b: a - b),
    Case("rsub_scalar", ("Sub",), lambda a: 2 - a, ((3,),), torch=lambda a: 2 - a),
    Case("mul_broadcast", ("Mul",), lambda a, b: a * b, ((3, 1), (1, 4)), torch=lambda a, b: a * b),
    Case("mul_same_tensor", ("Mul",), lambda a: a * a, ((3, 4),), torch=lambda a: a * a),
    Case("div", ("Div",), lambda a, b: a / b, ((3, 4), (3, 4)), _positive,
         torch=lambda a, b: a / b),
    Case("rdiv_scalar", ("Div",), lambda a: 1 / a, ((3, 4),), _positive, torch=lambda a: 1 / a),
    Case("neg", ("Neg",), lambda a: -a, ((5,),), torch=lambda a: -a),
    Case("pow_scalar", ("Pow",), lambda a: a**3, ((3, 4),), _positive, torch=lambda a: a**3),
    Case("pow_tensor", ("Pow",), lambda a, b: a**b, ((3, 4), (3, 4)), _positive,
         torch=lambda a, b: a**b),
    Case("rpow", ("Pow",), lambda a: 2.0**a, ((3, 4),), torch=lambda a: 2.0**a),
    Case("fmax_fmin", ("Fmax", "Fmin"), lambda a, b: a.fmax(b + 0.05) + a.fmin(b + 0.05),
         ((3, 4), (4,)), _distinct, torch=lambda a, b: a.fmax(b + 0.05) + a.fmin(b + 0.05)),
    Case("copysign", ("Copysign",), lambda a, b: a.copysign(b), ((3, 4), (3, 4)), _off_zero,
         torch=lambda a, b: a.copysign(b)),
    Case("remainder", ("Remainder",), lambda a, b: a % (b + 3), ((3, 4), (3, 4)), _off_integers,
         torch=lambda a, b: a % (b + 3)),
    Case("fmod", ("Fmod",), lambda a: a.fmod(1.5), ((3, 4),), _off_integers,
         torch=lambda a: a.fmod(1.5)),
    Case("maximum", ("Maximum",), lambda a, b: a.maximum(b + 0.05), ((3, 4), (4,)), _distinct,
         torch=lambda a, b: T().maximum(a, b + 0.05)),
    Case("minimum", ("Minimum",), lambda a, b: cr.minimum(a, b + 0.05), ((3, 4), (3, 1)),
         _distinct, torch=lambda a, b: T().minimum(a, b + 0.05)),
    Case("max_pairwise", ("Maximum",), lambda a, b: cr.max(a, b + 0.05), ((3, 4), (3, 4)),
         _distinct, torch=lambda a, b: T().max(a, b + 0.05)),
    Case("lerp", ("Add", "Sub", "Mul"), lambda a, b, w: a.lerp(b, w), ((3, 4), (3, 4), (4,)),
         torch=lambda a, b, w: a.lerp(b, w)),
    Case("addcmul", ("Add", "Mul"), lambda a, b, c: a.addcmul(b, c, value=0.5),
         ((3, 4), (3, 4), (3, 4)), torch=lambda a, b, c: a.addcmul(b, c, value=0.5)),
    Case("addcdiv", ("Add", "Div"), lambda a, b, c: a.addcdiv(b, c, value=0.5),
         ((3, 4), (3, 4), (3, 4)), _positive, torch=lambda a, b, c: a.addcdiv(b, c, value=0.5)),
    # elementwise functions
    Case("exp", ("Exp",), lambda a: a.exp(), ((3, 4),), torch=lambda a: a.exp()),
    Case("exp2", ("Exp2",), lambda a: a.exp2(), ((3, 4),), torch=lambda a: a.exp2()),
    Case("expm1", ("Expm1",), lambda a: a.expm1(), ((3, 4),), torch=lambda a: a.expm1()),
    Case("log", ("Log",), lambda a: a.log(), ((3, 4),), _positive, torch=lambda a: a.log()),
    Case("log2", ("Log2",), lambda a: cr.log2(a), ((3, 4),), _positive,
         torch=lambda a: T().log2(a)),
    Case("log10", ("Log10",), lambda a: a.log10(), ((3, 4),), _positive, torch=lambda a: a.log10()),
    Case("log1p", ("Log1p",), lambda a: a.log1p(), ((3, 4),), _positive, torch=lambda a: a.log1p()),
    Case("sqrt", ("Sqrt",), lambda a: a.sqrt(), ((3, 4),), _positive, torch=lambda a: a.sqrt()),
    Case("rsqrt", ("Rsqrt",), lambda a: a.rsqrt(), ((3, 4),), _positive, torch=lambda a: a.rsqrt()),
    Case("reciprocal", ("Reciprocal",), lambda a: a.reciprocal(), ((3, 4),), _off_zero,
         torch=lambda a: a.reciprocal()),
    Case("square", ("Square",), lambda a: a.square(), ((3, 4),), torch=lambda a: a.square()),
    Case("sin", ("Sin",), lambda a: a.sin(), ((3, 4),), torch=lambda a: a.sin()),
    Case("cos", ("Cos",), lambda a: cr.cos(a), ((3, 4),), torch=lambda a: T().cos(a)),
    Case("tan", ("Tan",), lambda a: a.tan(), ((3, 4),), _unit, torch=lambda a: a.tan()),
    Case("asin", ("Asin",), lambda a: a.asin(), ((3, 4),), _unit, torch=lambda a: a.asin()),
    Case("acos", ("Acos",), lambda a: a.acos(), ((3, 4),), _unit, torch=lambda a: a.acos()),
    Case("atan", ("Atan",), lambda a: a.atan(), ((3, 4),), torch=lambda a: a.atan()),
    Case("atan2", ("Atan2",), lambda a, b: a.atan2(b), ((3, 4), (3, 4)), _off_zero,
         torch=lambda a, b: a.atan2(b)),
    Case("sinh", ("Sinh",), lambda a: a.sinh(), ((3, 4),), torch=lambda a: a.sinh()),
    Case("cosh", ("Cosh",), lambda a: a.cosh(), ((3, 4),), torch=lambda a: a.cosh()),
    Case("asinh", ("Asinh",), lambda a: a.asinh(), ((3, 4),), torch=lambda a: a.asinh()),
    Case("acosh", ("Acosh",), lambda a: (a + 1).acosh(), ((3, 4),), _positive,
         torch=lambda a: (a + 1).acosh()),
    Case("atanh", ("Atanh",), lambda a: a.atanh(), ((3, 4),), _unit, torch=lambda a: a.atanh()),
    Case("logaddexp", ("Maximum", "Exp", "Log"), lambda a, b: a.logaddexp(b + 0.05),
         ((3, 4), (4,)), _distinct, torch=lambda a, b: a.logaddexp(b + 0.05)),
    Case("logaddexp2", ("Maximum", "Exp2", "Log2"), lambda a, b: cr.logaddexp2(a, b * 3),
         ((3, 4), (3, 4)), _distinct, torch=lambda a, b: T().logaddexp2(a, b * 3)),
    Case("logit", ("Div", "Log"), lambda a: a.logit(), ((3, 4),), _probability,
         torch=lambda a: a.logit()),
    Case("logit_eps", ("Clamp", "Log"), lambda a: a.logit(eps=0.2), ((3, 4),), _probability,
         torch=lambda a: a.logit(eps=0.2)),
    Case("xlogy", ("Xlogy",), lambda a, b: (a * (a > 0)).xlogy(b), ((3, 4), (3, 4)),
         _positive, torch=lambda a, b: (a * (a > 0)).xlogy(b)),
    Case("xlogy_zeros", ("Xlogy",), lambda a: (a * (a.abs() > 1)).xlogy(a.abs()),
         ((3, 4),), _off_zero, torch=lambda a: (a * (a.abs() > 1)).xlogy(a.abs())),
    Case("hypot", ("Sqrt",), lambda a, b: a.hypot(b), ((3, 4), (4,)), _off_zero,
         torch=lambda a, b: a.hypot(b)),
    Case("sinc", ("Where", "Sin"), lambda a: a.sinc(), ((3, 4),), _off_zero,
         torch=lambda a: a.sinc()),
    Case("sinc_at_zero", ("Where", "Sin"), lambda a: (a * 0).sinc() * a, ((3,),),
         torch=lambda a: (a * 0).sinc() * a),
    Case("deg2rad", ("Mul",), lambda a: a.deg2rad() + a.rad2deg(), ((3,),),
         torch=lambda a: a.deg2rad() + a.rad2deg()),
    Case("float_power", ("Cast", "Pow"), lambda a: a.float_power(2.5).to(a.dtype), ((3,),),
         _positive, torch=lambda a: a.float_power(2.5).to(a.dtype)),
    Case("addmv_addr", ("MatMul", "Mul"), lambda c, m, v: m.addr(c.addmv(m, v, beta=2), v),
         ((3,), (3, 4), (4,)), torch=lambda c, m, v: m.addr(c.addmv(m, v, beta=2), v)),
    Case("baddbmm", ("MatMul", "Add"), lambda c, a, b: c.baddbmm(a, b, alpha=0.5),
         ((2, 3, 2), (2, 3, 4), (2, 4, 2)), torch=lambda c, a, b: c.baddbmm(a, b, alpha=0.5)),
    Case("addbmm", ("MatMul", "Sum"), lambda c, a, b: c.addbmm(a, b, beta=3),
         ((3, 2), (2, 3, 4), (2, 4, 2)), torch=lambda c, a, b: c.addbmm(a, b, beta=3)),
    Case("cross", ("Index", "Mul", "Concatenate"), lambda a, b: a.cross(b, dim=1),
         ((2, 3), (2, 3)), torch=lambda a, b: T().linalg.cross(a, b, dim=1)),
    Case("kron", ("Reshape", "Mul"), lambda a, b: a.kron(b), ((2, 3), (3, 2)),
         torch=lambda a, b: a.kron(b)),
    Case("erf", ("Erf",), lambda a: a.erf(), ((3, 4),), torch=lambda a: a.erf()),
    Case("erfc", ("Erfc",), lambda a: a.erfc(), ((3, 4),), torch=lambda a: a.erfc()),
    Case("abs", ("Abs",), lambda a: a.abs(), ((3, 4),), _off_zero, torch=lambda a: a.abs()),
    Case("sign", ("Sign",), lambda a: a.sign() * a, ((3, 4),), _off_zero,
         torch=lambda a: a.sign() * a),
    Case("floor", ("Floor",), lambda a: a.floor() + a, ((3, 4),), _off_integers,
         torch=lambda a: a.floor() + a),
    Case("ceil", ("Ceil",), lambda a: a.ceil() * a, ((3, 4),), _off_integers,
         torch=lambda a: a.ceil() * a),
    Case("trunc", ("Trunc",), lambda a: a.trunc() - a, ((3, 4),), _off_integers,
         torch=lambda a: a.trunc() - a),
    Case("round", ("Round",), lambda a: a.round() * a, ((3, 4),), _off_integers,
         torch=lambda a: a.round() * a),
    Case("frac", ("Frac",), lambda a: a.frac(), ((3, 4),), _off_integers, torch=lambda a: a.frac()),
    Case("clip", ("Clamp",), lambda a: a.clip(-0.5, 0.5), ((4, 5),), _off_zero,
         torch=lambda a: a.clamp(-0.5, 0.5)),
    Case("clamp_min", ("Clamp",), lambda a: a.clamp(min=0.2), ((4, 5),), _off_zero,
         torch=lambda a: a.clamp(min=0.2)),
    Case("clamp_tensor_bounds", ("Clamp",), lambda a, lo, hi: a.clamp(lo - 1.05, hi + 0.95),
         ((3, 4), (3, 4), (4,)), _distinct, torch=lambda a, lo, hi: a.clamp(lo - 1.05, hi + 0.95)),
    Case("where", ("Where",), lambda a, b: cr.where(a > 0, a, b), ((3, 4), (3, 4)),
         torch=lambda a, b: T().where(a > 0, a, b)),
    Case("where_scalar", ("Where",), lambda a: cr.where(a > 0, a, 0.5), ((3, 4),),
         torch=lambda a: T().where(a > 0, a, 0.5)),
    Case("masked_fill", ("Where",), lambda a: a.masked_fill(cr.tensor(MASK), -1.0), ((3, 4),),
         torch=lambda a: a.masked_fill(T().tensor(MASK), -1.0)),
    Case("cast", ("Cast",), lambda a: (a.double() * 2).float(), ((3, 4),),
         torch=lambda a: (a.double() * 2).float(), exact=False),
    Case("clone", ("Clone",), lambda a: a.clone() * a, ((3, 4),), torch=lambda a: a.clone() * a),
    # matrix products
    Case("matmul", ("MatMul",), lambda a, b: a @ b, ((3, 4), (4, 5)), torch=lambda a, b: a @ b),
    Case("matmul_batched", ("MatMul",), lambda a, b: a @ b, ((2, 3, 4), (4, 5)),
         torch=lambda a, b: a @ b),
    Case("matmul_broadcast_batch", ("MatMul",), lambda a, b: a @ b, ((2, 1, 3, 4), (3, 4, 2)),
         torch=lambda a, b: a @ b),
    Case("matmul_vector_left", ("MatMul",), lambda a, b: a @ b, ((4,), (4, 5)),
         torch=lambda a, b: a @ b),
    Case("matmul_vector_batched", ("MatMul",), lambda a, b: a @ b, ((4,), (2, 4, 5)),
         torch=lambda a, b: a @ b),
    Case("matmul_vector_right", ("MatMul",), lambda a, b: a @ b, ((3, 4), (4,)),
         torch=lambda a, b: a @ b),
    Case("matmul_dot", ("MatMul",), lambda a, b: a.dot(b), ((4,), (4,)),
         torch=lambda a, b: a.dot(b)),
    Case("bmm", ("MatMul",), lambda a, b: a.bmm(b), ((2, 3, 4), (2, 4, 2)),
         torch=lambda a, b: a.bmm(b)),
    Case("mv", ("MatMul",), lambda a, b: a.mv(b), ((3, 4), (4,)), torch=lambda a, b: a.mv(b)),
    Case("outer", ("Reshape", "Mul"), lambda a, b: a.outer(b), ((3,), (4,)),
         torch=lambda a, b: a.outer(b)),
    Case("addmm", ("MatMul", "Add", "Mul"), lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2),
         ((3, 5), (3, 4), (4, 5)), torch=lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2)),
    Case("einsum_matmul", ("Einsum",), lambda a, b: cr.einsum("ij,jk->ik", a, b),
         ((3, 4), (4, 5)), torch=lambda a, b: T().einsum("ij,jk->ik", a, b)),
    Case("einsum_attention", ("Einsum",), lambda q, k: cr.einsum("bhqd,bhkd->bhqk", q, k),
         ((2, 2, 3, 4), (2, 2, 5, 4)), torch=lambda q, k: T().einsum("bhqd,bhkd->bhqk", q, k)),
    Case("einsum_trace_ellipsis", ("Einsum",), lambda a, b: cr.einsum("...ii,...i->...", a, b),
         ((2, 3, 3), (1, 3)), torch=lambda a, b: T().einsum("...ii,...i->...", a, b)),
    Case("einsum_three", ("Einsum",), lambda a, b, c: cr.einsum("ij,jk,kl", [a, b, c]),
         ((2, 3), (3, 4), (4, 2)), torch=lambda a, b, c: T().einsum("ij,jk,kl", [a, b, c])),
    Case("tensordot", ("Einsum",), lambda a, b: cr.tensordot(a, b, dims=([1, 2], [0, 1])),
         ((2, 3, 4), (3, 4, 5)), torch=lambda a, b: T().tensordot(a, b, dims=([1, 2], [0, 1]))),
    # reductions
    Case("sum_all", ("Sum",), lambda a: a.sum(), ((3, 4),), torch=lambda a: a.sum()),
    Case("sum_dims", ("Sum",), lambda a: a.sum(dim=(0, 2)), ((2, 3, 4),),
         torch=lambda a: a.sum(dim=(0, 2))),
    Case("sum_negative_keepdim", ("Sum",), lambda a: a.sum(-1, keepdim=True), ((3, 4),),
         torch=lambda a: a.sum(-1, keepdim=True)),
    Case("sum_numpy_spelling", ("Sum",), lambda a: a.sum(axis=1, keepdims=True), ((3, 4),),
         torch=lambda a: a.sum(dim=1, keepdim=True)),
    Case("sum_0d", ("Sum",), lambda a: a.sum(0), ((),), torch=lambda a: a.sum(0)),
    Case("mean_dim", ("Mean",), lambda a: a.mean(dim=-1), ((3, 4),),
         torch=lambda a: a.mean(dim=-1)),
    Case("mean_all", ("Mean",), lambda a: a.mean(), ((3, 4),), torch=lambda a: a.mean()),
    Case("mean_0d", ("Mean",), lambda a: a.mean(-1), ((),), torch=lambda a: a.mean(-1)),
    Case("amax", ("Amax",), lambda a: a.amax(dim=1), ((3, 4),), _distinct,
         torch=lambda a: a.amax(dim=1)),
    Case("amax_all_keepdim", ("Amax",), lambda a: a.amax((0, 1), keepdim=True), ((3, 4),),
         _distinct, torch=lambda a: a.amax((0, 1), keepdim=True)),
    Case("amin", ("Amin",), lambda a: a.amin(dim=(0, 2)), ((2, 3, 4),), _distinct,
         torch=lambda a: a.amin(dim=(0, 2))),
    Case("max_all", ("Amax",), lambda a: a.max(), ((3, 4),), _distinct, torch=lambda a: a.max()),
    Case("max_dim", ("Index",), lambda a: a.max(1).values, ((3, 4),), _distinct,
         torch=lambda a: a.max(1).values),
    Case("min_dim_keepdim", ("Index",), lambda a: a.min(dim=0, keepdim=True)[0], ((3, 4),),
         _distinct, torch=lambda a: a.min(dim=0, keepdim=True)[0]),
    Case("max_0d", ("Index",), lambda a: a.max(0)[0], ((),), torch=lambda a: a.max(0)[0]),
    Case("prod_all", ("Prod",), lambda a: a.prod(), ((3, 4),), _positive, torch=lambda a: a.prod()),
    Case("prod_dim_zeros", ("Prod",), lambda a: a.prod(1), ((3, 4),), _with_zeros,
         torch=lambda a: a.prod(1)),
    Case("prod_two_zeros", ("Prod",), lambda a: a.prod(0, keepdim=True), ((6, 2),), _with_zeros,
         torch=lambda a: a.prod(0, keepdim=True)),
    Case("logsumexp", ("LogSumExp",), lambda a: a.logsumexp(1), ((3, 4),),
         torch=lambda a: a.logsumexp(1)),
    Case("logsumexp_dims", ("LogSumExp",), lambda a: cr.logsumexp(a, (0, 2), keepdim=True),
         ((2, 3, 4),), torch=lambda a: T().logsumexp(a, (0, 2), keepdim=True)),
    Case("norm_2", ("Norm",), lambda a: a.norm(), ((3, 4),), torch=lambda a: a.norm()),
    Case("norm_1_dim", ("Norm",), lambda a: a.norm(1, dim=1), ((3, 4),), _off_zero,
         torch=lambda a: a.norm(1, dim=1)),
    Case("norm_inf", ("Norm",), lambda a: (a + 2).norm(float("inf"), dim=0), ((3, 4),),
         _distinct, torch=lambda a: (a + 2).norm(float("inf"), dim=0)),
    Case("norm_3_keepdim", ("Norm",), lambda a: a.norm(3, dim=-1, keepdim=True), ((3, 4),),
         _off_zero, torch=lambda a: a.norm(3, dim=-1, keepdim=True)),
    Case("var", ("Mean", "Sub", "Mul", "Sum", "Div"), lambda a: a.var(1), ((3, 4),),
         torch=lambda a: a.var(1)),
    Case("var_biased", ("Mean", "Sub", "Mul", "Sum", "Div"), lambda a: a.var(unbiased=False),
         ((3, 4),), torch=lambda a: a.var(unbiased=False)),
    Case("std_correction", ("Sqrt",), lambda a: a.std(dim=0, correction=0, keepdim=True),
         ((3, 4),), torch=lambda a: a.std(dim=0, correction=0, keepdim=True)),
    Case("cumsum", ("Cumsum",), lambda a: a.cumsum(1), ((3, 4),), torch=lambda a: a.cumsum(1)),
    Case("cumsum_negative_dim", ("Cumsum",), lambda a: cr.cumsum(a, dim=-3), ((2, 3, 4),),
         torch=lambda a: T().cumsum(a, dim=-3)),
    Case("cumprod", ("Cumprod",), lambda a: a.cumprod(1), ((3, 4),), _positive,
         torch=lambda a: a.cumprod(1)),
    Case("cumprod_zeros", ("Cumprod",), lambda a: a.cumprod(0), ((5, 4),), _with_zeros,
         torch=lambda a: a.cumprod(0)),
    Case("cummax", ("Index",), lambda a: a.cummax(1).values, ((3, 5),), _distinct,
         torch=lambda a: a.cummax(1).values),
    Case("cummin_ties", ("Index",), lambda a: (a.round() * 0 + a.floor()).cummin(0)[0] * a,
         ((5, 3),), _off_integers,
         torch=lambda a: (a.round() * 0 + a.floor()).cummin(0)[0] * a),
    Case("aminmax", ("Amin", "Amax"), lambda a: a.aminmax(dim=1).max - a.aminmax(dim=1).min,
         ((3, 4),), _distinct, torch=lambda a: a.aminmax(dim=1).max - a.aminmax(dim=1).min),
    Case("logcumsumexp", ("LogCumSumExp",), lambda a: (a * 30).logcumsumexp(1), ((3, 5),),
         torch=lambda a: (a * 30).logcumsumexp(1)),
    Case("mode", ("Index",), lambda a: a.round().mode(1).values * a.sum(), ((3, 6),),
         _off_integers, torch=lambda a: a.round().mode(1).values * a.sum()),
    Case("sort", ("Index",), lambda a: a.sort(dim=0, descending=True).values, ((4, 3),), _distinct,
         torch=lambda a: a.sort(dim=0, descending=True).values),
    Case("topk", ("Index",), lambda a: a.topk(2).values, ((3, 4),), _distinct,
         torch=lambda a: a.topk(2).values),
    Case("kthvalue", ("Index",), lambda a: a.kthvalue(2, 1)[0], ((3, 4),), _distinct,
         torch=lambda a: a.kthvalue(2, 1)[0]),
    Case("median", ("Index",), lambda a: a.median(0).values, ((5, 3),), _distinct,
         torch=lambda a: a.median(0).values),
    # shape
    Case("reshape", ("Reshape",), lambda a: a.reshape(4, 3), ((3, 4),),
         torch=lambda a: a.reshape(4, 3)),
    Case("view_infer", ("Reshape",), lambda a: a.view(-1, 2), ((3, 4),),
         torch=lambda a: a.view(-1, 2)),
    Case("flatten_range", ("Reshape",), lambda a: a.flatten(1, 2), ((2, 3, 4, 2),),
         torch=lambda a: a.flatten(1, 2)),
    Case("unflatten", ("Reshape",), lambda a: a.unflatten(1, (2, 2)), ((3, 4),),
         torch=lambda a: a.unflatten(1, (2, 2))),
    Case("unsqueeze_squeeze", ("Reshape",), lambda a: a.unsqueeze(-1).squeeze(0), ((1, 3),),
         torch=lambda a: a.unsqueeze(-1).squeeze(0)),
    Case("squeeze_dim", ("Reshape",), lambda a: a.squeeze(1), ((3, 1, 2),),
         torch=lambda a: a.squeeze(1)),
    Case("transpose_two_dims", ("Transpose",), lambda a: a.transpose(1, 2), ((2, 3, 4),),
         torch=lambda a: a.transpose(1, 2)),
    Case("transpose_negative", ("Transpose",), lambda a: a.transpose(-1, 0), ((2, 3, 4),),
         torch=lambda a: a.transpose(-1, 0)),
    Case("transpose_numpy_permutation", ("Transpose",), lambda a: a.transpose(-1, 0, 1),
         ((2, 3, 4),), torch=lambda a: a.permute(-1, 0, 1)),
    Case("permute_negative", ("Transpose",), lambda a: a.permute((-2, -1, 1, 0)), ((2, 3, 4, 5),),
         torch=lambda a: a.permute((-2, -1, 1, 0))),
    Case("T_and_mT", ("Transpose",), lambda a: a.mT @ a.T.sum(0), ((2, 3, 4),),
         torch=lambda a: a.mT @ a.permute(2, 1, 0).sum(0)),
    Case("t", ("Transpose",), lambda a: a.t(), ((3, 4),), torch=lambda a: a.t()),
    Case("movedim", ("Transpose",), lambda a: a.movedim((0, 1), (2, 0)), ((2, 3, 4),),
         torch=lambda a: a.movedim((0, 1), (2, 0))),
    Case("expand", ("Expand",), lambda a: a.expand(2, -1, 4), ((3, 1),),
         torch=lambda a: a.expand(2, -1, 4)),
    Case("expand_as", ("Expand",), lambda a, b: a.expand_as(b) * b, ((1, 4), (3, 4)),
         torch=lambda a, b: a.expand_as(b) * b),
    Case("repeat", ("Tile",), lambda a: a.repeat(2, 1, 3), ((3, 2),),
         torch=lambda a: a.repeat(2, 1, 3)),
    Case("tile", ("Tile",), lambda a: a.tile((2,)), ((3, 2),), torch=lambda a: a.tile((2,))),
    Case("repeat_interleave", ("Index",), lambda a: a.repeat_interleave(2, dim=1), ((3, 2),),
         torch=lambda a: a.repeat_interleave(2, dim=1)),
    Case("flip", ("Flip",), lambda a: a.flip(0, -1), ((3, 4),), torch=lambda a: a.flip(0, -1)),
    Case("roll", ("Roll",), lambda a: a.roll((1, -2), (0, 1)), ((3, 4),),
         torch=lambda a: a.roll((1, -2), (0, 1))),
    Case("roll_flat", ("Roll",), lambda a: a.roll(5), ((3, 4),), torch=lambda a: a.roll(5)),
    Case("concatenate", ("Concatenate",), lambda a, b: cr.cat([a, b], dim=1), ((3, 2), (3, 4)),
         torch=lambda a, b: T().cat([a, b], dim=1)),
    Case("stack", ("Concatenate",), lambda a, b: cr.stack([a, b, a], dim=-1), ((3, 2), (3, 2)),
         torch=lambda a, b: T().stack([a, b, a], dim=-1)),
    Case("chunk", ("Index",), lambda a: a.chunk(3, 1)[1] * a.chunk(3, 1)[2], ((3, 6),),
         torch=lambda a: a.chunk(3, 1)[1] * a.chunk(3, 1)[2]),
    Case("split_sections", ("Index",), lambda a: a.split([1, 3], 0)[1], ((4, 3),),
         torch=lambda a: a.split([1, 3], 0)[1]),
    Case("unbind", ("Index",), lambda a: a.unbind(1)[2], ((3, 4),), torch=lambda a: a.unbind(1)[2]),
    Case("narrow", ("Index",), lambda a: a.narrow(1, 1, 2), ((3, 4),),
         torch=lambda a: a.narrow(1, 1, 2)),
    Case("rot90", ("Flip", "Transpose"), lambda a: a.rot90(1, (0, 2)) * 2 + a.rot90(3).sum(),
         ((2, 3, 4),), torch=lambda a: a.rot90(1, (0, 2)) * 2 + a.rot90(3).sum()),
    Case("unfold", ("Unfold",), lambda a: a.unfold(1, 3, 2), ((2, 7, 3),),
         torch=lambda a: a.unfold(1, 3, 2)),
    Case("unfold_overlapping", ("Unfold",), lambda a: a.unfold(-1, 4, 1), ((2, 6),),
         torch=lambda a: a.unfold(-1, 4, 1)),
    Case("diff", ("Index", "Sub"), lambda a, b: a.diff(n=2, dim=0, prepend=b), ((4, 3), (1, 3)),
         torch=lambda a, b: a.diff(n=2, dim=0, prepend=b)),
    Case("hsplit", ("Index",), lambda a: a.hsplit(2)[1][1:] * a.vsplit([1])[1][:, :2],
         ((3, 4),), torch=lambda a: a.hsplit(2)[1][1:] * a.vsplit([1])[1][:, :2]),
    Case("tril", ("Where",), lambda a: a.tril(), ((3, 4),), torch=lambda a: a.tril()),
    Case("triu_offset", ("Where",), lambda a: a.triu(1), ((2, 3, 3),), torch=lambda a: a.triu(1)),
    Case("diagonal", ("Diagonal",), lambda a: a.diagonal(1), ((3, 4),),
         torch=lambda a: a.diagonal(1)),
    Case("diagonal_offset_dims", ("Diagonal",), lambda a: a.diagonal(-1, 2, 0), ((3, 2, 4),),
         torch=lambda a: a.diagonal(-1, 2, 0)),
    Case("diagonal_write", ("Diagonal", "ViewScatter"), lambda a, b: _fill_diagonal(a, b),
         ((3, 4), (3,)), torch=lambda a, b: _fill_diagonal(a, b)),
    Case("diag_embed_vector", ("IndexPut",), lambda a: a.diag(), ((3,),), torch=lambda a: a.diag()),
    Case("trace", ("Diagonal", "Sum"), lambda a: a.trace(), ((3, 3),), torch=lambda a: a.trace()),
    Case("pad_constant", ("Pad",), lambda a: F.pad(a, (1, 2, 0, 1), value=0.5), ((2, 3, 4),),
         torch=lambda a: TF().pad(a, (1, 2, 0, 1), value=0.5)),
    Case("pad_crop", ("Pad", "Index"), lambda a: F.pad(a, (-1, 2)), ((2, 3, 4),),
         torch=lambda a: TF().pad(a, (-1, 2))),
    Case("pad_reflect", ("Index",), lambda a: F.pad(a, (2, 1, 1, 2), mode="reflect"),
         ((1, 2, 4, 5),), torch=lambda a: TF().pad(a, (2, 1, 1, 2), mode="reflect")),
    Case("pad_replicate", ("Index",), lambda a: F.pad(a, (2, 3), mode="replicate"), ((2, 3, 4),),
         torch=lambda a: TF().pad(a, (2, 3), mode="replicate")),
    Case("pad_circular", ("Index",), lambda a: F.pad(a, (1, 2), mode="circular"), ((2, 3, 4),),
         torch=lambda a: TF().pad(a, (1, 2), mode="circular")),
    # indexing
    Case("index_slice", ("Index",), lambda a: a[1:, ::2], ((3, 4),), torch=lambda a: a[1:, ::2]),
    Case("index_negative_int", ("Index",), lambda a: a[-1, 1:], ((3, 4),),
         torch=lambda a: a[-1, 1:]),
    Case("index_gather", ("Index",), lambda a: a[np.array([0, 1, 1, 2]), np.array([3, 0, 0, 2])],
         ((3, 4),), torch=lambda a: a[[0, 1, 1, 2], [3, 0, 0, 2]]),
    Case("index_rows_repeated", ("Index",), lambda a: a[ROWS], ((3, 4),),
         torch=lambda a: a[T().tensor(ROWS)]),
    Case("index_int_then_list", ("Index",), lambda a: a[0, :, [0, 1]], ((2, 3, 4),),
         torch=lambda a: a[0, :, [0, 1]]),
    Case("index_list_slice_int", ("Index",), lambda a: a[[1, 0], 1:, 2], ((2, 3, 4),),
         torch=lambda a: a[[1, 0], 1:, 2]),
    Case("index_bool_mask", ("Index",), lambda a: a[cr.tensor(MASK)], ((3, 4),),
         torch=lambda a: a[T().tensor(MASK)]),
    Case("index_none_ellipsis", ("Index",), lambda a: a[None, ..., 1], ((2, 3, 4),),
         torch=lambda a: a[None, ..., 1]),
    Case("index_full_int", ("Index",), lambda a: a[1, 2] * a, ((3, 4),),
         torch=lambda a: a[1, 2] * a),
    Case("gather", ("Index",), lambda a: a.gather(1, cr.tensor(GATHER)), ((3, 4),),
         torch=lambda a: a.gather(1, T().tensor(GATHER))),
    Case("gather_smaller_index", ("Index",),
         lambda a: cr.gather(a, 0, cr.tensor(GATHER[:2, :2] % 3)), ((3, 4),),
         torch=lambda a: T().gather(a, 0, T().tensor(GATHER[:2, :2] % 3))),
    Case("index_select", ("Index",), lambda a: a.index_select(0, cr.tensor(ROWS)), ((3, 4),),
         torch=lambda a: a.index_select(0, T().tensor(ROWS))),
    Case("masked_select", ("Index", "Expand"), lambda a: a.masked_select(cr.tensor(MASK[0])),
         ((3, 4),), torch=lambda a: a.masked_select(T().tensor(MASK[0]))),
    Case("take", ("Index",), lambda a: a.take(cr.tensor(GATHER)), ((3, 4),),
         torch=lambda a: a.take(T().tensor(GATHER))),
    Case("scatter", ("IndexPut",), lambda a, b: a.scatter(1, cr.tensor(SCATTER), b),
         ((3, 4), (3, 3)), torch=lambda a, b: a.scatter(1, T().tensor(SCATTER), b)),
    Case("scatter_add", ("IndexPut",), lambda a, b: a.scatter_add(1, cr.tensor(GATHER), b),
         ((3, 4), (3, 3)), torch=lambda a, b: a.scatter_add(1, T().tensor(GATHER), b)),
    Case("index_add", ("IndexPut",), lambda a, b: a.index_add(0, cr.tensor(ROWS), b),
         ((3, 4), (4, 4)), torch=lambda a, b: a.index_add(0, T().tensor(ROWS), b)),
    Case("index_copy", ("IndexPut",), lambda a, b: a.index_copy(0, cr.tensor([2, 0]), b),
         ((3, 4), (2, 4)), torch=lambda a, b: a.index_copy(0, T().tensor([2, 0]), b)),
    Case("select_scatter", ("ViewScatter",), lambda a, b: a.select_scatter(b, 1, -1),
         ((3, 4), (3,)), torch=lambda a, b: a.select_scatter(b, 1, -1)),
    Case("slice_scatter", ("ViewScatter",), lambda a, b: a.slice_scatter(b, 1, 0, 4, 2),
         ((3, 4), (3, 2)), torch=lambda a, b: a.slice_scatter(b, 1, 0, 4, 2)),
    Case("diagonal_scatter", ("ViewScatter", "Diagonal"), lambda a, b: a.diagonal_scatter(b, 1),
         ((3, 4), (3,)), torch=lambda a, b: a.diagonal_scatter(b, 1)),
    Case("masked_scatter", ("IndexPut",), lambda a, b: a.masked_scatter(cr.tensor(MASK), b),
         ((3, 4), (8,)), torch=lambda a, b: a.masked_scatter(T().tensor(MASK), b)),
    Case("scatter_reduce_sum", ("ScatterReduce",),
         lambda a, b: a.scatter_reduce(1, cr.tensor(GATHER), b, "sum", include_self=False),
         ((3, 4), (3, 3)),
         torch=lambda a, b: a.scatter_reduce(1, T().tensor(GATHER), b, "sum", include_self=False)),
    Case("scatter_reduce_mean", ("ScatterReduce",),
         lambda a, b: a.scatter_reduce(1, cr.tensor(GATHER), b, "mean"), ((3, 4), (3, 3)),
         torch=lambda a, b: a.scatter_reduce(1, T().tensor(GATHER), b, "mean")),
    Case("scatter_reduce_prod", ("ScatterReduce",),
         lambda a, b: a.scatter_reduce(1, cr.tensor(GATHER), b, "prod"), ((3, 4), (3, 3)),
         _with_zeros, torch=lambda a, b: a.scatter_reduce(1, T().tensor(GATHER), b, "prod")),
    Case("scatter_reduce_amax", ("ScatterReduce",),
         lambda a, b: a.scatter_reduce(1, cr.tensor(GATHER), b + 0.05, "amax", include_self=False),
         ((3, 4), (3, 3)), _distinct,
         torch=lambda a, b: a.scatter_reduce(1, T().tensor(GATHER), b + 0.05, "amax",
                                             include_self=False)),
    Case("setitem_recorded", ("IndexPut",), _set_rows, ((3, 4), (3, 4)), torch=_set_rows),
    Case("inplace_on_view", ("ViewScatter",), _view_inplace, ((3, 4), (4, 4)), torch=_view_inplace),
    Case("inplace_chain", ("Add", "Mul", "Sigmoid"), _chain_inplace, ((3, 4), (3, 4)),
         torch=_chain_inplace),
    # neural-network primitives
    Case("relu", ("ReLU",), F.relu, ((3, 4),), _off_zero, torch=lambda a: a.relu()),
    Case("leaky_relu", ("LeakyReLU",), lambda a: F.leaky_relu(a, 0.1), ((3, 4),), _off_zero,
         torch=lambda a: TF().leaky_relu(a, 0.1)),
    Case("sigmoid", ("Sigmoid",), F.sigmoid, ((3, 4),), torch=lambda a: a.sigmoid()),
    Case("tanh", ("Tanh",), F.tanh, ((3, 4),), torch=lambda a: a.tanh()),
    Case("softmax", ("Softmax",), lambda a: F.softmax(a, dim=1), ((3, 4),),
         torch=lambda a: a.softmax(dim=1)),
    Case("softmax_negative_dim", ("Softmax",), lambda a: a.softmax(-2), ((2, 3, 4),),
         torch=lambda a: a.softmax(-2)),
    Case("log_softmax", ("LogSoftmax",), lambda a: F.log_softmax(a, dim=0), ((3, 4),),
         torch=lambda a: a.log_softmax(dim=0)),
    Case("linear", ("Linear",), F.linear, ((5, 4), (3, 4), (3,)),
         torch=lambda x, w, b: TF().linear(x, w, b)),
    Case("linear_nobias_3d", ("Linear",), F.linear, ((2, 5, 4), (3, 4)),
         torch=lambda x, w: TF().linear(x, w)),
    Case("cross_entropy", ("CrossEntropy",), lambda a: F.cross_entropy(a, LABELS), ((4, 3),),
         torch=lambda a: TF().cross_entropy(a, torch_labels())),
    Case("cross_entropy_sum", ("CrossEntropy",),
         lambda a: F.cross_entropy(a, LABELS, reduction="sum"), ((4, 3),),
         torch=lambda a: TF().cross_entropy(a, torch_labels(), reduction="sum")),
    Case("cross_entropy_none", ("CrossEntropy",),
         lambda a: F.cross_entropy(a, LABELS, reduction="none"), ((4, 3),),
         torch=lambda a: TF().cross_entropy(a, torch_labels(), reduction="none")),
    Case("cross_entropy_probs", ("LogSoftmax",), lambda a, t: F.cross_entropy(a, t.softmax()),
         ((4, 3), (4, 3)), torch=lambda a, t: TF().cross_entropy(a, t.softmax(dim=1))),
    Case("bce_with_logits", ("BCEWithLogits",), F.binary_cross_entropy_with_logits,
         ((4, 3), (4, 3)), torch=lambda a, t: TF().binary_cross_entropy_with_logits(a, t)),
    Case("bce", ("BCE",), F.binary_cross_entropy, ((6,), (6,)), _probability,
         torch=lambda p, t: TF().binary_cross_entropy(p, t)),
    Case("mse", ("Sub", "Mul", "Mean"), lambda a, b: F.mse_loss(a, b), ((4, 3), (4, 3)),
         torch=lambda a, b: TF().mse_loss(a, b)),
    Case("mse_sum", ("Sub", "Mul", "Sum"), lambda a, b: F.mse_loss(a, b, reduction="sum"),
         ((4, 3), (4, 3)), torch=lambda a, b: TF().mse_loss(a, b, reduction="sum")),
    Case("dropout", ("Mul",), lambda a: F.dropout(a, 0.3), ((6, 5),)),
]  # fmt: skip


def torch_labels() -> Any:
    return T().tensor(LABELS)


# ----------------------------------------------------------------------------- activations,
# normalisation and embedding (ops.activation, ops.norm, ops.embedding)
KINKS = (-6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0, 6.0)  # where a kink of some activation is
TOKENS = np.array([[1, 4, 4, 0], [2, 1, 4, 3]])  # embedding indices (2, 4): repeats and row 0


def _kinks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Exactly at the kinks (PyTorch defines the one-sided gradient there) and just beside."""
    points = rng.choice(KINKS, shape)
    return points + rng.choice([0.0, 0.0, 1e-3, -1e-3], shape)


def _large(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """|x| in [90, 120]: e^x overflows float32 beyond 88, so a naive log(1 + e^x) would."""
    return rng.uniform(90, 120, shape) * rng.choice([-1.0, 1.0], shape)


def _off_kinks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """At least 0.05 from every kink in KINKS, so central differences see one smooth piece."""
    x = rng.uniform(-7, 7, shape)
    nearest = np.asarray(KINKS)[np.abs(x[..., None] - np.asarray(KINKS)).argmin(-1)]
    close = np.abs(x - nearest) < 0.05
    return np.where(close, nearest + 0.1, x)


CASES += [
    Case("gelu", ("GELU",), F.gelu, ((3, 4),), torch=lambda a: TF().gelu(a)),
    Case("gelu_tanh", ("GELU",), lambda a: F.gelu(a, approximate="tanh"), ((3, 4),),
         torch=lambda a: TF().gelu(a, approximate="tanh")),
    Case("gelu_large", ("GELU",), F.gelu, ((3, 4),), _large, torch=lambda a: TF().gelu(a)),
    Case("silu", ("SiLU",), F.silu, ((3, 4),), torch=lambda a: TF().silu(a)),
    Case("silu_large", ("SiLU",), F.silu, ((3, 4),), _large, torch=lambda a: TF().silu(a)),
    Case("mish", ("Mish",), F.mish, ((3, 4),), torch=lambda a: TF().mish(a)),
    Case("mish_large", ("Mish",), F.mish, ((3, 4),), _large, torch=lambda a: TF().mish(a)),
    Case("softplus", ("Softplus",), F.softplus, ((3, 4),), torch=lambda a: TF().softplus(a)),
    Case("softplus_beta_threshold", ("Softplus",), lambda a: F.softplus(a, 2.0, 1.0),
         ((4, 5),), _off_kinks, torch=lambda a: TF().softplus(a, 2.0, 1.0)),
    # No twin: PyTorch's log1p(exp(βx)) overflows to inf here; ours is finite (and exact).
    Case("softplus_large", ("Softplus",), lambda a: F.softplus(a, threshold=1000.0), ((3, 4),),
         _large),
    Case("logsigmoid", ("LogSigmoid",), F.logsigmoid, ((3, 4),),
         torch=lambda a: TF().logsigmoid(a)),
    Case("logsigmoid_large", ("LogSigmoid",), F.logsigmoid, ((3, 4),), _large,
         torch=lambda a: TF().logsigmoid(a)),
    Case("elu", ("ELU",), lambda a: F.elu(a, 0.7), ((3, 4),), _off_zero,
         torch=lambda a: TF().elu(a, 0.7)),
    Case("elu_large", ("ELU",), F.elu, ((3, 4),), _large, torch=lambda a: TF().elu(a)),
    Case("celu", ("ELU",), lambda a: F.celu(a, 2.0), ((3, 4),), _off_zero,
         torch=lambda a: TF().celu(a, 2.0)),
    Case("selu", ("ELU",), F.selu, ((3, 4),), _off_zero, torch=lambda a: TF().selu(a)),
    Case("hardtanh", ("Hardtanh",), lambda a: F.hardtanh(a, -1.0, 1.5), ((4, 5),), _off_kinks,
         torch=lambda a: TF().hardtanh(a, -1.0, 1.5)),
    Case("relu6", ("Hardtanh",), F.relu6, ((4, 5),), _off_kinks, torch=lambda a: TF().relu6(a)),
    Case("hardsigmoid", ("Hardtanh", "Add", "Div"), F.hardsigmoid, ((4, 5),), _off_kinks,
         torch=lambda a: TF().hardsigmoid(a)),
    Case("hardswish", ("Hardswish",), F.hardswish, ((4, 5),), _off_kinks,
         torch=lambda a: TF().hardswish(a)),
    Case("softsign", ("Abs", "Add", "Div"), F.softsign, ((3, 4),),
         torch=lambda a: TF().softsign(a)),
    Case("tanhshrink", ("Tanh", "Sub"), F.tanhshrink, ((3, 4),),
         torch=lambda a: TF().tanhshrink(a)),
    Case("softshrink", ("Where",), lambda a: F.softshrink(a, 1.0), ((4, 5),), _off_kinks,
         torch=lambda a: TF().softshrink(a, 1.0)),
    Case("hardshrink", ("Where",), F.hardshrink, ((4, 5),), _off_kinks,
         torch=lambda a: TF().hardshrink(a)),
    Case("threshold", ("Where",), lambda a: F.threshold(a, 0.5, -2.0), ((4, 5),), _off_kinks,
         torch=lambda a: TF().threshold(a, 0.5, -2.0)),
    Case("softmin", ("Softmax", "Neg"), lambda a: F.softmin(a, dim=1), ((3, 4),),
         torch=lambda a: TF().softmin(a, dim=1)),
    Case("log_softmax_large", ("LogSoftmax",), lambda a: F.log_softmax(a, 1), ((3, 4),), _large,
         torch=lambda a: TF().log_softmax(a, 1)),
    Case("prelu_shared", ("Where", "Mul"), F.prelu, ((2, 3, 4), (1,)), _off_zero,
         torch=lambda a, w: TF().prelu(a, w)),
    Case("prelu_channels", ("Where", "Mul"), F.prelu, ((2, 3, 4), (3,)), _off_zero,
         torch=lambda a, w: TF().prelu(a, w)),
    Case("glu", ("Sigmoid", "Mul"), lambda a: F.glu(a, 1), ((3, 6),),
         torch=lambda a: TF().glu(a, 1)),
    # At the kinks themselves: PyTorch's one-sided gradients (no finite differences there).
    *(Case(f"{name}_at_kinks", ops_, fn, ((6, 8),), _kinks, torch=twin, exact=False)
      for name, ops_, fn, twin in [
          ("relu", ("ReLU",), F.relu, lambda a: TF().relu(a)),
          ("leaky_relu", ("LeakyReLU",), F.leaky_relu, lambda a: TF().leaky_relu(a)),
          ("elu", ("ELU",), F.elu, lambda a: TF().elu(a)),
          ("celu", ("ELU",), lambda a: F.celu(a, 2.0), lambda a: TF().celu(a, 2.0)),
          ("selu", ("ELU",), F.selu, lambda a: TF().selu(a)),
          ("hardtanh", ("Hardtanh",), F.hardtanh, lambda a: TF().hardtanh(a)),
          ("relu6", ("Hardtanh",), F.relu6, lambda a: TF().relu6(a)),
          ("hardsigmoid", ("Hardtanh",), F.hardsigmoid, lambda a: TF().hardsigmoid(a)),
          ("hardswish", ("Hardswish",), F.hardswish, lambda a: TF().hardswish(a)),
          ("softshrink", ("Where",), F.softshrink, lambda a: TF().softshrink(a)),
          ("hardshrink", ("Where",), F.hardshrink, lambda a: TF().hardshrink(a)),
          ("threshold", ("Where",), lambda a: F.threshold(a, 1.0, 5.0),
           lambda a: TF().threshold(a, 1.0, 5.0)),
          ("softplus", ("Softplus",), lambda a: F.softplus(a, 2.0, 3.0),
           lambda a: TF().softplus(a, 2.0, 3.0)),
          ("softsign", ("Abs",), F.softsign, lambda a: TF().softsign(a)),
          ("prelu", ("Where",), lambda a: F.prelu(a, cr.tensor([0.25])),
           lambda a: TF().prelu(a, T().tensor([0.25]))),
      ]),
    # normalisation
    Case("layer_norm", ("LayerNorm",), lambda x, w, b: F.layer_norm(x, (4,), w, b),
         ((3, 4), (4,), (4,)), torch=lambda x, w, b: TF().layer_norm(x, (4,), w, b)),
    Case("layer_norm_2d_weight_only", ("LayerNorm",), lambda x, w: F.layer_norm(x, (3, 4), w),
         ((2, 3, 4), (3, 4)), torch=lambda x, w: TF().layer_norm(x, (3, 4), w)),
    Case("layer_norm_no_affine", ("LayerNorm",), lambda x: F.layer_norm(x, [5], eps=1e-3),
         ((2, 3, 5),), torch=lambda x: TF().layer_norm(x, [5], eps=1e-3)),
    Case("group_norm", ("LayerNorm", "Mul", "Add"), lambda x, w, b: F.group_norm(x, 2, w, b),
         ((2, 4, 3, 2), (4,), (4,)), torch=lambda x, w, b: TF().group_norm(x, 2, w, b)),
    Case("rms_norm", ("Mul", "Mean", "Rsqrt"), lambda x, w: F.rms_norm(x, (4,), w),
         ((3, 4), (4,)), torch=lambda x, w: TF().rms_norm(x, (4,), w)),
    Case("rms_norm_eps", ("Mul", "Mean", "Rsqrt"), lambda x: F.rms_norm(x, (2, 3), eps=1e-3),
         ((2, 2, 3),), torch=lambda x: TF().rms_norm(x, (2, 3), eps=1e-3)),
    # embedding: repeated indices accumulate; padding_idx and scale_grad_by_freq change the
    # gradient on purpose, so those two are checked against PyTorch only
    Case("embedding", ("Embedding",), lambda w: F.embedding(cr.tensor(TOKENS), w), ((5, 3),),
         torch=lambda w: TF().embedding(T().tensor(TOKENS), w)),
    Case("embedding_padding_idx", ("Embedding",),
         lambda w: F.embedding(cr.tensor(TOKENS), w, padding_idx=4), ((5, 3),),
         torch=lambda w: TF().embedding(T().tensor(TOKENS), w, padding_idx=4),
         exact=False),  # the padding row's gradient is 0 by definition, not the derivative
    Case("embedding_scale_grad_by_freq", ("Embedding",),
         lambda w: F.embedding(TOKENS, w, scale_grad_by_freq=True), ((5, 3),),
         torch=lambda w: TF().embedding(T().tensor(TOKENS), w, scale_grad_by_freq=True),
         exact=False),  # a rescaled gradient by definition
]  # fmt: skip
