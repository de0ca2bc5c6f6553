"""Activations and softmax as functions."""

from __future__ import annotations

from .. import ops
from ..tensor import Tensor, apply


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu_() if inplace else apply(ops.ReLU, x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    if inplace:
        return x._inplace(
            lambda t: apply(ops.LeakyReLU, t, negative_slope=negative_slope), "leaky_relu_"
        )
    return apply(ops.LeakyReLU, x, negative_slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return apply(ops.Sigmoid, x)


def tanh(x: Tensor) -> Tensor:
    return apply(ops.Tanh, x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return apply(ops.Softmax, x, axis=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return apply(ops.LogSoftmax, x, axis=dim)
