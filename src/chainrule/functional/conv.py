"""Convolution, pooling, batch normalisation and padding as functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..tensor import Tensor, apply
from ._common import _as_tensor

IntPair = int | tuple[int, int] | list[int]


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _size(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def _padding_text(padding: tuple[int, int]) -> str:
    return str(padding[0]) if padding[0] == padding[1] else str(padding)


def _check_window(
    layer: str,
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> None:
    """Positive stride, non-negative padding, and a kernel that fits the padded image."""
    if min(stride) < 1 or min(kernel) < 1:
        raise ValueError(f"{layer}: kernel and stride must be positive, got {kernel}, {stride}")
    if min(padding) < 0:
        raise ValueError(f"{layer}: padding must be non-negative, got {padding}")
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ShapeError(
            f"{layer}: kernel {_size(kernel)} is larger than the padded image {_size(padded)} "
            f"(input {x.shape}, padding {_padding_text(padding)})"
        )


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (im2col and one matmul).

    Args:
        x: (N, C, H, W).
        weight: (K, C, kh, kw).
        bias: (K,) or None.
        stride, padding: an int or a (vertical, horizontal) pair; padding is zeros.

    Returns:
        (N, K, H_out, W_out) with H_out = (H + 2·padding - kh) // stride + 1, likewise W_out.
    """
    x = _as_tensor(x)
    stride_, padding_ = _pair(stride, "stride"), _pair(padding, "padding")
    if weight.ndim != 4:
        raise ShapeError(f"conv2d expects a weight of shape (K, C, kh, kw), got {weight.shape}")
    out_channels, in_channels, kh, kw = weight.shape
    layer = f"Conv2d({in_channels} -> {out_channels}, kernel {kh}x{kw})"
    if x.ndim != 4:
        raise ShapeError(f"{layer} expects input (N, {in_channels}, H, W), got {x.shape}")
    if x.shape[1] != in_channels:
        raise ShapeError(
            f"{layer} expects {in_channels} input channels, got {x.shape[1]} in input of shape "
            f"{x.shape}"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ShapeError(f"{layer} expects a bias of shape ({out_channels},), got {bias.shape}")
    _check_window(layer, x, (kh, kw), stride_, padding_)
    return apply(ops.Conv2d, x, weight, bias, stride=stride_, padding=padding_)


def _pool(
    op: type[ops.Function],
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None,
    padding: IntPair,
) -> Tensor:
    x = _as_tensor(x)
    kernel = _pair(kernel_size, "kernel_size")
    stride_ = kernel if stride is None else _pair(stride, "stride")
    padding_ = _pair(padding, "padding")
    layer = f"{op.__name__}(kernel {_size(kernel)}, stride {_size(stride_)})"
    if x.ndim != 4:
        raise ShapeError(f"{layer} expects input (N, C, H, W), got {x.shape}")
    if 2 * padding_[0] > kernel[0] or 2 * padding_[1] > kernel[1]:
        # A wider frame would give windows of padding only (PyTorch refuses them too).
        raise ShapeError(
            f"{layer}: padding {_padding_text(padding_)} must be at most half the kernel"
        )
    _check_window(layer, x, kernel, stride_, padding_)
    return apply(op, x, kernel_size=kernel, stride=stride_, padding=padding_)


def max_pool2d(
    x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> Tensor:
    """Max over each kh x kw window of x (N, C, H, W); stride defaults to the kernel size.

    The gradient goes to each window's first maximum (row-major), as in PyTorch.
    """
    return _pool(ops.MaxPool2d, x, kernel_size, stride, padding)


def avg_pool2d(
    x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0
) -> Tensor:
    """Mean over each kh x kw window of x (N, C, H, W), zero padding counted in the mean."""
    return _pool(ops.AvgPool2d, x, kernel_size, stride, padding)


def batch_norm(
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of x (N, C) or (N, C, H, W), then scale by weight and shift by bias.

    Training: by this batch's mean and biased variance over every axis but C, and update the
    running statistics in place: r ← (1 - momentum)·r + momentum·s, with the unbiased variance
    for running_var (as PyTorch). Evaluation: by running_mean and running_var. The running
    statistics may be arrays or tensors, or None in training (batch statistics only).
    """
    x = _as_tensor(x)
    if isinstance(running_mean, Tensor):
        running_mean = running_mean.array
    if isinstance(running_var, Tensor):
        running_var = running_var.array
    if running_mean is None and not training:
        raise ShapeError("batch_norm in evaluation needs running_mean and running_var")
    features = x.shape[1] if running_mean is None and x.ndim >= 2 else len(running_mean)
    if x.ndim < 2 or x.shape[1] != features:
        raise ShapeError(
            f"batch_norm over {features} features expects input (N, {features}, ...), got {x.shape}"
        )
    if not training:
        return apply(
            ops.BatchNormEval, x, weight, bias, mean=running_mean, var=running_var, eps=eps
        )
    axes = ops.conv.batch_axes(x.ndim)
    count = x.numel() // features
    if count < 2:
        raise ShapeError(
            f"batch_norm in training needs more than one value per channel, got input {x.shape}"
        )
    # The statistics are computed once here and handed to the primitive as constants: its
    # backward is the exact one through them, and the running statistics need them as well.
    mean = x.array.mean(axis=axes)
    centred = (x.array - mean.reshape(ops.conv.channel_shape(x.array))).reshape(
        len(x), features, -1
    )
    var = np.einsum("ncl,ncl->c", centred, centred) / np.asarray(count, dtype=mean.dtype)  # (C,)
    if running_mean is not None:
        with_momentum = np.asarray(momentum, dtype=running_mean.dtype)
        running_mean *= 1 - with_momentum
        running_mean += with_momentum * mean
    if running_var is not None:
        with_momentum = np.asarray(momentum, dtype=running_var.dtype)
        running_var *= 1 - with_momentum
        running_var += with_momentum * var * np.asarray(count / (count - 1), dtype=var.dtype)
    return apply(ops.BatchNorm, x, weight, bias, mean=mean, var=var, eps=eps)


# ---------------------------------------------------------------------------- padding
def pad(x: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the last dims, as ``torch.nn.functional.pad``.

    Args:
        pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on.
        mode: 'constant' (with ``value``, 0 by default), 'reflect' (mirror, edge not repeated),
            'replicate' (repeat the edge) or 'circular' (wrap around).
    """
    x = _as_tensor(x)
    widths = [int(w) for w in pad]
    if len(widths) % 2 or len(widths) // 2 > x.ndim:
        raise ShapeError(
            f"pad needs pairs of widths for at most {x.ndim} dims, got {len(widths)} values"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(
            f"pad mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    pairs = [(widths[2 * i], widths[2 * i + 1]) for i in range(len(widths) // 2)]
    dims = [x.ndim - 1 - i for i in range(len(pairs))]  # the last dim first
    # Negative widths crop first, in every mode; the rest pads what is left.
    crop = [slice(None)] * x.ndim
    for d, (lo, hi) in zip(dims, pairs, strict=True):
        crop[d] = slice(max(-lo, 0), x.shape[d] - max(-hi, 0))
    if any(s != slice(None) for s in crop):
        x = x[tuple(crop)]
    pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        full = [(0, 0)] * x.ndim
        for d, (lo, hi) in zip(dims, pairs, strict=True):
            full[d] = (lo, hi)
        if not any(lo or hi for lo, hi in full):
            return x
        return apply(ops.Pad, x, widths=tuple(full), value=0.0 if value is None else value)
    for d, (lo, hi) in zip(dims, pairs, strict=True):
        n = x.shape[d]
        positions = np.arange(-lo, n + hi)
        if mode == "replicate":
            index = np.clip(positions, 0, n - 1)
        elif mode == "circular":
            if lo > n or hi > n:
                raise ShapeError(f"circular padding of {lo, hi} is larger than dim {d}'s size {n}")
            index = positions % n
        else:
            if lo >= n or hi >= n:
                raise ShapeError(
                    f"reflect padding of {lo, hi} must be smaller than dim {d}'s size {n}"
                )
            period = 2 * (n - 1) if n > 1 else 1
            index = np.abs(positions) % period
            index = np.where(index >= n, period - index, index)
        x = x.index_select(d, index)  # a gather: repeated positions add up in backward
    return x
