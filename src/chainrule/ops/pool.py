"""Pooling primitives on channels-first arrays: max and average over sliding windows, adaptive
max, over the last two (2-d) or three (3-d) axes.

Sliding-window pooling loops over the kernel offsets only, each step vectorised over samples,
channels and output pixels; ceil mode and padding become a frame around the image (-inf for
max, zeros for average), so every offset is one strided view. They are primitives for speed (a
composite of kh·kw strided slices and maxima would keep kh·kw nodes alive).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

import numpy as np

from .. import kernels
from ..kernels.numpy_backend import first_max, scatter, window_offsets
from .base import Array, Context, Function, Grads

Pair = tuple[int, ...]  # one int per pooled axis


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Window positions along one axis, as PyTorch's pooling_output_shape: in ceil mode a last
    partial window counts when it starts inside the image or its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class Geometry(NamedTuple):
    """Where the windows of a pooling lie in the image (one entry per pooled axis)."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    out_hw: Pair
    frame: tuple[Pair, ...]  # (before, after) per axis: rows and columns added around x
    tiles: bool  # windows are disjoint and inside the image: no frame, no overlap


def geometry(
    shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair | None = None,
    ceil_mode: bool = False,
) -> Geometry:
    """The windows over the last len(kernel) axes of an array of this shape."""
    dilation = (1,) * len(kernel) if dilation is None else dilation
    sizes = shape[-len(kernel) :]
    out = tuple(
        pool_output_size(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True)
    )
    # The frame covers the padding and whatever the last (ceil-mode) window reaches beyond it.
    frame = tuple(
        (p, max(p, (o - 1) * s + d * (k - 1) + 1 - p - n))
        for n, k, s, p, d, o in zip(sizes, kernel, stride, padding, dilation, out, strict=True)
    )
    tiles = (
        tuple(stride) == tuple(kernel)
        and max(dilation) == 1
        and all(f == (0, 0) for f in frame)
        and all(o * k <= n for o, k, n in zip(out, kernel, sizes, strict=True))
    )
    return Geometry(
        tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), out, frame, tiles
    )


def _flat_index(positions: list[Array], sizes: tuple[int, ...]) -> Array:
    """Row-major flat index in the (*sizes) plane of per-axis positions (broadcast)."""
    flat = positions[0]
    for position, n in zip(positions[1:], sizes[1:], strict=True):
        flat = flat * n + position
    return flat


def max_pool2d_indices(x: Array, geo: Geometry) -> Array:
    """Flat index (row·W + column in its (H, W) plane; likewise in (D, H, W)) of each window's
    first maximum, int64, as PyTorch's return_indices."""
    _, argmax = first_max(window_offsets(x, geo, -np.inf))
    dims = len(geo.kernel)
    within = np.unravel_index(argmax.astype(np.int64), geo.kernel)  # offset per axis
    positions = []
    for a in range(dims):
        start = np.arange(geo.out_hw[a]) * geo.stride[a] - geo.padding[a]
        start = start.reshape(-1, *(1,) * (dims - 1 - a))
        positions.append(start + within[a] * geo.dilation[a])
    return _flat_index(positions, x.shape[-dims:])


class MaxPool2d(Function):
    """z = max of each window;  dz/dx = 1 at the window's first argmax, else 0 (overlaps summed)."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, geometry: Geometry) -> Array:
        need = ctx.needs_input_grad[0]
        out, argmax = kernels.max_pool(x, geometry, need)
        if need:
            ctx.save_for_backward(argmax)
            ctx.geometry, ctx.x_shape = geometry, x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        return kernels.max_pool_backward(grad_out, ctx.saved[0], ctx.x_shape, ctx.geometry)


def avg_pool_divisor(
    shape: tuple[int, ...], geo: Geometry, count_include_pad: bool, divisor_override: int | None
) -> Array | float:
    """Each window's divisor, as PyTorch: the override; or the window's size clipped to the
    padded image (count_include_pad); or its count of real elements. (*out) or a number when
    all windows share one."""
    if divisor_override is not None:
        return float(divisor_override)
    dims = len(geo.kernel)
    divisor: Any = 1
    axes = zip(shape[-dims:], geo.kernel, geo.stride, geo.padding, geo.out_hw, strict=True)
    for a, (n, k, s, p, o) in enumerate(axes):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        # windows are boxes: the product of the per-axis counts, (*out)
        divisor = divisor * (end - start).reshape(-1, *(1,) * (dims - 1 - a))
    return float(divisor.flat[0]) if (divisor == divisor.flat[0]).all() else divisor


class AvgPool2d(Function):
    """z = Σ window / divisor (avg_pool_divisor);  dz/dx = Σ over windows holding x of 1/divisor."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, geometry: Geometry, divisor: Array | float) -> Array:
        offsets = window_offsets(x, geometry, 0.0)
        out = offsets[0].copy()  # (N, C, H_out, W_out)
        for view in offsets[1:]:
            out += view
        scale = np.asarray(1 / np.asarray(divisor), dtype=x.dtype)
        out *= scale
        ctx.save_for_backward(scale)
        ctx.geometry, ctx.x_shape = geometry, x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (scale,) = ctx.saved
        share = grad_out * scale.astype(grad_out.dtype, copy=False)

        def windows(t: int, out: Array | None) -> Array:
            if out is None:
                return share
            out[...] = share
            return out

        return scatter(windows, ctx.x_shape, ctx.geometry, grad_out.dtype)


# ---------------------------------------------------------------------------- adaptive
def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·size/out), ceil((i+1)·size/out)) for i < out."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_max_indices(x: Array, out_hw: Pair) -> Array:
    """Flat index (row·W + column, likewise in (D, H, W)) of each adaptive window's first
    maximum (NaN wins, as PyTorch): (N, C, *out) int64."""
    dims = len(out_hw)
    lead, sizes = x.shape[:-dims], x.shape[-dims:]
    index = np.empty((*lead, *out_hw), dtype=np.int64)
    per_axis = [list(enumerate(adaptive_windows(n, o))) for n, o in zip(sizes, out_hw, strict=True)]
    for cells in itertools.product(*per_axis):
        where = tuple(i for i, _ in cells)
        bounds = [b for _, b in cells]
        box = x[(Ellipsis, *(slice(lo, hi) for lo, hi in bounds))]
        first = box.reshape(*lead, -1).argmax(axis=-1)  # first occurrence; NaN its own max
        within = np.unravel_index(first, tuple(hi - lo for lo, hi in bounds))
        positions = [lo + w for (lo, _), w in zip(bounds, within, strict=True)]
        index[(Ellipsis, *where)] = _flat_index(positions, sizes)
    return index


class AdaptiveMaxPool2d(Function):
    """z = max of each adaptive window (adaptive_windows);  dz/dx = 1 at its first argmax."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, output_size: Pair) -> Array:
        index = adaptive_max_indices(x, output_size)
        lead = x.shape[: x.ndim - len(output_size)]
        planes = x.reshape(*lead, -1)  # (N, C, H*W)
        out = np.take_along_axis(planes, index.reshape(*lead, -1), axis=-1)
        ctx.save_for_backward(index)
        ctx.x_shape, ctx.dims = x.shape, len(output_size)
        return out.reshape(index.shape)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (index,) = ctx.saved
        split = len(ctx.x_shape) - ctx.dims
        lead, plane = ctx.x_shape[:split], math.prod(ctx.x_shape[split:])
        dx = np.zeros((math.prod(lead), plane), dtype=grad_out.dtype)  # (N*C, H*W)
        planes = np.arange(dx.shape[0]).reshape(-1, 1)
        # Windows overlap when the size is not a multiple of the output: add, never assign.
        np.add.at(dx, (planes, index.reshape(dx.shape[0], -1)), grad_out.reshape(dx.shape[0], -1))
        return dx.reshape(ctx.x_shape)


class MaxPool3d(MaxPool2d):
    """MaxPool2d's primitive over the last three axes (a Geometry of triples)."""


class AvgPool3d(AvgPool2d):
    """AvgPool2d's primitive over the last three axes (a Geometry of triples)."""


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """AdaptiveMaxPool2d's primitive over the last three axes."""
