"""The kernels compiled by numba: each pass one parallel sweep over memory (``prange`` over
the threads ``chainrule.set_num_threads`` sets), padding fused into im2col, col2im and the
layout changes writing their results in place of NumPy's temporaries.

Compiled functions are cached on disk (``cache=True``): the first run of a new install compiles
the kernels it uses, later runs load them. Below ``SMALL`` elements a compiled call's dispatch
costs more than the pass, so those calls take the reference (the batch-10 recipe stays as fast).
Scalars are cast to the arrays' dtype, so float32 arithmetic matches the reference's.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from . import numpy_backend as reference

NAME = "numba"

Array = np.ndarray
Pair = tuple[int, int]

# Elements below which the reference wins (a 2-thread dispatch costs a few microseconds).
SMALL = 1 << 14

_jit = njit(parallel=True, cache=True, nogil=True)


def set_num_threads(num: int) -> None:
    numba.set_num_threads(min(num, numba.config.NUMBA_NUM_THREADS))


def _flat(*arrays: Array) -> bool:
    """All C-contiguous, one shape and one dtype: the flat kernels' precondition."""
    first = arrays[0]
    return all(
        a.flags.c_contiguous and a.shape == first.shape and a.dtype == first.dtype for a in arrays
    )


# --------------------------------------------------------------------------------- ReLU
@_jit
def _relu(x, out):  # type: ignore[no-untyped-def]
    for i in prange(x.size):
        v = x[i]
        if v <= 0:  # NaN stays NaN, as np.maximum
            out[i] = 0
        else:
            out[i] = v


def relu(x: Array) -> Array:
    if x.size < SMALL or not x.flags.c_contiguous or x.dtype.kind != "f":
        return reference.relu(x)
    out = np.empty_like(x)
    _relu(x.reshape(-1), out.reshape(-1))
    return out


@_jit
def _relu_backward(grad, out, dx):  # type: ignore[no-untyped-def]
    for i in prange(grad.size):
        if out[i] > 0:
            dx[i] = grad[i]
        else:
            dx[i] = 0


def relu_backward(grad: Array, out: Array) -> Array:
    if grad.size < SMALL or not _flat(grad, out):
        return reference.relu_backward(grad, out)
    dx = np.empty_like(grad)
    _relu_backward(grad.reshape(-1), out.reshape(-1), dx.reshape(-1))
    return dx


# ---------------------------------------------------------------------------- optimisers
@_jit
def _sgd_momentum(param, grad, buf, lr, momentum, keep, nesterov):  # type: ignore[no-untyped-def]
    for i in prange(param.size):
        g = grad[i]
        b = buf[i] * momentum + (g if keep == 1 else keep * g)
        buf[i] = b
        param[i] -= lr * (g + momentum * b if nesterov else b)


def sgd_momentum(
    param: Array,
    grad: Array,
    buf: Array,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
) -> None:
    if param.size < SMALL or not _flat(param, grad, buf) or param.dtype.kind != "f":
        return reference.sgd_momentum(param, grad, buf, lr, momentum, dampening, nesterov)
    t = param.dtype.type
    _sgd_momentum(
        param.reshape(-1), grad.reshape(-1), buf.reshape(-1),
        t(lr), t(momentum), t(1 - dampening), bool(nesterov),
    )  # fmt: skip
    return None


@_jit
def _adam(param, grad, m, v, vmax, amsgrad, w1, lerp_low, beta2, one_minus_beta2, neg_step,
          bc2_sqrt, eps):  # type: ignore[no-untyped-def]  # fmt: skip
    for i in prange(param.size):
        g = grad[i]
        if lerp_low:
            mi = m[i] + (g - m[i]) * w1
        else:
            mi = g - (g - m[i]) * (1 - w1)
        m[i] = mi
        vi = v[i] * beta2 + (g * one_minus_beta2) * g
        v[i] = vi
        if amsgrad:
            if vi > vmax[i] or vmax[i] != vmax[i]:
                vmax[i] = vi
            vi = vmax[i]
        param[i] += (mi * neg_step) / (np.sqrt(vi) / bc2_sqrt + eps)


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
    arrays = (param, grad, exp_avg, exp_avg_sq)
    if max_exp_avg_sq is not None:
        arrays += (max_exp_avg_sq,)
    if param.size < SMALL or not _flat(*arrays) or param.dtype.kind != "f":
        return reference.adam(
            param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, lr, eps, step
        )
    t = param.dtype.type
    weight = 1 - beta1
    vmax = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
    _adam(
        param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
        vmax.reshape(-1), max_exp_avg_sq is not None, t(weight), weight < 0.5, t(beta2),
        t(1 - beta2), t(-(lr / (1 - beta1**step))), t((1 - beta2**step) ** 0.5), t(eps),
    )  # fmt: skip
    return None


# --------------------------------------------------------------------------- convolution
@_jit
def _im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # type: ignore[no-untyped-def]
    n, c, h, w = x.shape
    plane = ho * wo
    for t in prange(c * kh * kw * n):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        row, b = divmod(task, n)  # row = (channel, i, j) of the column matrix
        ch, offset = divmod(row, kh * kw)
        i, j = divmod(offset, kw)
        shift = j * dw - pw  # input column of output column ox: ox·sw + shift
        lo = min(wo, max(0, (-shift + sw - 1) // sw))  # first ox inside the image
        hi = max(lo, min(wo, (w - 1 - shift) // sw + 1))  # one past the last
        dst = cols[row, b * plane : (b + 1) * plane]
        for oy in range(ho):
            y = oy * sh - ph + i * dh
            start = oy * wo
            if y < 0 or y >= h:
                dst[start : start + wo] = 0
                continue
            src = x[b, ch, y]
            dst[start : start + lo] = 0
            for ox in range(lo, hi):
                dst[start + ox] = src[ox * sw + shift]
            dst[start + hi : start + wo] = 0


def im2col(
    x: Array, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, out_hw: Pair
) -> Array:
    n, c = x.shape[:2]
    ho, wo = out_hw
    if x.size < SMALL or x.dtype.kind != "f":
        return reference.im2col(x, kernel, stride, padding, dilation, out_hw)
    x = np.ascontiguousarray(x)
    cols = np.empty((c * kernel[0] * kernel[1], n * ho * wo), dtype=x.dtype)
    _im2col(x, cols, *kernel, *stride, *padding, *dilation, ho, wo)
    return cols


@_jit
def _col2im(dcols, dx, sh, sw, ph, pw, dh, dw):  # type: ignore[no-untyped-def]
    c, kh, kw, n, ho, wo = dcols.shape
    h, w = dx.shape[2], dx.shape[3]
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        for y in range(h):
            for xx in range(w):
                dx[b, ch, y, xx] = 0
        for i in range(kh):
            for oy in range(ho):
                y = oy * sh - ph + i * dh
                if y < 0 or y >= h:
                    continue
                for j in range(kw):
                    for ox in range(wo):
                        xx = ox * sw - pw + j * dw
                        if 0 <= xx < w:
                            dx[b, ch, y, xx] += dcols[ch, i, j, b, oy, ox]


def col2im(
    dcols: Array, x_shape: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair
) -> Array:
    if dcols.size < SMALL or dcols.dtype.kind != "f":
        return reference.col2im(dcols, x_shape, stride, padding, dilation)
    dx = np.empty(x_shape, dtype=dcols.dtype)
    _col2im(np.ascontiguousarray(dcols), dx, *stride, *padding, *dilation)
    return dx


@_jit
def _to_images(out, result, bias):  # type: ignore[no-untyped-def]
    n, k, plane = result.shape
    for t in prange(n * k):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, k)
        shift = bias[ch]
        src = out[ch, b * plane : (b + 1) * plane]
        dst = result[b, ch]
        for p in range(plane):
            dst[p] = src[p] + shift


def to_images(out: Array, n: int, out_hw: Pair, bias: Array | None) -> Array:
    if out.size < SMALL or not out.flags.c_contiguous or out.dtype.kind != "f":
        return reference.to_images(out, n, out_hw, bias)
    k = out.shape[0]
    result = np.empty((n, k, out_hw[0] * out_hw[1]), dtype=out.dtype)
    shift = np.zeros(k, out.dtype) if bias is None else bias.astype(out.dtype)
    _to_images(out, result, np.ascontiguousarray(shift))
    return result.reshape(n, k, *out_hw)


@_jit
def _channels_first(a, out):  # type: ignore[no-untyped-def]
    n, k, plane = a.shape
    for t in prange(k * n):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        ch, b = divmod(task, n)
        out[ch, b * plane : (b + 1) * plane] = a[b, ch]


def channels_first(a: Array) -> Array:
    if a.size < SMALL or a.dtype.kind != "f":
        return reference.channels_first(a)
    n, k, h, w = a.shape
    out = np.empty((k, n * h * w), dtype=a.dtype)
    _channels_first(np.ascontiguousarray(a).reshape(n, k, h * w), out)
    return out
