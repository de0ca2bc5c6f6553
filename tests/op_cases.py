"""One line per op case: name, the primitives it exercises, input shapes, domain, torch twin.

test_ops.py runs each case through gradcheck (float64), a float32 check and, where PyTorch is
installed, a forward/backward comparison with its twin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import functional as F

LABELS = np.array([0, 2, 1, 2])  # class labels for (4, 3) logits


def _real(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape)


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _off_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Away from the kink at 0 of relu/abs/leaky_relu, where finite differences are wrong."""
    x = rng.uniform(0.1, 1.5, shape)
    return x * rng.choice([-1.0, 1.0], shape)


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """All values at least 0.1 apart, so max has no ties within ±eps."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 - 1.0


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

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        return [self.domain(rng, s) for s in self.shapes]


def _probs(t: Any) -> Any:
    return t.softmax(dim=1)


CASES = [
    Case("add", ("Add",), lambda a, b: a + b, ((3, 4), (3, 4)), torch=lambda a, b: a + b),
    Case("add_broadcast", ("Add",), lambda a, b: a + b, ((2, 1, 4), (3, 1)),
         torch=lambda a, b: a + b),
    Case("sub_broadcast", ("Sub",), lambda a, b: a - b, ((3, 4), (4,)), torch=lambda a, b: a - b),
    Case("mul_broadcast", ("Mul",), lambda a, b: a * b, ((3, 1), (1, 4)),
         torch=lambda a, b: a * b),
    Case("div", ("Div",), lambda a, b: a / b, ((3, 4), (3, 4)), _positive,
         torch=lambda a, b: a / b),
    Case("neg", ("Neg",), lambda a: -a, ((5,),), torch=lambda a: -a),
    Case("pow_scalar", ("Pow",), lambda a: a**3, ((3, 4),), _positive, torch=lambda a: a**3),
    Case("pow_tensor", ("Pow",), lambda a, b: a**b, ((3, 4), (3, 4)), _positive,
         torch=lambda a, b: a**b),
    Case("exp", ("Exp",), lambda a: a.exp(), ((3, 4),), torch=lambda a: a.exp()),
    Case("log", ("Log",), lambda a: a.log(), ((3, 4),), _positive, torch=lambda a: a.log()),
    Case("sqrt", ("Sqrt",), lambda a: a.sqrt(), ((3, 4),), _positive, torch=lambda a: a.sqrt()),
    Case("abs", ("Abs",), lambda a: a.abs(), ((3, 4),), _off_zero, torch=lambda a: a.abs()),
    Case("clip", ("Clip",), lambda a: a.clip(-0.5, 0.5), ((4, 5),), _off_zero,
         torch=lambda a: a.clamp(-0.5, 0.5)),
    Case("where", ("Where",), lambda a, b: cr.where(a.data > 0, a, b), ((3, 4), (3, 4)),
         torch=lambda a, b: torch_where(a, b)),
    Case("matmul", ("MatMul",), lambda a, b: a @ b, ((3, 4), (4, 5)), torch=lambda a, b: a @ b),
    Case("matmul_batched", ("MatMul",), lambda a, b: a @ b, ((2, 3, 4), (4, 5)),
         torch=lambda a, b: a @ b),
    Case("matmul_vector_left", ("MatMul",), lambda a, b: a @ b, ((4,), (4, 5)),
         torch=lambda a, b: a @ b),
    Case("matmul_vector_right", ("MatMul",), lambda a, b: a @ b, ((3, 4), (4,)),
         torch=lambda a, b: a @ b),
    Case("matmul_dot", ("MatMul",), lambda a, b: a @ b, ((4,), (4,)), torch=lambda a, b: a @ b),
    Case("sum_all", ("Sum",), lambda a: a.sum(), ((3, 4),), torch=lambda a: a.sum()),
    Case("sum_axes", ("Sum",), lambda a: a.sum(axis=(0, 2)), ((2, 3, 4),),
         torch=lambda a: a.sum(dim=(0, 2))),
    Case("sum_keepdims", ("Sum",), lambda a: a.sum(axis=1, keepdims=True), ((3, 4),),
         torch=lambda a: a.sum(dim=1, keepdim=True)),
    Case("mean_axis", ("Mean",), lambda a: a.mean(axis=-1), ((3, 4),),
         torch=lambda a: a.mean(dim=-1)),
    Case("mean_all", ("Mean",), lambda a: a.mean(), ((3, 4),), torch=lambda a: a.mean()),
    Case("max_axis", ("Max",), lambda a: a.max(axis=1), ((3, 4),), _distinct,
         torch=lambda a: a.amax(dim=1)),
    Case("max_all_keepdims", ("Max",), lambda a: a.max(axis=None, keepdims=True), ((3, 4),),
         _distinct, torch=lambda a: a.amax().reshape(1, 1)),
    Case("reshape", ("Reshape",), lambda a: a.reshape(4, 3), ((3, 4),),
         torch=lambda a: a.reshape(4, 3)),
    Case("transpose", ("Transpose",), lambda a: a.transpose(2, 0, 1), ((2, 3, 4),),
         torch=lambda a: a.permute(2, 0, 1)),
    Case("index_slice", ("Index",), lambda a: a[1:, ::2], ((3, 4),), torch=lambda a: a[1:, ::2]),
    Case("index_gather", ("Index",), lambda a: a[np.array([0, 1, 1, 2]), np.array([3, 0, 0, 2])],
         ((3, 4),), torch=lambda a: a[[0, 1, 1, 2], [3, 0, 0, 2]]),
    Case("concatenate", ("Concatenate",), lambda a, b: cr.concatenate([a, b], axis=1),
         ((3, 2), (3, 4)), torch=lambda a, b: cat(a, b)),
    Case("relu", ("ReLU",), F.relu, ((3, 4),), _off_zero, torch=lambda a: a.relu()),
    Case("leaky_relu", ("LeakyReLU",), lambda a: F.leaky_relu(a, 0.1), ((3, 4),), _off_zero,
         torch=lambda a: torch_f().leaky_relu(a, 0.1)),
    Case("sigmoid", ("Sigmoid",), F.sigmoid, ((3, 4),), torch=lambda a: a.sigmoid()),
    Case("tanh", ("Tanh",), F.tanh, ((3, 4),), torch=lambda a: a.tanh()),
    Case("softmax", ("Softmax",), lambda a: F.softmax(a, dim=1), ((3, 4),),
         torch=lambda a: a.softmax(dim=1)),
    Case("log_softmax", ("LogSoftmax",), lambda a: F.log_softmax(a, dim=0), ((3, 4),),
         torch=lambda a: a.log_softmax(dim=0)),
    Case("linear", ("Linear",), F.linear, ((5, 4), (3, 4), (3,)),
         torch=lambda x, w, b: torch_f().linear(x, w, b)),
    Case("linear_nobias_3d", ("Linear",), F.linear, ((2, 5, 4), (3, 4)),
         torch=lambda x, w: torch_f().linear(x, w)),
    Case("cross_entropy", ("CrossEntropy",), lambda a: F.cross_entropy(a, LABELS), ((4, 3),),
         torch=lambda a: torch_f().cross_entropy(a, torch_labels())),
    Case("cross_entropy_none", ("CrossEntropy",),
         lambda a: F.cross_entropy(a, LABELS, reduction="none"), ((4, 3),),
         torch=lambda a: torch_f().cross_entropy(a, torch_labels(), reduction="none")),
    Case("cross_entropy_probs", ("LogSoftmax",), lambda a, t: F.cross_entropy(a, t.softmax()),
         ((4, 3), (4, 3)), torch=lambda a, t: torch_f().cross_entropy(a, _probs(t))),
    Case("bce_with_logits", ("BCEWithLogits",), F.binary_cross_entropy_with_logits,
         ((4, 3), (4, 3)), torch=lambda a, t: torch_f().binary_cross_entropy_with_logits(a, t)),
    Case("bce", ("BCE",), F.binary_cross_entropy, ((6,), (6,)), _probability,
         torch=lambda p, t: torch_f().binary_cross_entropy(p, t)),
    Case("mse", ("Sub", "Mul", "Mean"), lambda a, b: F.mse_loss(a, b), ((4, 3), (4, 3)),
         torch=lambda a, b: torch_f().mse_loss(a, b)),
    Case("mse_sum", ("Sub", "Mul", "Sum"), lambda a, b: F.mse_loss(a, b, reduction="sum"),
         ((4, 3), (4, 3)), torch=lambda a, b: torch_f().mse_loss(a, b, reduction="sum")),
    Case("dropout", ("Mul",), lambda a: F.dropout(a, 0.3), ((6, 5),)),
]  # fmt: skip


def torch_f() -> Any:
    import torch.nn.functional

    return torch.nn.functional


def torch_labels() -> Any:
    import torch

    return torch.tensor(LABELS)


def torch_where(a: Any, b: Any) -> Any:
    import torch

    return torch.where(a > 0, a, b)


def cat(a: Any, b: Any) -> Any:
    import torch

    return torch.cat([a, b], dim=1)
