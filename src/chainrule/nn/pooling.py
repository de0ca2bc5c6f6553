"""Pooling layers, as torch.nn's: MaxPool1d/2d/3d, AvgPool1d/2d/3d, the adaptive ones, LPPool
and MaxUnpool. Each stores
its arguments as PyTorch's does (so ``kernel_size`` stays the int it was given) and calls
``functional``."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..errors import ConfigError
from ..functional.conv import IntPair, _as_2d, _single
from ..functional.pooling import OutputSize
from ..tensor import Tensor
from .module import Module


def _check_padding(name: str, kernel: Any, padding: Any, dilation: Any, dims: int) -> None:
    """Padding at most half the (dilated) kernel, as PyTorch requires: a wider frame would
    give windows of padding only."""
    kernels = _as_2d(kernel, "kernel_size", dims, 1)
    paddings = _as_2d(padding, "padding", dims, 0)
    dilations = _as_2d(dilation, "dilation", dims, 1)
    for k, p, d in zip(kernels, paddings, dilations, strict=True):
        if 2 * p > d * (k - 1) + 1:
            raise ConfigError(
                f"{name}: padding {padding} must be at most half the kernel {kernel}"
                + (f" dilated by {dilation}" if dilation != 1 else "")
            )


def _output_size(output_size: OutputSize) -> OutputSize:
    """As given, but a list (a model file's JSON form of a tuple) as a tuple."""
    return tuple(output_size) if isinstance(output_size, list) else output_size


class _MaxPoolNd(Module):
    dims = 2

    def _setup(
        self,
        kernel_size: IntPair,
        stride: IntPair | None,
        padding: IntPair,
        dilation: IntPair,
        return_indices: bool,
        ceil_mode: bool,
    ) -> None:
        self.kernel_size = _output_size(kernel_size)
        self.stride = _output_size(stride if stride is not None and stride != [] else kernel_size)
        self.padding, self.dilation = _output_size(padding), _output_size(dilation)
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        _check_padding(type(self).__name__, kernel_size, padding, dilation, self.dims)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool2d(_MaxPoolNd):
    """Max over each window of (N, C, H, W) or (C, H, W); stride defaults to kernel_size.

    The gradient goes to each window's first maximum (row-major), as PyTorch's. With
    return_indices, forward returns (output, flat indices into each (H, W) plane).
    """

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, dilation, return_indices, ceil_mode)

    def forward(self, input: Tensor) -> Any:
        return F.max_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    """Max over each window of (N, C, L) or (C, L); the arguments as MaxPool2d's."""

    dims = 1

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, dilation, return_indices, ceil_mode)

    def forward(self, input: Tensor) -> Any:
        return F.max_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool2d(Module):
    """Mean over each window of (N, C, H, W) or (C, H, W); stride defaults to kernel_size.

    The divisor is divisor_override, or the window's size within the padded input
    (count_include_pad, the default), or its count of input elements.
    """

    dims = 2

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = _output_size(kernel_size)
        self.stride = _output_size(stride if stride is not None and stride != [] else kernel_size)
        self.padding, self.ceil_mode = _output_size(padding), ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override
        _check_padding(type(self).__name__, kernel_size, padding, 1, self.dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool3d(_MaxPoolNd):
    """Max over each window of (N, C, D, H, W) or (C, D, H, W); the arguments as MaxPool2d's
    (ints or triples); indices flat in each (D, H, W) volume."""

    dims = 3

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        dilation: IntPair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self._setup(kernel_size, stride, padding, dilation, return_indices, ceil_mode)

    def forward(self, input: Tensor) -> Any:
        return F.max_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class AvgPool3d(AvgPool2d):
    """Mean over each window of (N, C, D, H, W) or (C, D, H, W); the arguments as AvgPool2d's
    (ints or triples)."""

    dims = 3

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool1d(Module):
    """Mean over each window of (N, C, L) or (C, L); the arguments as AvgPool2d's. Sizes are
    stored as 1-tuples, as PyTorch's."""

    def __init__(
        self,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        padding: IntPair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        no_stride = stride is None or stride == []
        self.stride = self.kernel_size if no_stride else (_single(stride, "stride"),)  # type: ignore[arg-type]
        self.padding = (_single(padding, "padding"),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        _check_padding("AvgPool1d", kernel_size, padding, 1, 1)

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Mean over PyTorch's adaptive windows of (N, C, H, W) or (C, H, W), to output_size (an
    int, a pair, None entries keep the input's size): rows [floor(i·H/H_out),
    ceil((i+1)·H/H_out)), likewise columns."""

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = _output_size(output_size)

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptivePool):
    """AdaptiveAvgPool2d's windows along L of (N, C, L) or (C, L)."""

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = _output_size(output_size)

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max over AdaptiveAvgPool2d's windows of (N, C, H, W) or (C, H, W); the gradient goes to
    each window's first maximum. With return_indices, forward returns (output, indices)."""

    def __init__(self, output_size: OutputSize, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = _output_size(output_size), return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptivePool):
    """AdaptiveMaxPool2d along L of (N, C, L) or (C, L)."""

    def __init__(self, output_size: OutputSize, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = _output_size(output_size), return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool3d(_AdaptivePool):
    """AdaptiveAvgPool2d's windows along D, H and W of (N, C, D, H, W) or (C, D, H, W)."""

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = _output_size(output_size)

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptivePool):
    """AdaptiveMaxPool2d along D, H and W of (N, C, D, H, W) or (C, D, H, W)."""

    def __init__(self, output_size: OutputSize, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = _output_size(output_size), return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _LPPoolNd(Module):
    """Power-average pooling (Σ_window x^p)^(1/p), as PyTorch's LPPool; sizes kept as given."""

    dims = 2

    def __init__(
        self,
        norm_type: float,
        kernel_size: IntPair,
        stride: IntPair | None = None,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size, self.stride = _output_size(kernel_size), _output_size(stride)
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        pool = (F.lp_pool1d, F.lp_pool2d, F.lp_pool3d)[self.dims - 1]
        return pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """(Σ x^p)^(1/p) over each window of (N, C, L) or (C, L); stride defaults to kernel_size."""

    dims = 1


class LPPool2d(_LPPoolNd):
    """(Σ x^p)^(1/p) over each kh x kw window of (N, C, H, W) or (C, H, W)."""

    dims = 2


class LPPool3d(_LPPoolNd):
    """(Σ x^p)^(1/p) over each kd x kh x kw window of (N, C, D, H, W) or (C, D, H, W)."""

    dims = 3


class _MaxUnpoolNd(Module):
    """The partial inverse of MaxPool: values placed at their max_pool indices in zeros.
    Sizes are stored as tuples, as PyTorch's."""

    dims = 2

    def __init__(
        self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
    ) -> None:
        super().__init__()
        shown = slice(-self.dims, None)
        self.kernel_size = _as_2d(kernel_size, "kernel_size", self.dims, 1)[shown]
        no_stride = stride is None or stride == []
        self.stride = (
            self.kernel_size if no_stride else _as_2d(stride, "stride", self.dims, 1)[shown]  # type: ignore[arg-type]
        )
        self.padding = _as_2d(padding, "padding", self.dims, 0)[shown]

    def forward(self, input: Tensor, indices: Any, output_size: Any = None) -> Tensor:
        unpool = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[self.dims - 1]
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """MaxPool1d's partial inverse: (N, C, L) to length (L - 1)·stride - 2·padding + kernel."""

    dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """MaxPool2d's partial inverse: each value of (N, C, H, W) at its flat index in zeros of
    (H - 1)·stride - 2·padding + kernel per axis (or forward's output_size)."""

    dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """MaxPool3d's partial inverse over (D, H, W)."""

    dims = 3
