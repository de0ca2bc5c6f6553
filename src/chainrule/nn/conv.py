"""Convolution (1-d, 2-d, 3-d, transposed) and batch-norm layers, with PyTorch's names, arguments,
defaults, weight shapes and initialisation. Pooling is in ``pooling.py``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError, ShapeError
from ..functional.conv import IntPair, Padding, _pair, _single, _triple
from ..tensor import Tensor
from .init import init_layer
from .module import Module, Parameter, empty

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


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


def _tuple(value: IntPair, name: str, dims: int) -> tuple[int, ...]:
    """PyTorch's stored form of a size argument: a dims-tuple of ints."""
    if dims == 3:
        return _triple(value, name)
    return (_single(value, name),) if dims == 1 else _pair(value, name)


class _ConvNd(Module):
    """What the convolutions share: arguments, parameters (PyTorch's shapes and default init),
    and PyTorch's repr. Subclasses set dims and transposed and state their own signature."""

    dims = 2
    transposed = False

    def _setup(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair,
        padding: Padding,
        dilation: IntPair,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: IntPair,
        device: Any,
        dtype: Any,
        init: str,
    ) -> None:
        name, dims = type(self).__name__, self.dims
        check_device(device)
        if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
            raise ConfigError(f"{name}: groups must be a positive integer, got {groups!r}")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ConfigError(
                    f"{name}: {what} must be divisible by groups, got {what}={channels} and "
                    f"groups={groups}"
                )
        if padding_mode not in _PADDING_MODES:
            raise ConfigError(
                f"{name}: padding_mode must be one of {', '.join(_PADDING_MODES)}, got "
                f"{padding_mode!r}"
            )
        if self.transposed and padding_mode != "zeros":
            raise ConfigError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, int(groups)
        self.kernel_size = _tuple(kernel_size, "kernel_size", dims)
        self.stride = _tuple(stride, "stride", dims)
        self.dilation = _tuple(dilation, "dilation", dims)
        self.output_padding = _tuple(output_padding, "output_padding", dims)
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same") or self.transposed:
                raise ConfigError(
                    f"{name}: invalid padding string {padding!r}, should be one of 'valid', "
                    "'same'"
                    + (" (and none for a transposed convolution)" if self.transposed else "")
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ConfigError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
            self.padding: tuple[int, ...] | str = padding
            totals = [
                d * (k - 1) if padding == "same" else 0
                for d, k in zip(self.dilation, self.kernel_size, strict=True)
            ]
            # F.pad's order, the last dim first: PyTorch puts an odd remainder after.
            reversed_twice = [(t // 2, t - t // 2) for t in reversed(totals)]
        else:
            self.padding = _tuple(padding, "padding", dims)
            reversed_twice = [(p, p) for p in reversed(self.padding)]
        self._reversed_padding_repeated_twice = tuple(w for pair in reversed_twice for w in pair)
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        name = type(self).__name__
        self.weight = Parameter(empty(shape, np.float32, f"{name}'s weight"))
        self.bias = Parameter(empty(out_channels, np.float32, f"{name}'s bias")) if bias else None
        self.init = init
        init_layer(self.weight, self.bias, init)
        if dtype is not None and as_dtype(dtype) != np.float32:
            self.to(dtype=as_dtype(dtype))  # Parameter(...) itself makes float32

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: weight kaiming_uniform_(a=√5), so U(±1/√fan_in), and bias
        U(±1/√fan_in), with fan_in = weight.shape[1]·kh·kw (or the scheme given as init)."""
        init_layer(self.weight, self.bias, self.init)

    def extra_repr(self) -> str:
        # PyTorch's format: sizes as tuples, strings unquoted, defaults left out.
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _conv(self, x: Tensor, function: Any) -> Tensor:
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding: Any = 0
        else:
            padding = self.padding
        return function(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution of (N, C, L) or (C, L): weight (out_channels, in_channels/groups, k),
    bias (out_channels,). The arguments as Conv2d's, for one axis."""

    dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, 0, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(input, F.conv1d)


class Conv2d(_ConvNd):
    """2-D convolution of (N, C, H, W) or (C, H, W): weight (out_channels,
    in_channels/groups, kh, kw), bias (out_channels,).

    Args:
        kernel_size, stride, dilation: an int or a (vertical, horizontal) pair.
        padding: an int, a pair, 'valid' or 'same' (stride 1 only; an even kernel's odd
            remainder goes to the bottom and right, as PyTorch).
        groups: split the channels into this many independent convolutions (in_channels for
            depthwise); both channel counts must be multiples of it.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        init: how to initialise: 'torch' (PyTorch's default, U(±1/√fan_in) for weight and bias),
            or chainrule's 'he', 'xavier', 'he_normal', 'xavier_normal', 'normal' (zero bias);
            fans count each kernel position (in_channels/groups·kh·kw).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, 0, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(input, F.conv2d)


class Conv3d(_ConvNd):
    """3-D convolution of (N, C, D, H, W) or (C, D, H, W): weight (out_channels,
    in_channels/groups, kd, kh, kw), bias (out_channels,). The arguments as Conv2d's, an int or
    a (depth, height, width) triple."""

    dims = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: Padding = 0,
        dilation: IntPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, 0, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        return self._conv(input, F.conv3d)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """output_padding, or the one that makes the output output_size (PyTorch's rule: any
        size from the smallest to stride - 1 more)."""
        if output_size is None:
            return self.output_padding
        dims, name = self.dims, type(self).__name__
        wanted = [int(v) for v in output_size][-dims:]
        if len(wanted) != dims:
            raise ShapeError(f"{name}: output_size must have {dims} or {dims + 2} entries")
        padding = self.padding if isinstance(self.padding, tuple) else (0,) * dims
        extra = []
        for i in range(dims):
            size = x.shape[x.ndim - dims + i]
            s, p, d, k = self.stride[i], padding[i], self.dilation[i], self.kernel_size[i]
            smallest = (size - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= wanted[i] < smallest + s:
                raise ShapeError(
                    f"{name}: requested output size {wanted} is not possible for input "
                    f"{x.shape}: each size must be from {smallest} to {smallest + s - 1}"
                )
            extra.append(wanted[i] - smallest)
        return tuple(extra)

    def _conv_transpose(self, x: Tensor, output_size: Any, function: Any) -> Tensor:
        return function(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution of (N, C, L) or (C, L): weight (in_channels,
    out_channels/groups, k); the arguments as ConvTranspose2d's, for one axis."""

    dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return self._conv_transpose(input, output_size, F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (conv2d's gradient with respect to its input) of
    (N, C, H, W) or (C, H, W): weight (in_channels, out_channels/groups, kh, kw), bias
    (out_channels,). H_out = (H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1;
    ``forward(input, output_size)`` picks output_padding to reach a given size."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return self._conv_transpose(input, output_size, F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution of (N, C, D, H, W) or (C, D, H, W): weight (in_channels,
    out_channels/groups, kd, kh, kw), bias (out_channels,); the arguments as ConvTranspose2d's,
    an int or a (depth, height, width) triple."""

    dims = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        output_padding: IntPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntPair = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        init: str = "torch",
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, output_padding, device, dtype, init,
        )  # fmt: skip

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return self._conv_transpose(input, output_size, F.conv_transpose3d)


class _BatchNorm(Module):
    """Per-feature normalisation by batch statistics in training, running statistics in eval.

    weight (γ, ones) and bias (β, zeros) are Parameters (when affine); running_mean,
    running_var and num_batches_tracked are buffers (when track_running_stats), updated with
    momentum (or, with momentum=None, a cumulative average) and the unbiased variance.
    """

    expected_dims: tuple[int, ...] = ()
    layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"batch norm momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.float32 if dtype is None else dtype
        self.has_bias = affine and bias
        if affine:
            self.weight = Parameter(empty(num_features, dtype, "batch norm's weight"))
            self.weight.array.fill(1)
        else:
            self.register_parameter("weight", None)
        if self.has_bias:
            self.bias = Parameter(empty(num_features, dtype, "batch norm's bias"))
            self.bias.array.fill(0)
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", empty(num_features, dtype, "running_mean"))
            self.register_buffer("running_var", empty(num_features, dtype, "running_var"))
            self.running_mean.array.fill(0)
            self.running_var.array.fill(1)
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array.fill(0)
            self.running_var.array.fill(1)
            self.num_batches_tracked.array.fill(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.array.fill(1)
        if self.bias is not None:
            self.bias.array.fill(0)

    def forward(self, input: Tensor) -> Tensor:
        x = input
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}) expects input "
                f"{self.layout.format(self.num_features)}, got {x.shape}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if keep else None,
            self.running_var if keep else None,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.has_bias}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, D) features, or (N, C, L) sequences per channel."""

    expected_dims = (2, 3)
    layout = "(N, {0}) or (N, {0}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) images per channel, over the N·H·W positions."""

    expected_dims = (4,)
    layout = "(N, {0}, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm of (N, C, D, H, W) volumes per channel."""

    expected_dims = (5,)
    layout = "(N, {0}, D, H, W)"
