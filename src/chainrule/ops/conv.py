"""Convolution, pooling and batch normalisation primitives on NCHW arrays (PyTorch's layouts).

Each could be composed from indexing and matmul; they are primitives for speed. Convolution is
im2col plus one matrix product per pass, so BLAS does nearly all of the work. Pooling and col2im
loop over the kh·kw kernel offsets only, each step vectorised over samples, channels and pixels.
Batch norm's fused backward is one pass where its composite would be a dozen nodes.

Layout: im2col builds its columns channels-first, (C·kh·kw, N·H_out·W_out), from an (C, N, H, W)
padded copy. Every copied run is then a contiguous image row, and the backward's col2im adds whole
(C, N, H_out, W_out) blocks. Measured on the MNIST CNN's second layer (N=128, C=32, K=64, 14x14,
1 thread), forward plus backward: 42 ms, against 64 ms for (N·H_out·W_out, C·kh·kw) columns and
49 ms for per-sample (N, C·kh·kw, H_out·W_out) columns with a batched matmul.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Array, Context, Function, Grads

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Positions of a kernel sliding over a padded axis (PyTorch's floor mode)."""
    return (size + 2 * padding - kernel) // stride + 1


def _offset_view(xp: Array, i: int, j: int, stride: Pair, out_hw: Pair) -> Array:
    """Element (i, j) of every window: xp (..., Hp, Wp) -> (..., H_out, W_out), a strided view."""
    (sh, sw), (ho, wo) = stride, out_hw
    return xp[..., i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]


def _pad(x: Array, padding: Pair, value: float) -> Array:
    """x (N, C, H, W) framed by `value`; x itself when there is no padding."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph : ph + h, pw : pw + w] = x
    return xp


def _unpad(xp: Array, padding: Pair) -> Array:
    ph, pw = padding
    return xp[..., ph : xp.shape[-2] - ph, pw : xp.shape[-1] - pw]


# ---------------------------------------------------------------------------- convolution
class Conv2d(Function):
    """z = W ⋆ x + b as W(K, C·kh·kw) @ cols;  dW = g @ colsᵀ,  dx = col2im(Wᵀ @ g),  db = Σ g."""

    @staticmethod
    def forward(
        ctx: Context,
        x: Array,
        weight: Array,
        bias: Array | None = None,
        *,
        stride: Pair = (1, 1),
        padding: Pair = (0, 0),
    ) -> Array:
        n, c, h, w = x.shape
        k, _, kh, kw = weight.shape
        (ph, pw), (sh, sw) = padding, stride
        ho, wo = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # (C, N, H+2ph, W+2pw)
        xp[:, :, ph : ph + h, pw : pw + w] = x.transpose(1, 0, 2, 3)  # (N,C,H,W) -> (C,N,H,W)
        windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        # windows: (C, N, H_out, W_out, kh, kw), a view; the one copy of im2col is this reshape.
        cols = windows.transpose(0, 4, 5, 1, 2, 3).reshape(c * kh * kw, n * ho * wo)
        out = weight.reshape(k, -1) @ cols  # (K, C*kh*kw) @ (C*kh*kw, N*H_out*W_out)
        need_x, need_w = ctx.needs_input_grad[:2]
        # cols only for dW, weight only for dx: the first layer (no dx) keeps no weight alive.
        ctx.save_for_backward(cols if need_w else None, weight if need_x else None)
        ctx.geometry = (x.shape, weight.shape, stride, padding, (ho, wo))
        # (K, N*H_out*W_out) -> (K, N, H_out, W_out) -> (N, K, H_out, W_out), copied contiguous
        # with the bias added on the way: one pass over the output instead of two.
        result = np.empty((n, k, ho, wo), dtype=out.dtype)
        transposed = out.reshape(k, n, ho, wo).transpose(1, 0, 2, 3)
        if bias is None:
            np.copyto(result, transposed)
        else:
            np.add(transposed, bias[:, None, None], out=result)
        return result

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        cols, weight = ctx.saved
        need_x, need_w, need_b = (*ctx.needs_input_grad, False)[:3]
        x_shape, w_shape, stride, padding, out_hw = ctx.geometry
        n, c, h, w = x_shape
        k, _, kh, kw = w_shape
        # (N, K, H_out, W_out) -> (K, N, H_out, W_out) -> (K, N*H_out*W_out)
        g = np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3)).reshape(k, -1)
        dw = (g @ cols.T).reshape(w_shape) if need_w else None  # (K, N*Ho*Wo) @ (N*Ho*Wo, C*kh*kw)
        db = g.sum(axis=1) if need_b else None
        dx = None
        if need_x:
            # (C*kh*kw, K) @ (K, N*H_out*W_out) -> (C, kh, kw, N, H_out, W_out)
            dcols = (weight.reshape(k, -1).T @ g).reshape(c, kh, kw, n, *out_hw)
            ph, pw = padding
            dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
            for i in range(kh):  # col2im: each kernel offset adds one (C, N, H_out, W_out) block
                for j in range(kw):
                    _offset_view(dxp, i, j, stride, out_hw)[...] += dcols[:, i, j]
            # (C, N, H, W) -> (N, C, H, W), copied contiguous
            dx = np.ascontiguousarray(_unpad(dxp, padding).transpose(1, 0, 2, 3))
        return dx, dw, db


# ---------------------------------------------------------------------------- pooling
def _pool_geometry(x: Array, kernel: Pair, stride: Pair, padding: Pair) -> tuple[Pair, bool]:
    """(H_out, W_out), and whether the windows tile the image: no overlap, no padding."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_hw = (output_size(x.shape[2], kh, sh, ph), output_size(x.shape[3], kw, sw, pw))
    tiles = (sh, sw) == (kh, kw) and ph == pw == 0
    return out_hw, tiles


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


class MaxPool2d(Function):
    """z = max of each window;  dz/dx = 1 at the window's first argmax, else 0 (overlaps summed)."""

    @staticmethod
    def forward(
        ctx: Context, x: Array, *, kernel_size: Pair, stride: Pair, padding: Pair = (0, 0)
    ) -> Array:
        (kh, kw), (n, c) = kernel_size, x.shape[:2]
        out_hw, tiles = _pool_geometry(x, kernel_size, stride, padding)
        if tiles:
            # Fast path: the windows tile the image (a ragged edge is dropped, as floor mode does).
            ho, wo = out_hw
            tiled = x[:, :, : ho * kh, : wo * kw].reshape(n, c, ho, kh, wo, kw)  # a view
            offsets = [tiled[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
        else:
            xp = _pad(x, padding, -np.inf)  # -inf never wins a window that has a real element
            offsets = [_offset_view(xp, i, j, stride, out_hw) for i in range(kh) for j in range(kw)]
        if not ctx.needs_input_grad[0]:
            out = offsets[0].copy()  # (N, C, H_out, W_out)
            for view in offsets[1:]:
                np.maximum(out, view, out=out)
            return out
        out, argmax = _first_max(offsets)
        ctx.save_for_backward(argmax)
        ctx.geometry = (x.shape, kernel_size, stride, padding, out_hw, tiles)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (argmax,) = ctx.saved
        x_shape, (kh, kw), stride, padding, out_hw, tiles = ctx.geometry
        n, c, h, w = x_shape
        ph, pw = padding
        ho, wo = out_hw
        covered = tiles and (ho * kh, wo * kw) == (h, w)  # every element is written below
        dxp = (np.empty if covered else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), grad_out.dtype)
        for t in range(kh * kw):
            target = _offset_view(dxp, t // kw, t % kw, stride, out_hw)
            if tiles:  # windows are disjoint: assign, no read-modify-write
                np.multiply(grad_out, argmax == t, out=target)
            else:
                target += grad_out * (argmax == t)
        return _unpad(dxp, padding) if ph or pw else dxp


class AvgPool2d(Function):
    """z = mean of each window, padding included;  dz/dx = 1/(kh·kw) for each window holding x."""

    @staticmethod
    def forward(
        ctx: Context, x: Array, *, kernel_size: Pair, stride: Pair, padding: Pair = (0, 0)
    ) -> Array:
        kh, kw = kernel_size
        out_hw, tiles = _pool_geometry(x, kernel_size, stride, padding)
        xp = _pad(x, padding, 0.0)
        out = _offset_view(xp, 0, 0, stride, out_hw).copy()  # (N, C, H_out, W_out)
        for t in range(1, kh * kw):
            out += _offset_view(xp, t // kw, t % kw, stride, out_hw)
        out *= np.asarray(1 / (kh * kw), dtype=x.dtype)
        ctx.geometry = (x.shape, kernel_size, stride, padding, out_hw, tiles)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        x_shape, (kh, kw), stride, padding, out_hw, tiles = ctx.geometry
        n, c, h, w = x_shape
        ph, pw = padding
        share = grad_out * np.asarray(1 / (kh * kw), dtype=grad_out.dtype)
        ho, wo = out_hw
        covered = tiles and (ho * kh, wo * kw) == (h, w)  # every element is written below
        dxp = (np.empty if covered else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), grad_out.dtype)
        for t in range(kh * kw):
            target = _offset_view(dxp, t // kw, t % kw, stride, out_hw)
            if tiles:
                target[...] = share
            else:
                target += share
        return _unpad(dxp, padding) if ph or pw else dxp


# ---------------------------------------------------------------------------- batch norm
def channel_shape(x: Array) -> tuple[int, ...]:
    """Broadcast shape of a per-channel vector against x (N, C, ...): (1, C, 1, ...)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _channel_dot(a: Array, b: Array) -> Array:
    """Σ a·b per channel over every other axis, without an (N, C, ...) temporary."""
    n, c = a.shape[:2]
    return np.einsum("ncl,ncl->c", a.reshape(n, c, -1), b.reshape(n, c, -1))  # (N, C, H*W)


def batch_axes(ndim: int) -> tuple[int, ...]:
    """The axes batch norm averages over: every axis but channels, (0,) or (0, 2, 3)."""
    return (0, *range(2, ndim))


def _scale_shift(
    x_hat: Array, weight: Array | None, bias: Array | None, shape: tuple[int, ...]
) -> Array:
    """γ·x̂ + β per channel (γ, β broadcast through ``shape``), as a new array."""
    out = x_hat * weight.reshape(shape) if weight is not None else x_hat.copy()
    if bias is not None:
        out += bias.reshape(shape)
    return out


class BatchNorm(Function):
    """Train mode z = γ·x̂ + β, x̂ = (x - μ)/σ, μ and σ² = var + eps of this batch (given);
    dx = (γ/σ)/m·(m·g − Σg − x̂·Σ(g·x̂)),  dγ = Σ g·x̂,  dβ = Σ g, sums over the m batch positions.

    ``mean`` and ``var`` must be x's own batch mean and biased variance per channel (the caller
    computes them once, also for the running statistics); the backward accounts for their
    dependence on x.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: Array,
        weight: Array | None,
        bias: Array | None,
        *,
        mean: Array,
        var: Array,
        eps: float,
    ) -> Array:
        shape = channel_shape(x)
        inv_std = 1 / np.sqrt(var + np.asarray(eps, dtype=x.dtype))  # (C,)
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        out = _scale_shift(x_hat, weight, bias, shape)
        ctx.save_for_backward(x_hat, weight, inv_std)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        x_hat, weight, inv_std = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        axes, shape = batch_axes(grad_out.ndim), channel_shape(grad_out)
        sum_g = grad_out.sum(axis=axes)  # (C,)
        if not (need_x or need_w):
            return None, None, sum_g
        sum_g_xhat = _channel_dot(grad_out, x_hat)
        dx = None
        if need_x:
            m = grad_out.size // grad_out.shape[1]
            gamma = weight if weight is not None else np.ones_like(inv_std)
            scale = (gamma * inv_std / np.asarray(m, dtype=grad_out.dtype)).reshape(shape)
            dx = grad_out * np.asarray(m, dtype=grad_out.dtype)
            dx -= sum_g.reshape(shape)
            dx -= x_hat * sum_g_xhat.reshape(shape)
            dx *= scale
        return dx, (sum_g_xhat if need_w else None), (sum_g if need_b else None)


class BatchNormEval(Function):
    """Eval mode z = γ·(x - μ)/σ + β with fixed running μ, σ² = var + eps;
    dz/dx = γ/σ,  dγ = Σ g·x̂,  dβ = Σ g."""

    @staticmethod
    def forward(
        ctx: Context,
        x: Array,
        weight: Array | None,
        bias: Array | None,
        *,
        mean: Array,
        var: Array,
        eps: float,
    ) -> Array:
        shape = channel_shape(x)
        inv_std = (1 / np.sqrt(var + np.asarray(eps, dtype=var.dtype))).astype(x.dtype)
        x_hat = (x - mean.astype(x.dtype).reshape(shape)) * inv_std.reshape(shape)
        out = _scale_shift(x_hat, weight, bias, shape)
        ctx.save_for_backward(x_hat if ctx.needs_input_grad[1] else None, weight, inv_std)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        x_hat, weight, inv_std = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        axes, shape = batch_axes(grad_out.ndim), channel_shape(grad_out)
        scale = inv_std if weight is None else weight * inv_std
        return (
            grad_out * scale.reshape(shape) if need_x else None,
            _channel_dot(grad_out, x_hat) if need_w else None,
            grad_out.sum(axis=axes) if need_b else None,
        )
