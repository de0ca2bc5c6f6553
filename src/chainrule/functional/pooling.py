"""Pooling as functions, named and ordered as in ``torch.nn.functional``: max and average over
sliding windows (1-d and 2-d) and adaptive pooling to a given output size.

A 1-d pooling is the 2-d one on a height-1 image. Inputs may be batched, (N, C, H, W), or one
image, (C, H, W); the primitives pool over the last two axes whatever precedes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..ops.pool import Geometry, adaptive_windows, avg_pool_divisor, geometry, max_pool2d_indices
from ..tensor import Tensor, apply, tensor
from ._common import _as_tensor
from .conv import IntPair, _as_2d, _size

OutputSize = int | None | tuple[int | None, ...] | list[int | None]


def _pool_geometry(
    name: str,
    x: Tensor,
    dims: int,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair,
    ceil_mode: bool,
) -> tuple[Geometry, bool]:
    """The windows' geometry on the (height-1 for 1-d) image, and whether x is one unbatched
    image; checks the arguments and the input's rank."""
    kernel = _as_2d(kernel_size, "kernel_size", dims, 1)
    no_stride = stride is None or (isinstance(stride, list | tuple) and len(stride) == 0)
    stride_ = kernel if no_stride else _as_2d(stride, "stride", dims, 1)  # type: ignore[arg-type]
    padding_ = _as_2d(padding, "padding", dims, 0)
    dilation_ = _as_2d(dilation, "dilation", dims, 1)
    shown = slice(2 - dims, None)
    layer = f"{name}(kernel {_size(kernel[shown])}, stride {_size(stride_[shown])})"
    spatial = "H, W" if dims == 2 else "L"
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{layer} expects input (N, C, {spatial}) or (C, {spatial}), got {x.shape}"
        )
    if min(kernel) < 1 or min(stride_) < 1 or min(dilation_) < 1:
        raise ShapeError(
            f"{layer}: kernel_size, stride and dilation must be positive, got "
            f"{kernel[shown]}, {stride_[shown]}, {dilation_[shown]}"
        )
    if min(padding_) < 0:
        raise ShapeError(f"{layer}: padding must be non-negative, got {padding_[shown]}")
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation_, strict=True))
    if any(2 * p > s for p, s in zip(padding_, span, strict=True)):
        # A wider frame would give windows of padding only (PyTorch refuses them too).
        raise ShapeError(
            f"{layer}: padding {padding_[shown]} must be at most half the kernel {span[shown]}"
        )
    shape = tuple(x.shape[-dims:]) if dims == 2 else (1, x.shape[-1])
    geo = geometry(shape, kernel, stride_, padding_, dilation_, bool(ceil_mode))
    if min(geo.out_hw) < 1:
        padded = tuple(n + 2 * p for n, p in zip(shape, padding_, strict=True))
        raise ShapeError(
            f"{layer}: kernel {_size(span[shown])} is larger than the padded input "
            f"{_size(padded[shown])} (input {x.shape}, padding {padding_[shown]})"
        )
    return geo, x.ndim == dims + 1


def _to_2d(x: Tensor, dims: int) -> Tensor:
    return x.unsqueeze(-2) if dims == 1 else x  # (N, C, L) -> (N, C, 1, L)


def _from_2d(x: Any, dims: int) -> Any:
    if isinstance(x, Tensor):
        return x.squeeze(-2) if dims == 1 else x
    return x[..., 0, :] if dims == 1 else x


def _max_pool(
    dims: int,
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    dilation: IntPair,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x = _as_tensor(x)
    geo, _ = _pool_geometry(
        f"MaxPool{dims}d", x, dims, kernel_size, stride, padding, dilation, ceil_mode
    )
    x2 = _to_2d(x, dims)
    out = _from_2d(apply(ops.MaxPool2d, x2, geometry=geo), dims)
    if not return_indices:
        return out
    indices = _from_2d(max_pool2d_indices(x2.array, geo), dims)  # flat in each (H, W) plane
    return out, tensor(indices)


def max_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each kh x kw window of input (N, C, H, W) or (C, H, W), as PyTorch's.

    stride defaults to the kernel size; padding (at most half the kernel) is -inf; dilation
    spaces the window's elements; ceil_mode keeps a last partial window that starts inside the
    input or its left padding. The gradient goes to each window's first maximum (row-major).
    With return_indices, also each maximum's flat index in its (H, W) plane (int64).
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window of input (N, C, L) or (C, L); the arguments as max_pool2d's."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(
    dims: int,
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    x = _as_tensor(x)
    geo, _ = _pool_geometry(f"AvgPool{dims}d", x, dims, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ShapeError(f"AvgPool{dims}d: divisor_override must not be zero")
    x2 = _to_2d(x, dims)
    divisor = avg_pool_divisor(x2.shape, geo, bool(count_include_pad), divisor_override)
    return _from_2d(apply(ops.AvgPool2d, x2, geometry=geo, divisor=divisor), dims)


def avg_pool2d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each kh x kw window of input (N, C, H, W) or (C, H, W), as PyTorch's.

    The divisor is divisor_override if given; else the window's size within the padded input
    (count_include_pad, the default), or its count of input elements. stride defaults to the
    kernel size; ceil_mode as max_pool2d's.
    """
    return _avg_pool(
        2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool1d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of input (N, C, L) or (C, L); the arguments as avg_pool2d's."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


# ---------------------------------------------------------------------------- adaptive
def _adaptive_size(name: str, x: Tensor, output_size: OutputSize, dims: int) -> tuple[int, int]:
    """The (height-1 for 1-d) output size; None entries keep the input's size."""
    spatial = "H, W" if dims == 2 else "L"
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{name} expects input (N, C, {spatial}) or (C, {spatial}), got {x.shape}")
    if output_size is None or isinstance(output_size, int | np.integer):
        sizes: tuple[Any, ...] = (output_size,) * dims
    else:
        sizes = tuple(output_size)
    if len(sizes) != dims:
        raise ShapeError(f"{name}: output_size must have {dims} entries, got {output_size!r}")
    resolved = tuple(
        x.shape[-dims + i] if s is None else s for i, s in enumerate(sizes)
    )  # fmt: skip
    if not all(isinstance(s, int | np.integer) and s >= 0 for s in resolved):
        raise ShapeError(f"{name}: output_size must be non-negative ints or None, got {sizes}")
    if any(s == 0 for s in x.shape[-dims:]):
        raise ShapeError(f"{name}: input {x.shape} has an empty spatial dimension")
    return (int(resolved[0]), int(resolved[1])) if dims == 2 else (1, int(resolved[0]))


def _averaging_matrix(size: int, out: int, dtype: Any) -> Tensor:
    """(out, size): row i averages input positions [floor(i·size/out), ceil((i+1)·size/out))."""
    matrix = np.zeros((out, size), dtype=dtype)
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        matrix[i, start:end] = np.asarray(1 / (end - start), dtype=dtype)
    return tensor(matrix, dtype=matrix.dtype)


def _adaptive_avg(dims: int, x: Tensor, output_size: OutputSize) -> Tensor:
    x = _as_tensor(x)
    ho, wo = _adaptive_size(f"AdaptiveAvgPool{dims}d", x, output_size, dims)
    x2 = _to_2d(x, dims)
    h, w = x2.shape[-2:]
    if (ho, wo) == (1, 1):
        out = x2.mean((-2, -1), keepdim=True)
    elif h % max(ho, 1) == 0 and w % max(wo, 1) == 0 and ho and wo:
        # Equal windows that tile the input: an ordinary average pooling.
        kernel = (h // ho, w // wo)
        geo = geometry(x2.shape, kernel, kernel, (0, 0))
        out = apply(ops.AvgPool2d, x2, geometry=geo, divisor=float(kernel[0] * kernel[1]))
    else:
        # The mean over a rectangle is separable: rows by (H_out, H), columns by (W, W_out).
        dtype = x2.dtype if np.issubdtype(x2.dtype, np.floating) else np.float32
        out = _averaging_matrix(h, ho, dtype) @ (x2 @ _averaging_matrix(w, wo, dtype).T)
    return _from_2d(out, dims)


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:
    """Mean over PyTorch's adaptive windows, rows [floor(i·H/H_out), ceil((i+1)·H/H_out)) and
    likewise columns, of input (N, C, H, W) or (C, H, W); output_size an int, a pair, or None
    entries to keep the input's size."""
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size: OutputSize) -> Tensor:
    """adaptive_avg_pool2d's windows along L of input (N, C, L) or (C, L)."""
    return _adaptive_avg(1, input, output_size)


def _adaptive_max(dims: int, x: Tensor, output_size: OutputSize, return_indices: bool) -> Any:
    x = _as_tensor(x)
    out_hw = _adaptive_size(f"AdaptiveMaxPool{dims}d", x, output_size, dims)
    x2 = _to_2d(x, dims)
    out = apply(ops.AdaptiveMaxPool2d, x2, output_size=out_hw)
    if not return_indices:
        return _from_2d(out, dims)
    indices = ops.pool.adaptive_max_indices(x2.array, out_hw)  # flat in each (H, W) plane
    return _from_2d(out, dims), tensor(_from_2d(indices, dims))


def adaptive_max_pool2d(
    input: Tensor, output_size: OutputSize, return_indices: bool = False
) -> Any:
    """Max over adaptive_avg_pool2d's windows of input (N, C, H, W) or (C, H, W); the gradient
    goes to each window's first maximum. With return_indices, also their flat (H, W) indices."""
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool1d(
    input: Tensor, output_size: OutputSize, return_indices: bool = False
) -> Any:
    """adaptive_max_pool2d along L of input (N, C, L) or (C, L)."""
    return _adaptive_max(1, input, output_size, return_indices)
