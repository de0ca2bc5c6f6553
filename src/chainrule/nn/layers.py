"""Layers: one class each, PyTorch's names, argument names and weight shapes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..errors import ShapeError
from ..tensor import Tensor
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .dropout import Dropout
from .init import init_layer, uniform_
from .module import Module, Parameter, empty

# The activations and Dropout live in their families' files; still importable from here.
__all__ = [
    "Bilinear",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Normalize",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class Linear(Module):
    """y = x @ weightᵀ + bias with weight (out_features, in_features), bias (out_features,).

    Args:
        init: 'torch' (the default: PyTorch's, He uniform with a=√5 and bias U(±1/√in)), 'he'
            (for ReLU), 'xavier' (for sigmoid/tanh), 'he_normal', 'xavier_normal' or 'normal'
            (naive N(0, 1)).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = np.float32 if dtype is None else dtype
        self.weight = Parameter(empty((out_features, in_features), dtype, "Linear's weight"))
        if bias:
            self.bias = Parameter(empty(out_features, dtype, "Linear's bias"))
        else:
            self.register_parameter("bias", None)
        init_layer(self.weight, self.bias, init)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1ᵀ·weight·x2 + bias with weight (out_features, in1_features, in2_features) and bias
    (out_features,), both U(±1/√in1_features) at the start, as PyTorch's."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        dtype = np.float32 if dtype is None else dtype
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(empty(shape, dtype, "Bilinear's weight"))
        if bias:
            self.bias = Parameter(empty(out_features, dtype, "Bilinear's bias"))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight and bias U(±1/√in1_features)."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    """y = x (any arguments are accepted and ignored, as PyTorch's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def config(self) -> dict[str, Any]:
        return {}

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """(N, C, H, W) -> (N, C·H·W): the dims from start_dim to end_dim folded into one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim <= self.start_dim:
            raise ShapeError(
                f"Flatten(start_dim={self.start_dim}) needs at least {self.start_dim + 1} "
                f"dimensions, got input of shape {input.shape}"
            )
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Normalize(Module):
    """y = (x - mean) / std with fixed statistics (of the training split), stored in the model.

    Keeping input normalisation inside the model means a saved model takes raw inputs: the
    statistics travel with the weights and cannot be forgotten or recomputed on test data.
    """

    def __init__(self, shape: tuple[int, ...] | list[int] = (1,)) -> None:
        super().__init__()
        self.register_buffer("mean", empty(tuple(shape), np.float32, "Normalize's mean"))
        self.register_buffer("std", empty(tuple(shape), np.float32, "Normalize's std"))
        self.mean.array.fill(0)
        self.std.array.fill(1)

    @classmethod
    def from_data(cls, x: np.ndarray, per_feature: bool = False) -> Normalize:
        """Statistics of x (N, *features): per feature, or one mean and std for all values."""
        axis = 0 if per_feature else None
        count = len(x) if per_feature else x.size
        # Sums in float64 over chunks of rows: exact statistics without a float64 copy of x.
        total = sum(c.sum(axis=axis, dtype=np.float64) for c in _row_chunks(x))
        mean = total / count
        squares = sum(
            (np.square(c.astype(np.float64) - mean)).sum(axis=axis) for c in _row_chunks(x)
        )
        std = np.sqrt(squares / count)
        layer = cls(np.shape(mean) if per_feature else (1,))
        layer.mean[...] = mean
        layer.std[...] = np.where(std > 0, std, 1.0)  # a constant feature passes through
        return layer

    def forward(self, x: Tensor) -> Tensor:
        mean, std = self.mean.to(x.dtype), self.std.to(x.dtype)
        return (x - mean) / std

    def extra_repr(self) -> str:
        return f"shape={tuple(self.mean.shape)}"


def _row_chunks(x: np.ndarray, rows: int = 4096) -> list[np.ndarray]:
    return [x[i : i + rows] for i in range(0, len(x), rows)]
