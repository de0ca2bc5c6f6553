"""Normalisation layers over features: LayerNorm, GroupNorm, RMSNorm (BatchNorm is in conv).

Weights start at 1 and biases at 0, as PyTorch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as F
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError
from ..functional.normalization import _shape_tuple
from ..tensor import Tensor
from .module import Module, Parameter, empty


def _affine(
    module: Module, shape: tuple[int, ...], wanted: dict[str, bool], dtype: Any, device: Any
) -> None:
    """Register each of weight (ones) and bias (zeros) of shape named in wanted, or None where
    it is declared but switched off."""
    check_device(device)
    dtype = np.float32 if dtype is None else as_dtype(dtype)
    name = type(module).__name__
    for key, on in wanted.items():
        if on:
            module.register_parameter(key, Parameter(empty(shape, dtype, f"{name}'s {key}")))
        else:
            module.register_parameter(key, None)
    _reset(module)


def _reset(module: Module) -> None:
    if module.weight is not None:
        module.weight.array[...] = 1
    if getattr(module, "bias", None) is not None:
        module.bias.array[...] = 0


class LayerNorm(Module):
    """(x - mean)/√(var + eps)·weight + bias over the trailing normalized_shape dims.

    Args:
        normalized_shape: the trailing shape normalised over (an int for the last dim).
        elementwise_affine: learn weight (and bias, unless bias=False) of normalized_shape.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = {"weight": elementwise_affine, "bias": elementwise_affine and bias}
        _affine(self, self.normalized_shape, affine, dtype, device)

    def reset_parameters(self) -> None:
        """weight 1, bias 0."""
        _reset(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalise groups of channels of (N, C, *) input; weight and bias (num_channels,)."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ConfigError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine(self, (num_channels,), {"weight": affine, "bias": affine and bias}, dtype, device)

    def reset_parameters(self) -> None:
        """weight 1, bias 0."""
        _reset(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """x/√(mean(x²) + eps)·weight over the trailing normalized_shape dims; eps=None is the
    input dtype's machine epsilon."""

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine(self, self.normalized_shape, {"weight": elementwise_affine}, dtype, device)

    def reset_parameters(self) -> None:
        """weight 1."""
        _reset(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
