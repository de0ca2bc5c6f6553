"""Pooling primitives on NCHW arrays: max and average over sliding windows, adaptive max.

Sliding-window pooling loops over the kh·kw kernel offsets only, each step vectorised over
samples, channels and output pixels; ceil mode and padding become a frame around the image
(-inf for max, zeros for average), so every offset is one strided view. They are primitives for
speed (a composite of kh·kw strided slices and maxima would keep kh·kw nodes alive).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .base import Array, Context, Function, Grads
from .conv import offset_view

Pair = tuple[int, int]


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
    """Where the windows of a pooling lie in the image."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    out_hw: Pair
    frame: tuple[Pair, Pair]  # ((top, bottom), (left, right)) rows and columns added around x
    tiles: bool  # windows are disjoint and inside the image: no frame, no overlap


def geometry(
    shape: tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
) -> Geometry:
    sizes = shape[-2:]
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
        stride == kernel
        and dilation == (1, 1)
        and frame == ((0, 0), (0, 0))
        and all(o * k <= n for o, k, n in zip(out, kernel, sizes, strict=True))
    )
    return Geometry(kernel, stride, padding, dilation, out, frame, tiles)  # type: ignore[arg-type]


def _framed(x: Array, frame: tuple[Pair, Pair], value: float) -> Array:
    """x (..., H, W) with `frame` rows and columns of `value` around it; x itself for none."""
    (top, bottom), (left, right) = frame
    if top == bottom == left == right == 0:
        return x
    *lead, h, w = x.shape
    xp = np.full((*lead, top + h + bottom, left + w + right), value, dtype=x.dtype)
    xp[..., top : top + h, left : left + w] = x
    return xp


def _unframed(xp: Array, frame: tuple[Pair, Pair], shape: tuple[int, ...]) -> Array:
    (top, _), (left, _) = frame
    return xp[..., top : top + shape[-2], left : left + shape[-1]]


def _window_offsets(x: Array, geo: Geometry, value: float) -> list[Array]:
    """The kh·kw strided views (N, C, H_out, W_out), one per kernel offset, row-major."""
    (kh, kw), (dh, dw) = geo.kernel, geo.dilation
    if geo.tiles:
        ho, wo = geo.out_hw
        tiled = x[..., : ho * kh, : wo * kw].reshape(*x.shape[:-2], ho, kh, wo, kw)  # a view
        return [tiled[..., :, i, :, j] for i in range(kh) for j in range(kw)]
    xp = _framed(x, geo.frame, value)
    stride, out_hw = geo.stride, geo.out_hw
    return [offset_view(xp, i * dh, j * dw, stride, out_hw) for i in range(kh) for j in range(kw)]


def _first_max(views: list[Array]) -> tuple[Array, Any]:
    """Elementwise max of same-shape arrays and the index of the first one attaining it.

    A pairwise tournament in which the earlier entry wins ties, as PyTorch breaks them: per
    merge one maximum, one comparison and one select, all elementwise. (A loop that updates
    the running max with masked copies measured 3x slower; a max-reduce over the window axes
    of the (N, C, H_out, kh, W_out, kw) view 5x slower.)
    """
    index_type = np.uint8 if len(views) < 256 else np.int32
    if len(views) == 1:
        return views[0].copy(), np.zeros(views[0].shape, dtype=index_type)
    level: list[tuple[Array, Any]] = [(v, index_type(t)) for t, v in enumerate(views)]
    while len(level) > 1:
        merged: list[tuple[Array, Any]] = []
        for (left, left_index), (right, right_index) in zip(level[::2], level[1::2], strict=False):
            later = right > left
            if left_index.ndim == right_index.ndim == 0:  # first level: indices t and t + 1
                index = later.view(index_type) if left_index == 0 else later + left_index
            else:
                index = np.where(later, right_index, left_index)
            merged.append((np.maximum(left, right), index))
        if len(level) % 2:
            merged.append(level[-1])
        level = merged
    return level[0]


def _scatter(grad_windows: Any, x_shape: tuple[int, ...], geo: Geometry, dtype: Any) -> Array:
    """Σ over kernel offsets t of grad_windows(t) (N, C, H_out, W_out) placed back at each
    window's offset-t element: the adjoint of _window_offsets."""
    (kh, kw), (dh, dw) = geo.kernel, geo.dilation
    (top, bottom), (left, right) = geo.frame
    h, w = x_shape[-2:]
    ho, wo = geo.out_hw
    covered = geo.tiles and (ho * kh, wo * kw) == (h, w)  # every element is written below
    framed = (*x_shape[:-2], top + h + bottom, left + w + right)
    dxp = (np.empty if covered else np.zeros)(framed, dtype)
    for t in range(kh * kw):
        target = offset_view(dxp, (t // kw) * dh, (t % kw) * dw, geo.stride, geo.out_hw)
        if geo.tiles:  # windows are disjoint: assign, no read-modify-write
            grad_windows(t, target)
        else:
            target += grad_windows(t, None)
    return _unframed(dxp, geo.frame, x_shape)


def max_pool2d_indices(x: Array, geo: Geometry) -> Array:
    """Flat index (row·W + column in its (H, W) plane) of each window's first maximum, int64,
    as PyTorch's return_indices."""
    _, argmax = _first_max(_window_offsets(x, geo, -np.inf))
    (kw, (sh, sw), (ph, pw), (dh, dw)) = (geo.kernel[1], geo.stride, geo.padding, geo.dilation)
    ho, wo = geo.out_hw
    argmax = argmax.astype(np.int64)
    rows = np.arange(ho).reshape(-1, 1) * sh - ph + (argmax // kw) * dh
    cols = np.arange(wo) * sw - pw + (argmax % kw) * dw
    return rows * x.shape[-1] + cols


class MaxPool2d(Function):
    """z = max of each window;  dz/dx = 1 at the window's first argmax, else 0 (overlaps summed)."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, geometry: Geometry) -> Array:
        offsets = _window_offsets(x, geometry, -np.inf)  # -inf never wins a window
        if not ctx.needs_input_grad[0]:
            out = offsets[0].copy()  # (N, C, H_out, W_out)
            for view in offsets[1:]:
                np.maximum(out, view, out=out)
            return out
        out, argmax = _first_max(offsets)
        ctx.save_for_backward(argmax)
        ctx.geometry, ctx.x_shape = geometry, x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (argmax,) = ctx.saved

        def windows(t: int, out: Array | None) -> Array:
            return np.multiply(grad_out, argmax == t, out=out)

        return _scatter(windows, ctx.x_shape, ctx.geometry, grad_out.dtype)


def avg_pool_divisor(
    shape: tuple[int, ...], geo: Geometry, count_include_pad: bool, divisor_override: int | None
) -> Array | float:
    """Each window's divisor, as PyTorch: the override; or the window's size clipped to the
    padded image (count_include_pad); or its count of real elements. (H_out, W_out) or a
    number when all windows share one."""
    if divisor_override is not None:
        return float(divisor_override)
    counts = []
    axes = zip(shape[-2:], geo.kernel, geo.stride, geo.padding, geo.out_hw, strict=True)
    for n, k, s, p, o in axes:
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    divisor = counts[0].reshape(-1, 1) * counts[1]  # windows are rectangles: (H_out, W_out)
    return float(divisor.flat[0]) if (divisor == divisor.flat[0]).all() else divisor


class AvgPool2d(Function):
    """z = Σ window / divisor (avg_pool_divisor);  dz/dx = Σ over windows holding x of 1/divisor."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, geometry: Geometry, divisor: Array | float) -> Array:
        offsets = _window_offsets(x, geometry, 0.0)
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

        return _scatter(windows, ctx.x_shape, ctx.geometry, grad_out.dtype)


# ---------------------------------------------------------------------------- adaptive
def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·size/out), ceil((i+1)·size/out)) for i < out."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_max_indices(x: Array, out_hw: Pair) -> Array:
    """Flat index (row·W + column) of each adaptive window's first maximum (NaN wins, as
    PyTorch): (N, C, H_out, W_out) int64."""
    *lead, h, w = x.shape
    index = np.empty((*lead, *out_hw), dtype=np.int64)
    for i, (r0, r1) in enumerate(adaptive_windows(h, out_hw[0])):
        for j, (c0, c1) in enumerate(adaptive_windows(w, out_hw[1])):
            window = x[..., r0:r1, c0:c1].reshape(*lead, -1)  # (N, C, rows*cols)
            first = window.argmax(axis=-1)  # first occurrence; a NaN is its own maximum
            index[..., i, j] = (r0 + first // (c1 - c0)) * w + c0 + first % (c1 - c0)
    return index


class AdaptiveMaxPool2d(Function):
    """z = max of each adaptive window (adaptive_windows);  dz/dx = 1 at its first argmax."""

    @staticmethod
    def forward(ctx: Context, x: Array, *, output_size: Pair) -> Array:
        index = adaptive_max_indices(x, output_size)
        planes = x.reshape(*x.shape[:-2], -1)  # (N, C, H*W)
        out = np.take_along_axis(planes, index.reshape(*x.shape[:-2], -1), axis=-1)
        ctx.save_for_backward(index)
        ctx.x_shape = x.shape
        return out.reshape(index.shape)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (index,) = ctx.saved
        *lead, h, w = ctx.x_shape
        dx = np.zeros((int(np.prod(lead)), h * w), dtype=grad_out.dtype)  # (N*C, H*W)
        planes = np.arange(dx.shape[0]).reshape(-1, 1)
        # Windows overlap when the size is not a multiple of the output: add, never assign.
        np.add.at(dx, (planes, index.reshape(dx.shape[0], -1)), grad_out.reshape(dx.shape[0], -1))
        return dx.reshape(ctx.x_shape)
