"""Pooling as functions, named and ordered as in ``torch.nn.functional``: max and average over
sliding windows (1-d, 2-d and 3-d), adaptive pooling to a given output size, power-average
(LP) pooling and max unpooling.

A 1-d pooling is the 2-d one on a height-1 image. Inputs may be batched, (N, C, H, W), or one
image, (C, H, W); the primitives pool over the last two (three for 3-d) axes whatever precedes
them.
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
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


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
    shown = slice(-dims, None)
    layer = f"{name}(kernel {_size(kernel[shown])}, stride {_size(stride_[shown])})"
    spatial = _SPATIAL[dims]
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
    shape = (1, x.shape[-1]) if dims == 1 else tuple(x.shape[-dims:])
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
    op = ops.pool.MaxPool3d if dims == 3 else ops.MaxPool2d
    out = _from_2d(apply(op, x2, geometry=geo), dims)
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


def max_pool3d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each kd x kh x kw window of input (N, C, D, H, W) or (C, D, H, W); the
    arguments as max_pool2d's (ints or triples); indices flat in each (D, H, W) volume."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


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
    op = ops.pool.AvgPool3d if dims == 3 else ops.AvgPool2d
    return _from_2d(apply(op, x2, geometry=geo, divisor=divisor), dims)


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


def avg_pool3d(
    input: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each kd x kh x kw window of input (N, C, D, H, W) or (C, D, H, W); the
    arguments as avg_pool2d's (ints or triples)."""
    return _avg_pool(
        3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


# ---------------------------------------------------------------------------- adaptive
def _adaptive_size(name: str, x: Tensor, output_size: OutputSize, dims: int) -> tuple[int, ...]:
    """The (height-1 for 1-d) output size; None entries keep the input's size."""
    spatial = _SPATIAL[dims]
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
    return (1, int(resolved[0])) if dims == 1 else tuple(int(s) for s in resolved)


def _averaging_matrix(size: int, out: int, dtype: Any) -> Tensor:
    """(out, size): row i averages input positions [floor(i·size/out), ceil((i+1)·size/out))."""
    matrix = np.zeros((out, size), dtype=dtype)
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        matrix[i, start:end] = np.asarray(1 / (end - start), dtype=dtype)
    return tensor(matrix, dtype=matrix.dtype)


def _adaptive_avg(dims: int, x: Tensor, output_size: OutputSize) -> Tensor:
    x = _as_tensor(x)
    if dims == 3:
        return _adaptive_avg3d(x, _adaptive_size("AdaptiveAvgPool3d", x, output_size, 3))
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


def _adaptive_avg3d(x: Tensor, out: tuple[int, ...]) -> Tensor:
    sizes = x.shape[-3:]
    if all(o and n % o == 0 for n, o in zip(sizes, out, strict=True)):
        # Equal windows that tile the input: an ordinary average pooling.
        kernel = tuple(n // o for n, o in zip(sizes, out, strict=True))
        geo = geometry(x.shape, kernel, kernel, (0, 0, 0))
        return apply(ops.pool.AvgPool3d, x, geometry=geo, divisor=float(np.prod(kernel)))
    # The mean over a box is separable: one (out, in) averaging matrix per axis.
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    for axis, (n, o) in zip((-3, -2, -1), zip(sizes, out, strict=True), strict=True):
        if n != o:
            x = (x.transpose(axis, -1) @ _averaging_matrix(n, o, dtype).T).transpose(axis, -1)
    return x


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:
    """Mean over PyTorch's adaptive windows, rows [floor(i·H/H_out), ceil((i+1)·H/H_out)) and
    likewise columns, of input (N, C, H, W) or (C, H, W); output_size an int, a pair, or None
    entries to keep the input's size."""
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size: OutputSize) -> Tensor:
    """adaptive_avg_pool2d's windows along L of input (N, C, L) or (C, L)."""
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: OutputSize) -> Tensor:
    """adaptive_avg_pool2d's windows along D, H and W of input (N, C, D, H, W) or
    (C, D, H, W)."""
    return _adaptive_avg(3, input, output_size)


def _adaptive_max(dims: int, x: Tensor, output_size: OutputSize, return_indices: bool) -> Any:
    x = _as_tensor(x)
    out_hw = _adaptive_size(f"AdaptiveMaxPool{dims}d", x, output_size, dims)
    x2 = _to_2d(x, dims)
    op = ops.pool.AdaptiveMaxPool3d if dims == 3 else ops.AdaptiveMaxPool2d
    out = apply(op, x2, output_size=out_hw)
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


def adaptive_max_pool3d(
    input: Tensor, output_size: OutputSize, return_indices: bool = False
) -> Any:
    """adaptive_max_pool2d along D, H and W of input (N, C, D, H, W) or (C, D, H, W); indices
    flat in each (D, H, W) volume."""
    return _adaptive_max(3, input, output_size, return_indices)


# ---------------------------------------------------------------------------- LP pooling
def _lp_pool(
    dims: int,
    x: Tensor,
    norm_type: float,
    kernel_size: IntPair,
    stride: IntPair | None,
    ceil_mode: bool,
) -> Tensor:
    """(Σ_window x^p)^(1/p) as PyTorch computes it: avg_pool(x^p) times the window size, the
    sum clamped at zero before the root (sign(s)·relu(|s|) = max(s, 0) for real s)."""
    x = _as_tensor(x)
    kernel = _as_2d(kernel_size, "kernel_size", dims, 1)
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[dims - 1]
    out = pool(x.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    size = float(np.prod(kernel))
    return (out.sign() * out.abs().relu() * size).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling (Σ_window x^p)^(1/p) of input (N, C, L) or (C, L), as PyTorch's
    (p = inf is max pooling; p = 1 sum pooling)."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling (Σ_window x^p)^(1/p) over kh x kw windows of input (N, C, H, W)
    or (C, H, W), as PyTorch's."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(
    input: Tensor,
    norm_type: float,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    ceil_mode: bool = False,
) -> Tensor:
    """Power-average pooling over kd x kh x kw windows of input (N, C, D, H, W) or
    (C, D, H, W), as PyTorch's."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)


# ---------------------------------------------------------------------------- unpooling
def _max_unpool(
    dims: int,
    x: Tensor,
    indices: Any,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
    output_size: Any,
) -> Tensor:
    """Each value of x written at its flat index in a zero (…, *out) plane: the inverse of
    max_pool with return_indices (positions no maximum came from stay zero);
    dout/dx = gathering the gradient back from those positions."""
    name = f"MaxUnpool{dims}d"
    x = _as_tensor(x)
    index = np.asarray(indices.array if isinstance(indices, Tensor) else indices)
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{name} expects input (N, C, {_SPATIAL[dims]}) or (C, {_SPATIAL[dims]}), got {x.shape}"
        )
    if index.shape != x.shape:
        raise ShapeError(f"{name}: indices {index.shape} must have the input's shape {x.shape}")
    if not np.issubdtype(index.dtype, np.integer):
        raise ShapeError(f"{name}: indices must be integers, got {index.dtype}")
    shown = slice(-dims, None)
    kernel = _as_2d(kernel_size, "kernel_size", dims, 1)[shown]
    no_stride = stride is None or (isinstance(stride, list | tuple) and len(stride) == 0)
    stride_ = kernel if no_stride else _as_2d(stride, "stride", dims, 1)[shown]  # type: ignore[arg-type]
    padding_ = _as_2d(padding, "padding", dims, 0)[shown]
    default = tuple(
        (n - 1) * s - 2 * p + k
        for n, k, s, p in zip(x.shape[-dims:], kernel, stride_, padding_, strict=True)
    )
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(int(v) for v in output_size)
        if len(sizes) == dims + 2:
            sizes = sizes[-dims:]
        if len(sizes) != dims:
            raise ShapeError(
                f"{name}: output_size must have {dims} or {dims + 2} entries, got {output_size}"
            )
        for n, want, s in zip(default, sizes, stride_, strict=True):
            if not n - s < want < n + s:
                raise ShapeError(
                    f"{name}: invalid output_size {list(sizes)} (the default is {list(default)}; "
                    f"each entry must be within stride of it)"
                )
    plane = int(np.prod(sizes))
    if index.size and (index.min() < 0 or index.max() >= plane):
        raise ShapeError(
            f"{name}: found an invalid max index {int(index.max())} for output size "
            f"{list(sizes)} ({plane} positions)"
        )
    lead = x.shape[:-dims]
    flat = x.reshape(*lead, -1)
    zeros = tensor(np.zeros((*lead, plane), dtype=x.dtype), dtype=x.dtype)
    out = zeros.scatter(-1, index.reshape(*lead, -1), flat)
    return out.reshape(*lead, *sizes)


def max_unpool1d(
    input: Tensor,
    indices: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of max_pool1d: input (N, C, L) placed at its indices in zeros of
    length (L - 1)·stride - 2·padding + kernel_size, or output_size."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor,
    indices: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of max_pool2d: each value of input (N, C, H, W) at its flat
    (H_out, W_out) index (max_pool2d's return_indices), zeros elsewhere; output
    (H - 1)·stride - 2·padding + kernel_size per axis, or output_size."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor,
    indices: Any,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of max_pool3d, as max_unpool2d over (D, H, W)."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
