"""Normalisation layers: LayerNorm, GroupNorm, RMSNorm, InstanceNorm1d/2d/3d and
LocalResponseNorm (BatchNorm is in conv).

Weights start at 1 and biases at 0, as PyTorch's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import functional as F
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError, ShapeError
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


class _InstanceNorm(Module):
    """Per-sample, per-channel normalisation over the spatial positions.

    weight (ones) and bias (zeros) of (num_features,) are Parameters when affine (bias unless
    bias=False); running_mean, running_var and num_batches_tracked are buffers when
    track_running_stats, updated in training and used in evaluation. num_batches_tracked is
    kept for PyTorch's state_dict and never advanced, as PyTorch's.
    """

    spatial_dims = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        affine_on = {"weight": affine, "bias": affine and bias}
        _affine(self, (num_features,), affine_on, dtype, device)
        dtype = np.float32 if dtype is None else as_dtype(dtype)
        if track_running_stats:
            self.register_buffer("running_mean", empty(num_features, dtype, "running_mean"))
            self.register_buffer("running_var", empty(num_features, dtype, "running_var"))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
            self.reset_running_stats()
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """running_mean 0, running_var 1, num_batches_tracked 0."""
        if self.track_running_stats:
            self.running_mean.array.fill(0)
            self.running_var.array.fill(1)
            self.num_batches_tracked.array.fill(0)

    def reset_parameters(self) -> None:
        """The running statistics reset; weight 1, bias 0."""
        self.reset_running_stats()
        _reset(self)

    def forward(self, input: Tensor) -> Tensor:
        name, batched = type(self).__name__, self.spatial_dims + 2
        if input.ndim not in (batched - 1, batched):
            raise ShapeError(
                f"{name}({self.num_features}) expects input of {batched - 1} or {batched} dims "
                f"((C, *spatial) or (N, C, *spatial)), got shape {input.shape}"
            )
        channels = input.shape[input.ndim - self.spatial_dims - 1]
        if channels != self.num_features:
            text = (
                f"{name}({self.num_features}) expects {self.num_features} channels at dim "
                f"{input.ndim - self.spatial_dims - 1}, got {channels} in input of shape "
                f"{input.shape}"
            )
            if self.affine or self.track_running_stats:
                raise ShapeError(text)
            # Without per-channel weights or statistics num_features is unused: PyTorch warns.
            warnings.warn(text + " (num_features is unused when affine=False)", stacklevel=2)
        unbatched = input.ndim == batched - 1
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or (C, L) input."""

    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or (C, H, W) input."""

    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or (C, D, H, W) input."""

    spatial_dims = 3


class LocalResponseNorm(Module):
    """x / (k + alpha·mean(x²))^beta, the mean over size neighbouring channels (zero padded),
    on (N, C, *) input."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
