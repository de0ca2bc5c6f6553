"""The reference kernels: NumPy only. Every other backend gives these results.

Conventions shared by all backends: float arrays keep their dtype (scalars are cast to it, so
float32 stays float32); in-place kernels write into the arrays they are given and return None.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NAME = "numpy"

Array = np.ndarray
Shape = tuple[int, ...]  # one entry per spatial axis


# --------------------------------------------------------------------------------- ReLU
def relu(x: Array) -> Array:
    """max(x, 0), a new array."""
    return np.maximum(x, 0)


def relu_backward(grad: Array, out: Array) -> Array:
    """grad where the saved output is positive, else 0 (PyTorch's 0 at the kink)."""
    return grad * (out > 0)


# ---------------------------------------------------------------------------- optimisers
def sgd_momentum(
    param: Array,
    grad: Array,
    buf: Array,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
) -> None:
    """b ← μ·b + (1-τ)·g;  w ← w - lr·(g + μ·b if Nesterov else b), in place."""
    buf *= momentum
    buf += grad if dampening == 0 else (1 - dampening) * grad
    param -= lr * (grad + momentum * buf if nesterov else buf)


def adam(
    param: Array,
    grad: Array,
    exp_avg: Array,
    exp_avg_sq: Array,
    max_exp_avg_sq: Array | None,
    beta1: float,
    beta2: float,
    lr: float,
    eps: float,
    step: float,
) -> None:
    """m ← lerp(m, g, 1-β₁);  v ← β₂·v + (1-β₂)·g²;  v̂ = max(v̂, v) with AMSGrad;
    w ← w - (lr/(1-β₁ᵗ))·m / (√v̂/√(1-β₂ᵗ) + ε), in place and in PyTorch's order of operations."""
    scratch = lerp_(exp_avg, grad, 1 - beta1)  # one scratch array serves every pass below
    exp_avg_sq *= beta2
    np.multiply(grad, 1 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq += scratch
    step_size = lr / (1 - beta1**step)  # bias corrections: m and v start at 0
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denominator = np.sqrt(max_exp_avg_sq)
    else:
        denominator = np.sqrt(exp_avg_sq)
    denominator /= bias_correction2_sqrt
    denominator += eps
    np.multiply(exp_avg, -step_size, out=scratch)  # (-step·m)/d, PyTorch's addcdiv order
    scratch /= denominator
    param += scratch


def lerp_(start: Array, end: Array, weight: float) -> Array:
    """start ← start + weight·(end - start) in place, in PyTorch's two forms (the second keeps
    precision when the weight is near 1). Returns its scratch array, free for reuse."""
    difference = end - start
    if weight < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= 1 - weight
        np.subtract(end, difference, out=start)
    return difference


# --------------------------------------------------------------------------- batch norm
def batch_norm_stats(x: Array) -> tuple[Array, Array]:
    """Per-channel mean and biased variance of x (N, C, L) over N and L, in x's dtype."""
    mean = x.mean(axis=(0, 2))
    centred = x - mean[:, None]
    var = np.einsum("ncl,ncl->c", centred, centred) / np.asarray(
        x.shape[0] * x.shape[2], dtype=mean.dtype
    )
    return mean, var


def batch_norm_forward(
    x: Array, mean: Array, inv_std: Array, weight: Array | None, bias: Array | None
) -> Array:
    """γ·(x - μ)·inv_std + β per channel of x (N, C, L), as a new array."""
    out = (x - mean[:, None]) * inv_std[:, None]
    if weight is not None:
        out *= weight[:, None]
    if bias is not None:
        out += bias[:, None]
    return out


def batch_norm_backward(
    grad: Array, x: Array, mean: Array, inv_std: Array, weight: Array | None, need_x: bool
) -> tuple[Array | None, Array, Array]:
    """(dx, Σ g·x̂, Σ g) of train-mode batch norm, sums per channel over N and L, with
    x̂ = (x - μ)·inv_std and dx = γ·inv_std/m·(m·g - Σg - x̂·Σ(g·x̂)), m = N·L."""
    x_hat = (x - mean[:, None]) * inv_std[:, None]
    sum_g = grad.sum(axis=(0, 2))
    sum_g_xhat = np.einsum("ncl,ncl->c", grad, x_hat)
    if not need_x:
        return None, sum_g_xhat, sum_g
    m = np.asarray(grad.shape[0] * grad.shape[2], dtype=grad.dtype)
    gamma = weight if weight is not None else np.ones_like(inv_std)
    dx = grad * m
    dx -= sum_g[:, None]
    dx -= x_hat * sum_g_xhat[:, None]
    dx *= (gamma * inv_std / m)[:, None]
    return dx, sum_g_xhat, sum_g


# --------------------------------------------------------------------------------- LSTM
def lstm_cell(a: Array, c_prev: Array, c: Array, tanh_c: Array, h: Array) -> None:
    """One LSTM step from the pre-activations a (N, 4H), gates (i, f, g, o): a becomes
    (σ(i), σ(f), tanh(g), σ(o)) in place; c = f·c_prev + i·g, tanh_c = tanh(c), h = o·tanh_c
    are written into the given (N, H) arrays (h may be a strided view)."""
    hidden = c.shape[-1]
    # σ(x) = (1 + tanh(x/2))/2: all four gates are one tanh of the scaled pre-activation, then
    # an affine map, so the gates cost four array passes instead of eight.
    scale = np.full(a.shape[-1], 0.5, dtype=a.dtype)
    scale[2 * hidden : 3 * hidden] = 1
    shift = np.full(a.shape[-1], 0.5, dtype=a.dtype)
    shift[2 * hidden : 3 * hidden] = 0
    a *= scale
    np.tanh(a, out=a)
    a *= scale
    a += shift
    i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
    np.multiply(f, c_prev, out=c)
    c += i * g
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)


def lstm_cell_backward(
    acts: Array, c_prev: Array, tanh_c: Array, dh: Array, dc: Array, dgates: Array
) -> Array:
    """The step's gate gradients from dh and dc (N, H), the gradients reaching h_t and c_t
    from above: dc' = dc + dh·o·(1 - tanh² c_t), then d(i, f, g, o) = (dc'·g·σ'(i),
    dc'·c_{t-1}·σ'(f), dc'·i·(1 - g²), dh·tanh c_t·σ'(o)) into dgates (N, 4H), with σ' = s(1 - s)
    of the activation s. Returns dc_{t-1} = dc'·f."""
    hidden = tanh_c.shape[-1]
    i, f, g, o = (acts[:, k * hidden : (k + 1) * hidden] for k in range(4))
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    np.multiply(dc, g * i * (1 - i), out=dgates[:, :hidden])
    np.multiply(dc, c_prev * f * (1 - f), out=dgates[:, hidden : 2 * hidden])
    np.multiply(dc, i * (1 - g * g), out=dgates[:, 2 * hidden : 3 * hidden])
    np.multiply(dh, tanh_c * o * (1 - o), out=dgates[:, 3 * hidden :])
    return dc * f


# --------------------------------------------------------------------------- convolution
# Any number of spatial axes: (N, C, *sizes) images, kernels and strides one entry per axis.
def offset_view(xp: Array, offset: Shape, stride: Shape, out_sizes: Shape) -> Array:
    """Element ``offset`` of every window: xp (..., *padded) -> (..., *out_sizes), a strided
    view over the last len(offset) axes."""
    views = (
        slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offset, stride, out_sizes, strict=True)
    )
    return xp[(Ellipsis, *views)]


def _channels_first_padded(x: Array, padding: Shape) -> Array:
    """(N, C, *sizes) -> (C, N, *padded) with zeros around, one copy."""
    n, c, *sizes = x.shape
    xp = np.zeros((c, n, *(s + 2 * p for s, p in zip(sizes, padding, strict=True))), x.dtype)
    inner = tuple(slice(p, p + s) for s, p in zip(sizes, padding, strict=True))
    xp[(slice(None), slice(None), *inner)] = x.transpose(1, 0, *range(2, x.ndim))
    return xp


def im2col(
    x: Array,
    kernel: Shape,
    stride: Shape,
    padding: Shape,
    dilation: Shape,
    out_sizes: Shape,
    out: Array | None = None,
) -> Array:
    """Columns (C·kh·kw, N·H_out·W_out) of the (dilated) windows of x (N, C, H, W) zero-padded
    by padding, channels first: every copied run is an image row. Only the first out_sizes
    window positions are kept. Written into ``out`` when given (C-contiguous, that shape)."""
    n, c = x.shape[:2]
    dims = x.ndim - 2
    xp = _channels_first_padded(x, padding)  # (C, N, *padded)
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    every = (slice(None), slice(None))
    windows = sliding_window_view(xp, span, axis=tuple(range(2, 2 + dims)))
    windows = windows[every + tuple(slice(None, None, s) for s in stride)]
    if max(dilation) > 1:
        windows = windows[(Ellipsis, *(slice(None, None, d) for d in dilation))]
    windows = windows[every + tuple(slice(0, o) for o in out_sizes)]
    # (C, N, *out, *kernel) -> (C, *kernel, N, *out), a view; its one copy is the columns.
    order = (0, *range(2 + dims, 2 + 2 * dims), 1, *range(2, 2 + dims))
    shape = (c * math.prod(kernel), n * math.prod(out_sizes))
    if out is None:
        return windows.transpose(order).reshape(shape)
    out.reshape(c, *kernel, n, *out_sizes)[...] = windows.transpose(order)
    return out


def col2im(
    dcols: Array, x_shape: tuple[int, ...], stride: Shape, padding: Shape, dilation: Shape
) -> Array:
    """The adjoint of im2col: dcols (C, *kernel, N, *out) summed back into a new (N, C, *sizes)
    image, one (C, N, *out) block per kernel offset."""
    n, c, *sizes = x_shape
    dims = len(sizes)
    kernel, out_sizes = dcols.shape[1 : 1 + dims], dcols.shape[2 + dims :]
    shape = (c, n, *(s + 2 * p for s, p in zip(sizes, padding, strict=True)))
    dxp = np.zeros(shape, dtype=dcols.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        start = tuple(o * d for o, d in zip(offset, dilation, strict=True))
        offset_view(dxp, start, stride, out_sizes)[...] += dcols[(slice(None), *offset)]
    inner = tuple(slice(p, p + s) for s, p in zip(sizes, padding, strict=True))
    cropped = dxp[(slice(None), slice(None), *inner)]  # (C, N, *sizes)
    return np.ascontiguousarray(cropped.transpose(1, 0, *range(2, 2 + dims)))


def conv_block_bytes() -> int:
    """Bytes of columns per block of a blocked 2-D convolution; 0: the whole batch at once, in
    the (C·kh·kw, N·H_out·W_out) layout. NumPy's per-call costs make small blocks slower here
    (a W-CNN step 158 against 143 ms on 1 thread)."""
    return 0


def im2col_images(
    x: Array,
    start: int,
    stop: int,
    kernel: Shape,
    stride: Shape,
    padding: Shape,
    dilation: Shape,
    out_sizes: Shape,
    out: Array,
) -> Array:
    """im2col of the images start..stop of x, one (C·kh·kw, H_out·W_out) block per image:
    written into out (stop - start, C·kh·kw, H_out·W_out), C-contiguous."""
    cols = im2col(x[start:stop], kernel, stride, padding, dilation, out_sizes)
    out[...] = cols.reshape(cols.shape[0], stop - start, -1).transpose(1, 0, 2)
    return out


def col2im_images(
    dcols: Array, dx: Array, start: int, stride: Shape, padding: Shape, dilation: Shape,
    kernel: Shape, out_sizes: Shape,
) -> None:  # fmt: skip
    """The adjoint of im2col_images: dcols (B, C·kh·kw, H_out·W_out) summed back into the
    images dx[start:start + B] (N, C, H, W), which it overwrites."""
    b, c = len(dcols), dx.shape[1]
    # (B, C·kh·kw, L) -> (C, kh, kw, B, H_out, W_out), col2im's layout
    blocks = dcols.reshape(b, c, *kernel, *out_sizes).transpose(1, 2, 3, 0, 4, 5)
    dx[start : start + b] = col2im(blocks, (b, *dx.shape[1:]), stride, padding, dilation)


def to_images(out: Array, n: int, out_sizes: Shape, bias: Array | None) -> Array:
    """(K, N·H·W) -> a new (N, K, H, W), the bias added on the way (one pass, not two)."""
    k = out.shape[0]
    result = np.empty((n, k, *out_sizes), dtype=out.dtype)
    transposed = out.reshape(k, n, *out_sizes).transpose(1, 0, *range(2, 2 + len(out_sizes)))
    if bias is None:
        np.copyto(result, transposed)
    else:
        np.add(transposed, bias.reshape(-1, *(1,) * len(out_sizes)), out=result)
    return result


def channels_first(a: Array, out: Array | None = None) -> Array:
    """(N, K, H, W) -> contiguous (K, N·H·W), new or written into ``out``."""
    moved = a.transpose(1, 0, *range(2, a.ndim))
    if out is None:
        return np.ascontiguousarray(moved).reshape(a.shape[1], -1)
    out.reshape(moved.shape)[...] = moved
    return out


# ------------------------------------------------------------------------------- pooling
# ``geo`` describes the windows (ops.pool.Geometry): kernel, stride, padding, dilation and
# out_hw per pooled axis; frame, the (before, after) entries around each axis that padding and
# ceil mode add; tiles, whether the windows are disjoint and inside the image.
def _framed(x: Array, frame: tuple[Shape, ...], value: float) -> Array:
    """x (..., *sizes) with `frame` entries of `value` around it; x itself for none."""
    if all(before == after == 0 for before, after in frame):
        return x
    dims = len(frame)
    lead, sizes = x.shape[:-dims], x.shape[-dims:]
    grown = tuple(b + n + a for n, (b, a) in zip(sizes, frame, strict=True))
    xp = np.full((*lead, *grown), value, dtype=x.dtype)
    xp[(Ellipsis, *(slice(b, b + n) for n, (b, _) in zip(sizes, frame, strict=True)))] = x
    return xp


def _unframed(xp: Array, frame: tuple[Shape, ...], shape: tuple[int, ...]) -> Array:
    sizes = shape[-len(frame) :]
    return xp[(Ellipsis, *(slice(b, b + n) for n, (b, _) in zip(sizes, frame, strict=True)))]


def _offsets(geo: Any) -> list[tuple[int, ...]]:
    """The kernel offsets, row-major (the order PyTorch breaks ties in)."""
    return list(itertools.product(*(range(k) for k in geo.kernel)))


def window_offsets(x: Array, geo: Any, value: float) -> list[Array]:
    """The strided views (N, C, *out), one per kernel offset, row-major."""
    dims = len(geo.kernel)
    if geo.tiles:
        crop = tuple(slice(0, o * k) for o, k in zip(geo.out_hw, geo.kernel, strict=True))
        split = tuple(v for o, k in zip(geo.out_hw, geo.kernel, strict=True) for v in (o, k))
        tiled = x[(Ellipsis, *crop)].reshape(*x.shape[:-dims], *split)  # a view
        return [
            tiled[(Ellipsis, *(v for o in offset for v in (slice(None), o)))]
            for offset in _offsets(geo)
        ]
    xp = _framed(x, geo.frame, value)
    return [
        offset_view(
            xp,
            tuple(o * d for o, d in zip(offset, geo.dilation, strict=True)),
            geo.stride,
            geo.out_hw,
        )
        for offset in _offsets(geo)
    ]


def first_max(views: list[Array]) -> tuple[Array, Any]:
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


def scatter(grad_windows: Any, x_shape: tuple[int, ...], geo: Any, dtype: Any) -> Array:
    """Σ over kernel offsets t of grad_windows(t) (N, C, *out) placed back at each window's
    offset-t element: the adjoint of window_offsets."""
    dims = len(geo.kernel)
    sizes = x_shape[-dims:]
    covered = geo.tiles and all(
        o * k == n for o, k, n in zip(geo.out_hw, geo.kernel, sizes, strict=True)
    )  # every element is written below
    framed = (*x_shape[:-dims], *(b + n + a for n, (b, a) in zip(sizes, geo.frame, strict=True)))
    dxp = (np.empty if covered else np.zeros)(framed, dtype)
    for t, offset in enumerate(_offsets(geo)):
        start = tuple(o * d for o, d in zip(offset, geo.dilation, strict=True))
        target = offset_view(dxp, start, geo.stride, geo.out_hw)
        if geo.tiles:  # windows are disjoint: assign, no read-modify-write
            grad_windows(t, target)
        else:
            target += grad_windows(t, None)
    return _unframed(dxp, geo.frame, x_shape)


def max_pool(x: Array, geo: Any, with_argmax: bool) -> tuple[Array, Array | None]:
    """Each window's maximum (N, C, *out) and, when asked, the offset (row-major in the
    window) of its first maximum: uint8 for windows under 256 elements, else int32."""
    offsets = window_offsets(x, geo, -np.inf)  # -inf never wins a window
    if not with_argmax:
        out = offsets[0].copy()
        for view in offsets[1:]:
            np.maximum(out, view, out=out)
        return out, None
    return first_max(offsets)


def max_pool_backward(grad: Array, argmax: Array, x_shape: tuple[int, ...], geo: Any) -> Array:
    """dx: each window's gradient added at its first maximum (overlapping windows summed)."""

    def windows(t: int, out: Array | None) -> Array:
        return np.multiply(grad, argmax == t, out=out)

    return scatter(windows, x_shape, geo, grad.dtype)
