"""Resampling as functions, as ``torch.nn.functional``: interpolate, grid_sample, affine_grid,
pixel_shuffle, pixel_unshuffle, channel_shuffle.

Interpolation is separable, one axis at a time: nearest gathers rows (a gather's backward adds
repeated positions), linear and cubic multiply by an (out, in) matrix of PyTorch's weights, so
the backward is the transposed matrix and needs no op of its own. grid_sample gathers the
corner pixels of each sampling point and weighs them by its distance to them: a composite, so
its gradient reaches both the input (the gather's backward) and the grid (through the weights).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor, tensor
from ._common import _as_tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

# Modes and the input rank each needs (N, C and 1, 2 or 3 spatial axes).
_MODES = {
    "nearest": (3, 4, 5),
    "nearest-exact": (3, 4, 5),
    "linear": (3,),
    "bilinear": (4,),
    "bicubic": (4,),
    "trilinear": (5,),
    "area": (3, 4, 5),
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
    """Resample (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size`` or by ``scale_factor``,
    as PyTorch's.

    Modes: 'nearest' (source index floor(dst·in/out), or floor(dst/scale_factor) when a factor
    is given), 'nearest-exact' (floor((dst + ½)·in/out)), 'linear' (3-d), 'bilinear' and
    'bicubic' (4-d, Keys' cubic with a = -0.75, edge values repeated), 'trilinear' (5-d),
    'area' (adaptive average pooling to the output size). align_corners (linear
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
        pool = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}[x.ndim]
        return pool(x, tuple(sizes))
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
        elif axis == x.ndim - 2:
            x = tensor(matrix, dtype=dtype) @ x  # (H_out, H) @ (..., H, W)
        else:  # depth: move it last, (..., W, D) @ (D, D_out), and back
            x = (x.transpose(axis, -1) @ tensor(matrix.T, dtype=dtype)).transpose(axis, -1)
    return x


# ---------------------------------------------------------------------------- sampling grids
def _base_coordinates(steps: int, align_corners: bool, dtype: Any) -> np.ndarray:
    """PyTorch's normalised pixel positions along one axis: linspace(-1, 1) through the
    corner pixels' centres (align_corners), or shrunk by (steps-1)/steps to the pixels'
    centres when -1 and 1 are the image's edges; [0] for one pixel."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype=dtype)
    line = np.linspace(-1, 1, steps, dtype=dtype)
    return line if align_corners else line * dtype.type((steps - 1) / steps)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid of an affine map, as ``torch.nn.functional.affine_grid``.

    Args:
        theta: (N, 2, 3) for 2-d, (N, 3, 4) for 3-d: each output point's normalised (x, y[, z],
            1) times theta's rows gives where to sample.
        size: the output's (N, C, H, W) or (N, C, D, H, W).
        align_corners: -1 and 1 are the corner pixels' centres (True) or the image's edges
            (False, the default).

    Returns:
        (N, H, W, 2) or (N, D, H, W, 3) normalised (x, y[, z]) sampling positions, for
        grid_sample.
    """
    theta = _as_tensor(theta)
    sizes = [int(s) for s in size]
    if not np.issubdtype(theta.dtype, np.floating):
        raise TypeError(f"affine_grid expects theta to be floating point, got {theta.dtype}")
    if len(sizes) not in (4, 5):
        raise ShapeError(
            f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {sizes}."
        )
    dims = len(sizes) - 2
    expected = (sizes[0], dims, dims + 1)
    if theta.shape != expected:
        raise ShapeError(
            f"Expected a batch of {dims}D affine matrices of shape Nx{dims}x{dims + 1} for size "
            f"{sizes}. Got {theta.shape}."
        )
    if min(sizes) <= 0:
        raise ShapeError(f"affine_grid: expected non-zero, positive output size, got {sizes}")
    dtype = np.dtype(theta.dtype)
    # (x, y[, z], 1) per output point, x along the last (width) axis.
    axes = [_base_coordinates(n, bool(align_corners), dtype) for n in sizes[2:]]
    mesh = np.meshgrid(*axes, indexing="ij")  # per spatial axis, D H W order
    base = np.stack([*reversed(mesh), np.ones_like(mesh[0])], axis=-1).reshape(-1, dims + 1)
    grid = tensor(base, dtype=dtype) @ theta.transpose(1, 2)  # (P, d+1) @ (N, d+1, d)
    return grid.reshape(sizes[0], *sizes[2:], dims)


_GRID_MODES = ("bilinear", "nearest", "bicubic")
_GRID_PADDING = ("zeros", "border", "reflection")


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """PyTorch's reflect_coordinates: fold coord into [low, high] by mirroring at the bounds
    (bounds given doubled, so half-pixel bounds stay integers); slope ±1 as the folds go."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    flips = np.floor(distance.detach().numpy() / span)
    even = (flips % 2) == 0
    return extra.where(tensor(even), span - extra) + low


def _fold_taps(position: np.ndarray, size: int, padding_mode: str, align_corners: bool) -> Any:
    """Integer tap positions of the bicubic kernel moved inside by padding_mode, as PyTorch's
    compute_coordinates (zeros leaves them; the gather reads 0 outside)."""
    if padding_mode == "reflection":
        twice_low, twice_high = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if twice_low == twice_high:
            position = np.zeros_like(position)
        else:
            low, span = twice_low / 2, (twice_high - twice_low) / 2
            distance = np.abs(position - low)
            extra = np.fmod(distance, span)
            even = np.floor(distance / span) % 2 == 0
            position = np.where(even, extra + low, span - extra + low)
    if padding_mode != "zeros":
        position = np.clip(position, 0, size - 1)
    return position.astype(np.int64)


def _source_coordinate(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A normalised grid coordinate as a pixel position (PyTorch's
    grid_sampler_compute_source_index): unnormalised, then folded or clipped by padding_mode."""
    if align_corners:
        pixel = (coord + 1) * ((size - 1) / 2)  # -1 and 1 are the corner pixels' centres
    else:
        pixel = ((coord + 1) * size - 1) / 2  # -1 and 1 are the image's edges
    if padding_mode == "border":
        pixel = pixel.clamp(0, size - 1)
    elif padding_mode == "reflection":
        if align_corners:
            pixel = _reflect(pixel, 0, 2 * (size - 1))
        else:
            pixel = _reflect(pixel, -1, 2 * size - 1)
        pixel = pixel.clamp(0, size - 1)
    return pixel


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample input at the grid's normalised positions, as ``torch.nn.functional.grid_sample``.

    Args:
        input: (N, C, H, W) or (N, C, D, H, W).
        grid: (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3) of (x, y[, z]) in [-1, 1],
            x along the width; outside it padding_mode decides.
        mode: 'bilinear' (trilinear for 5-d: the corner pixels weighted by their distance),
            'nearest' (the nearest pixel, halves to even; no gradient to the grid) or
            'bicubic' (4-d only: the 4 x 4 pixels around, Keys' cubic weights, a = -0.75).
        padding_mode: 'zeros' (pixels outside read 0), 'border' (positions clipped to the
            edge pixels) or 'reflection' (positions mirrored at the borders).
        align_corners: as affine_grid's (False by default).

    Returns:
        (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out); differentiable in input and grid.
    """
    x, grid = _as_tensor(input), _as_tensor(grid)
    if mode not in _GRID_MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _GRID_PADDING:
        raise ValueError(
            f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if x.ndim not in (4, 5):
        raise ShapeError(
            f"grid_sample expects input (N, C, H, W) or (N, C, D, H, W), got {x.shape}"
        )
    dims = x.ndim - 2
    if mode == "bicubic" and dims != 2:
        raise ShapeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if grid.ndim != x.ndim or grid.shape[-1] != dims or grid.shape[0] != x.shape[0]:
        spatial = "H_out, W_out" if dims == 2 else "D_out, H_out, W_out"
        raise ShapeError(
            f"grid_sample of input {x.shape} expects grid ({x.shape[0]}, {spatial}, {dims}), "
            f"got {grid.shape}"
        )
    if grid.dtype != x.dtype:
        raise TypeError(
            f"grid_sample: expected input and grid to have the same dtype, got {x.dtype} and "
            f"{grid.dtype}"
        )
    n, c, *sizes = x.shape
    out_shape = grid.shape[1:-1]
    points = grid.reshape(n, -1, dims)  # (N, P, d)
    # Pixel positions per input axis (D, H, W order); the grid lists them as x, y[, z].
    # Bicubic pads each of its taps instead of the point itself.
    point_padding = "zeros" if mode == "bicubic" else padding_mode
    pixels = [
        _source_coordinate(points[..., dims - 1 - a], sizes[a], point_padding, bool(align_corners))
        for a in range(dims)
    ]
    flat = x.reshape(n, c, -1)  # (N, C, D*H*W)
    count = points.shape[1]

    def gather(positions: list[np.ndarray]) -> Tensor:
        """x at integer positions (N, P) per axis, zero where any lies outside."""
        inside = np.ones((n, count), dtype=bool)
        index = np.zeros((n, count), dtype=np.int64)
        for position, size in zip(positions, sizes, strict=True):
            inside &= (position >= 0) & (position < size)
            index = index * size + np.clip(position, 0, size - 1)
        values = flat.gather(2, np.broadcast_to(index[:, None, :], (n, c, count)))
        if inside.all():
            return values
        return values * tensor(inside[:, None, :].astype(x.dtype), dtype=x.dtype)

    if mode == "nearest":
        out = gather([np.rint(p.detach().numpy()).astype(np.int64) for p in pixels])
        return out.reshape(n, c, *out_shape)
    lows = [np.floor(p.detach().numpy()) for p in pixels]
    fractions = [p - tensor(low, dtype=x.dtype) for p, low in zip(pixels, lows, strict=True)]
    if mode == "bicubic":
        (rows, columns), (row_low, column_low) = fractions, lows
        row_taps, column_taps = _cubic_weights(rows), _cubic_weights(columns)  # type: ignore[arg-type]
        out = None
        for i, j in itertools.product(range(4), repeat=2):
            positions = [
                _fold_taps(low + k - 1, size, padding_mode, bool(align_corners))
                for low, k, size in zip((row_low, column_low), (i, j), sizes, strict=True)
            ]
            term = gather(positions) * (row_taps[i] * column_taps[j]).unsqueeze(1)
            out = term if out is None else out + term
        return out.reshape(n, c, *out_shape)  # type: ignore[union-attr]
    out = None
    for corner in itertools.product((0, 1), repeat=dims):
        weight = None
        for frac, high in zip(fractions, corner, strict=True):
            factor = frac if high else 1 - frac  # (N, P)
            weight = factor if weight is None else weight * factor
        positions = [low.astype(np.int64) + h for low, h in zip(lows, corner, strict=True)]
        term = gather(positions) * weight.unsqueeze(1)  # type: ignore[union-attr]
        out = term if out is None else out + term
    return out.reshape(n, c, *out_shape)  # type: ignore[union-attr]


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
