"""Convolution, pooling and batch-norm layers, with PyTorch's names, arguments and weight shapes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..errors import ShapeError
from ..functional.conv import _pair as _checked_pair
from ..tensor import Tensor
from .init import init_layer
from .module import Module, Parameter

IntPair = int | tuple[int, int] | list[int]


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    return _checked_pair(value, name)


def _text(pair: tuple[int, int]) -> str:
    """PyTorch's repr of a pair: (3, 3)."""
    return f"({pair[0]}, {pair[1]})"


class Unflatten(Module):
    """(N, C·H·W) -> (N, C, H, W): axis dim unfolded into unflattened_size, as PyTorch's.

    Unlike PyTorch's, an input that already has that shape from dim on passes through, so a
    CNN that starts with Unflatten takes flat rows (the shipped digits) and images (MNIST).
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(int(n) for n in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        size, dim = self.unflattened_size, self.dim
        if x.shape[dim:] == size:
            return x
        if x.ndim != dim + 1 or x.shape[dim] != int(np.prod(size)):
            flat = (*x.shape[:dim], int(np.prod(size))) if x.ndim > dim else ("N", "...")
            raise ShapeError(
                f"{type(self).__name__}({dim}, {size}) expects input {flat} or "
                f"{(*x.shape[:dim], *size)}, got {x.shape}"
            )
        return x.reshape(*x.shape[:dim], *size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim, "unflattened_size": list(self.unflattened_size)}


class Conv2d(Module):
    """2-D convolution: weight (out_channels, in_channels, kh, kw), bias (out_channels,).

    Args:
        kernel_size, stride, padding: an int or a (vertical, horizontal) pair; zero padding.
        init: as Linear: 'he' (default, for ReLU), 'xavier', 'he_normal', 'xavier_normal',
            'torch' or 'normal'; fans count each kernel position (in_channels·kh·kw).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        bias: bool = True,
        init: str = "he",
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride, self.padding = _pair(stride, "stride"), _pair(padding, "padding")
        self.init = init
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=np.float32))
        self.bias = Parameter(np.empty(out_channels, dtype=np.float32)) if bias else None
        init_layer(self.weight, self.bias, init)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={_text(self.kernel_size)}, "
            f"stride={_text(self.stride)}"
        )
        if self.padding != (0, 0):
            text += f", padding={_text(self.padding)}"
        return text + ("" if self.bias is not None else ", bias=False")

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "bias": self.bias is not None,
        }


class _Pool2d(Module):
    def __init__(
        self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"{type(self).__name__}: padding {self.padding} must be at most half the kernel "
                f"{self.kernel_size}"
            )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={_text(self.kernel_size)}, stride={_text(self.stride)}, "
            f"padding={_text(self.padding)}"
        )

    def config(self) -> dict[str, Any]:
        return {
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }


class MaxPool2d(_Pool2d):
    """Max over each window of (N, C, H, W); stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over each window of (N, C, H, W), zero padding counted; stride defaults to kernel."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class _BatchNorm(Module):
    """Per-feature normalisation by batch statistics in training, running statistics in eval.

    weight (γ, ones) and bias (β, zeros) are Parameters; running_mean and running_var are
    float32 buffers (saved in state_dict), updated with momentum and the unbiased variance.
    """

    expected_dims: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"batch norm momentum must be in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32))
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}) expects input "
                f"{self.layout.format(self.num_features)}, got {x.shape}"
            )
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, D) features, or (N, C, L) sequences per channel."""

    expected_dims = (2, 3)
    layout = "(N, {0}) or (N, {0}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) images per channel, over the N·H·W positions."""

    expected_dims = (4,)
    layout = "(N, {0}, H, W)"
