"""Resampling as functions, as ``torch.nn.functional``: interpolate, pixel_shuffle,
pixel_unshuffle.

Interpolation is separable, one axis at a time: nearest gathers rows (a gather's backward adds
repeated positions), linear and cubic multiply by an (out, in) matrix of PyTorch's weights, so
the backward is the transposed matrix and needs no op of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor, tensor
from ._common import _as_tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

# Modes and the input rank each needs (N, C and 1 or 2 spatial axes).
_MODES = {
    "nearest": (3, 4),
    "nearest-exact": (3, 4),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "area": (3, 4),
}
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic convolution parameter


def _output_sizes(
    x: Tensor, size: Any, scale_factor: Any, recompute_scale_factor: bool | None
) -> tuple[list[int], list[float | None]]:
    """Output sizes and the scales the source-index formulas use (None: in/out)."""
    dims = x.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "only one of size or scale_factor should be defined"
            if size is not None
            else "either size or scale_factor should be defined"
        )
    if size is not None:
        sizes = list(size) if isinstance(size, Sequence) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(x.shape[2:])} and output size of {size}"
            )
        return [int(s) for s in sizes], [None] * dims
    factors = list(scale_factor) if isinstance(scale_factor, Sequence) else [scale_factor] * dims
    if len(factors) != dims:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got "
            f"input with spatial dimensions of {list(x.shape[2:])} and scale_factor of "
            f"{scale_factor}"
        )
    sizes = [math.floor(n * float(f)) for n, f in zip(x.shape[2:], factors, strict=True)]
    # The given factor enters the index formulas unless PyTorch is told to recompute it.
    scales = [None if recompute_scale_factor else float(f) for f in factors]
    return sizes, scales


def _scale(size: int, out: int, scale: float | None, align_corners: bool, dtype: Any) -> Any:
    """PyTorch's area_pixel_compute_scale, in the input's floating type as PyTorch's opmath."""
    if align_corners:
        return dtype.type((size - 1) / (out - 1)) if out > 1 else dtype.type(0)
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(size) / dtype.type(out)


def _nearest_index(size: int, out: int, scale: float | None, exact: bool) -> np.ndarray:
    """Source row of each output row: min(floor(dst·scale), size-1), or floor((dst+½)·scale)
    for nearest-exact, in float32 as PyTorch's kernel computes it. PyTorch's nearest takes
    dst // 2 whenever out is twice the size, whatever the factor."""
    if out == 2 * size and not exact:
        return np.arange(out) // 2
    ratio = _scale(size, out, scale, False, np.dtype(np.float32))
    dst = np.arange(out, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(dst * ratio).astype(np.int64), size - 1)


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """Keys' cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 from floor(src)."""
    a = _CUBIC_A

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    one = t.dtype.type(1)
    return [far(t + one), near(t), near(one - t), far(one - t + one)]


def _interpolation_matrix(
    size: int, out: int, scale: float | None, align_corners: bool, cubic: bool, dtype: Any
) -> np.ndarray:
    """(out, size) weights of PyTorch's linear or cubic interpolation along one axis."""
    ratio = _scale(size, out, scale, align_corners, dtype)
    dst = np.arange(out, dtype=dtype)
    if align_corners:
        src = ratio * dst
    else:
        half = dtype.type(0.5)
        src = ratio * (dst + half) - half
        if not cubic:
            src = np.maximum(src, dtype.type(0))  # linear clamps; cubic reads clamped taps
    matrix = np.zeros((out, size), dtype=dtype)
    rows = np.arange(out)
    if cubic:
        first = np.floor(src)
        taps = _cubic_weights((src - first).astype(dtype))
        for k, weight in enumerate(taps):
            np.add.at(matrix, (rows, np.clip(first.astype(np.int64) - 1 + k, 0, size - 1)), weight)
        return matrix
    low = src.astype(np.int64)  # src >= 0, so truncation is floor
    high = np.where(low < size - 1, low + 1, low)
    frac = (src - low).astype(dtype)
    np.add.at(matrix, (rows, low), dtype.type(1) - frac)
    np.add.at(matrix, (rows, high), frac)
    return matrix


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resample (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, as PyTorch's.

    Modes: 'nearest' (source index floor(dst·in/out), or floor(dst/scale_factor) when a factor
    is given), 'nearest-exact' (floor((dst + ½)·in/out)), 'linear' (3-d), 'bilinear' and
    'bicubic' (4-d, Keys' cubic with a = -0.75, edge values repeated), 'area' (adaptive
    average pooling to the output size). align_corners (linear
    modes only) maps the corner pixels' centres onto each other: src = dst·(in-1)/(out-1);
    otherwise src = (dst + ½)·in/out - ½. Output size is floor(in·scale_factor).
    """
    x = _as_tensor(input)
    if mode not in _MODES:
        raise ValueError(f"interpolate mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if x.ndim not in _MODES[mode]:
        need = " or ".join(f"{d}D" for d in _MODES[mode])
        raise ShapeError(f"Got {x.ndim}D input, but {mode} mode needs {need} input")
    sizes, scales = _output_sizes(x, size, scale_factor, recompute_scale_factor)
    if min(sizes) < 1:
        raise ShapeError(f"interpolate: output size {sizes} of input {x.shape} must be positive")
    if not np.issubdtype(x.dtype, np.floating) and not mode.startswith("nearest"):
        raise TypeError(f"interpolate mode {mode!r} needs a floating input, got {x.dtype}")
    if mode == "area":  # PyTorch's area is adaptive average pooling to the output size
        return (adaptive_avg_pool1d if x.ndim == 3 else adaptive_avg_pool2d)(x, tuple(sizes))
    dtype = x.dtype
    for i, (out, scale) in enumerate(zip(sizes, scales, strict=True)):
        axis = 2 + i
        n = x.shape[axis]
        if mode.startswith("nearest"):
            if out != n:
                x = x.index_select(axis, _nearest_index(n, out, scale, mode == "nearest-exact"))
            continue
        matrix = _interpolation_matrix(n, out, scale, bool(align_corners), mode == "bicubic", dtype)
        if axis == x.ndim - 1:
            x = x @ tensor(matrix.T, dtype=dtype)  # (..., W) @ (W, W_out)
        else:
            x = tensor(matrix, dtype=dtype) @ x  # (H_out, H) @ (..., H, W)
    return x


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r): each r² channels become an r x r block, as PyTorch."""
    x = _as_tensor(input)
    r = int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise ShapeError(
            f"pixel_shuffle expects input (*, C·{r}², H, W) with channels divisible by {r * r}, "
            f"got {x.shape}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    x = x.reshape(*lead, c // (r * r), r, r, h, w)  # (*, C, r, r, H, W)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of pixel_shuffle, as PyTorch."""
    x = _as_tensor(input)
    r = int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeError(
            f"pixel_unshuffle expects input (*, C, H, W) with H and W divisible by {r}, "
            f"got {x.shape}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    x = x.reshape(*lead, c, h // r, r, w // r, r)  # (*, C, H, r, W, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with C = groups·k: channel g·k + i moves to i·groups + g (the transpose of a
    groups x k grid of channels), as PyTorch (ShuffleNet)."""
    x = _as_tensor(input)
    g = int(groups)
    if x.ndim < 3:
        raise ShapeError(
            f"channel_shuffle expects input (N, C, *) of 3 or more dims, got {x.shape}"
        )
    if g < 1 or x.shape[1] % g:
        raise ShapeError(
            f"channel_shuffle: groups={groups} must be positive and divide the {x.shape[1]} "
            f"channels of input {x.shape}"
        )
    n, c, *rest = x.shape
    x = x.reshape(n, g, c // g, *rest).transpose(1, 2)  # (N, C/g, g, *)
    return x.reshape(n, c, *rest)
