"""The kernels compiled by numba: each pass one parallel sweep over memory (``prange`` over
the threads ``chainrule.set_num_threads`` sets), padding fused into im2col, col2im and the
layout changes writing their results in place of NumPy's temporaries.

Compiled functions are cached on disk (``cache=True``): the first run of a new install compiles
the kernels it uses, later runs load them. Below ``SMALL`` elements a compiled call's dispatch
costs more than the pass, so those calls take the reference (the batch-10 recipe stays as fast).
Scalars are cast to the arrays' dtype, so float32 arithmetic matches the reference's.
"""

from __future__ import annotations

import os
from typing import Any

import numba
import numpy as np
from numba import njit, prange

from . import numpy_backend as reference


def _threading_layers() -> list[str]:
    """numba's thread pool beside BLAS's, in order of preference. GNU OpenMP's workers spin
    after each parallel region by default, taking the cores OpenBLAS's threads need next: a
    2-thread MLP step measured 36 ms so, against 3.2 ms on numba's workqueue and 2.6 ms on
    OpenMP told to wait passively (OMP_WAIT_POLICY, read when libgomp loads). So: OpenMP,
    passive, when libgomp has not been loaded yet and the user has not chosen a policy; else
    the workqueue (which never spins). Either falls back to the other where it is missing."""
    policy = os.environ.get("OMP_WAIT_POLICY")
    if policy is None and not _libgomp_loaded():
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # only OpenMP runtimes loaded from now on
        policy = "PASSIVE"
    if (policy or "").strip().upper() == "PASSIVE":
        return ["omp", "workqueue", "tbb"]
    return ["workqueue", "omp", "tbb"]


def _libgomp_loaded() -> bool:
    try:
        with open("/proc/self/maps") as maps:
            return "libgomp" in maps.read()
    except OSError:
        return True  # cannot tell: take the layer that is safe either way


if numba.config.THREADING_LAYER == "default":  # else NUMBA_THREADING_LAYER: the user's choice
    numba.config.THREADING_LAYER_PRIORITY = _threading_layers()

NAME = "numba"

Array = np.ndarray
Shape = tuple[int, ...]  # one entry per spatial axis

# Elements below which the reference wins (a 2-thread dispatch costs a few microseconds).
SMALL = 1 << 14

_jit = njit(parallel=True, cache=True, nogil=True)
# Sums whose order may change (reassociated into vector lanes); NaN and Inf still propagate.
_jit_sums = njit(parallel=True, cache=True, nogil=True, fastmath={"reassoc"})


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


# --------------------------------------------------------------------------- batch norm
@_jit_sums
def _batch_norm_stats(x, mean, var):  # type: ignore[no-untyped-def]
    n, c, length = x.shape
    count = n * length
    for ch in prange(c):
        total = 0.0  # float64 accumulators: a channel of a batch holds 10⁵ values
        for b in range(n):
            for p in range(length):
                total += x[b, ch, p]
        mu = total / count
        squares = 0.0
        for b in range(n):
            for p in range(length):
                d = x[b, ch, p] - mu
                squares += d * d
        mean[ch] = mu
        var[ch] = squares / count


def batch_norm_stats(x: Array) -> tuple[Array, Array]:
    if x.size < SMALL or x.dtype.kind != "f" or not x.flags.c_contiguous:
        return reference.batch_norm_stats(x)
    mean = np.empty(x.shape[1], dtype=x.dtype)
    var = np.empty(x.shape[1], dtype=x.dtype)
    _batch_norm_stats(x, mean, var)
    return mean, var


@_jit
def _batch_norm_forward(x, scale, shift, out):  # type: ignore[no-untyped-def]
    n, c, length = x.shape
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        a, s = scale[ch], shift[ch]
        for p in range(length):
            out[b, ch, p] = x[b, ch, p] * a + s


def batch_norm_forward(
    x: Array, mean: Array, inv_std: Array, weight: Array | None, bias: Array | None
) -> Array:
    if x.size < SMALL or x.dtype.kind != "f" or not x.flags.c_contiguous:
        return reference.batch_norm_forward(x, mean, inv_std, weight, bias)
    # γ(x - μ)/σ + β = x·a + s per channel, a = γ/σ and s = β - μ·a.
    scale = inv_std if weight is None else weight * inv_std
    shift = -mean * scale if bias is None else bias - mean * scale
    out = np.empty_like(x)
    _batch_norm_forward(x, scale.astype(x.dtype), shift.astype(x.dtype), out)
    return out


@_jit_sums
def _batch_norm_sums(grad, x, mean, inv_std, sum_g, sum_g_xhat):  # type: ignore[no-untyped-def]
    n, c, length = x.shape
    for ch in prange(c):
        sg, sgx = 0.0, 0.0
        mu, k = mean[ch], inv_std[ch]
        for b in range(n):
            for p in range(length):
                g = grad[b, ch, p]
                sg += g
                sgx += g * ((x[b, ch, p] - mu) * k)
        sum_g[ch] = sg
        sum_g_xhat[ch] = sgx


@_jit
def _batch_norm_dx(grad, x, mean, inv_std, a, b_term, c_term, dx):  # type: ignore[no-untyped-def]
    n, c, length = x.shape
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        mu, k, s, u, v = mean[ch], inv_std[ch], a[ch], b_term[ch], c_term[ch]
        for p in range(length):
            dx[b, ch, p] = s * grad[b, ch, p] - u - v * ((x[b, ch, p] - mu) * k)


def batch_norm_backward(
    grad: Array, x: Array, mean: Array, inv_std: Array, weight: Array | None, need_x: bool
) -> tuple[Array | None, Array, Array]:
    if (
        x.size < SMALL
        or x.dtype.kind != "f"
        or not (x.flags.c_contiguous and grad.flags.c_contiguous and grad.dtype == x.dtype)
    ):
        return reference.batch_norm_backward(grad, x, mean, inv_std, weight, need_x)
    sum_g = np.empty(x.shape[1], dtype=x.dtype)
    sum_g_xhat = np.empty(x.shape[1], dtype=x.dtype)
    _batch_norm_sums(grad, x, mean, inv_std, sum_g, sum_g_xhat)
    if not need_x:
        return None, sum_g_xhat, sum_g
    # dx = γk/m·(m·g - Σg - x̂·Σgx̂) = a·g - b - c·x̂ per channel, a = γk, b = a·Σg/m, c = a·Σgx̂/m.
    m = x.dtype.type(x.shape[0] * x.shape[2])
    a = inv_std if weight is None else weight * inv_std
    dx = np.empty_like(x)
    _batch_norm_dx(grad, x, mean, inv_std, a, a * sum_g / m, a * sum_g_xhat / m, dx)
    return dx, sum_g_xhat, sum_g


# --------------------------------------------------------------------------------- LSTM
# The forward step is the reference's: its five tanh per element are NumPy's SIMD loops, while
# a compiled loop calls libm's scalar tanhf, measured 7x slower (1.1 ms against 0.16 ms a step
# at N = 128, H = 128). The backward step has no transcendental and fuses eleven passes.
lstm_cell = reference.lstm_cell


@_jit
def _lstm_cell_backward(acts, c_prev, tanh_c, dh, dc, dgates, dc_prev, one):  # type: ignore[no-untyped-def]
    n, hidden = tanh_c.shape
    for r in prange(n):
        for j in range(hidden):
            i, f = acts[r, j], acts[r, hidden + j]
            g, o = acts[r, 2 * hidden + j], acts[r, 3 * hidden + j]
            tc, dhj = tanh_c[r, j], dh[r, j]
            dcj = dc[r, j] + dhj * o * (one - tc * tc)
            dgates[r, j] = dcj * g * i * (one - i)
            dgates[r, hidden + j] = dcj * c_prev[r, j] * f * (one - f)
            dgates[r, 2 * hidden + j] = dcj * i * (one - g * g)
            dgates[r, 3 * hidden + j] = dhj * tc * o * (one - o)
            dc_prev[r, j] = dcj * f


def lstm_cell_backward(
    acts: Array, c_prev: Array, tanh_c: Array, dh: Array, dc: Array, dgates: Array
) -> Array:
    if acts.size < SMALL or acts.dtype.kind != "f" or not dgates.flags.c_contiguous:
        return reference.lstm_cell_backward(acts, c_prev, tanh_c, dh, dc, dgates)
    dc_prev = np.empty(tanh_c.shape, dtype=tanh_c.dtype)
    _lstm_cell_backward(acts, c_prev, tanh_c, dh, dc, dgates, dc_prev, acts.dtype.type(1))
    return dc_prev


# --------------------------------------------------------------------------- convolution
@_jit
def _im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # type: ignore[no-untyped-def]
    n, c, h, w = x.shape
    plane = ho * wo
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        image = x[b, ch]  # read once for all kh·kw offsets
        for i in range(kh):
            for j in range(kw):
                shift = j * dw - pw  # the input column of output column ox is ox·sw + shift
                lo = min(wo, max(0, (-shift + sw - 1) // sw))  # first ox inside the image
                hi = max(lo, min(wo, (w - 1 - shift) // sw + 1))  # one past the last
                dst = cols[(ch * kh + i) * kw + j, b * plane : (b + 1) * plane]
                for oy in range(ho):
                    y = oy * sh - ph + i * dh
                    start = oy * wo
                    if y < 0 or y >= h:
                        dst[start : start + wo] = 0
                        continue
                    dst[start : start + lo] = 0
                    if sw == 1:
                        dst[start + lo : start + hi] = image[y, lo + shift : hi + shift]
                    else:
                        for ox in range(lo, hi):
                            dst[start + ox] = image[y, ox * sw + shift]
                    dst[start + hi : start + wo] = 0


def im2col(
    x: Array,
    kernel: Shape,
    stride: Shape,
    padding: Shape,
    dilation: Shape,
    out_sizes: Shape,
    out: Array | None = None,
) -> Array:
    if x.ndim != 4 or x.size < SMALL or x.dtype.kind != "f":
        return reference.im2col(x, kernel, stride, padding, dilation, out_sizes, out)
    n, c = x.shape[:2]
    ho, wo = out_sizes
    if out is None:
        out = np.empty((c * kernel[0] * kernel[1], n * ho * wo), dtype=x.dtype)
    _im2col(np.ascontiguousarray(x), out, *kernel, *stride, *padding, *dilation, ho, wo)
    return out


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
    dcols: Array, x_shape: tuple[int, ...], stride: Shape, padding: Shape, dilation: Shape
) -> Array:
    if len(x_shape) != 4 or dcols.size < SMALL or dcols.dtype.kind != "f":
        return reference.col2im(dcols, x_shape, stride, padding, dilation)
    dx = np.empty(x_shape, dtype=dcols.dtype)
    _col2im(np.ascontiguousarray(dcols), dx, *stride, *padding, *dilation)
    return dx


def conv_block_bytes() -> int:
    """About 1 MiB of columns per block, half a core's L2 here: a ResNet step on 1 thread took
    226 ms so, 262 ms with the whole batch as one block."""
    return 1 << 20


@_jit
def _im2col_images(x, start, cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # type: ignore[no-untyped-def]
    count, c, h, w = cols.shape[0], x.shape[1], x.shape[2], x.shape[3]
    for t in prange(count * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        bb, ch = divmod(task, c)
        image = x[start + bb, ch]
        for i in range(kh):
            for j in range(kw):
                dst = cols[bb, (ch * kh + i) * kw + j]
                shift = j * dw - pw  # the input column of output column ox is ox·sw + shift
                for oy in range(ho):
                    y = oy * sh - ph + i * dh
                    row = oy * wo
                    if y < 0 or y >= h:
                        for ox in range(wo):
                            dst[row + ox] = 0
                    else:
                        for ox in range(wo):
                            xx = ox * sw + shift
                            dst[row + ox] = image[y, xx] if 0 <= xx < w else 0


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
    if x.ndim != 4 or out.size < SMALL or x.dtype.kind != "f" or not x.flags.c_contiguous:
        return reference.im2col_images(
            x, start, stop, kernel, stride, padding, dilation, out_sizes, out
        )
    _im2col_images(x, start, out, *kernel, *stride, *padding, *dilation, *out_sizes)
    return out


@_jit
def _col2im_images(dcols, dx, start, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo):  # type: ignore[no-untyped-def]
    count, c, h, w = dcols.shape[0], dx.shape[1], dx.shape[2], dx.shape[3]
    for t in prange(count * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        bb, ch = divmod(task, c)
        image = dx[start + bb, ch]
        for y in range(h):
            for xx in range(w):
                image[y, xx] = 0
        for i in range(kh):
            for j in range(kw):
                src = dcols[bb, (ch * kh + i) * kw + j]
                shift = j * dw - pw
                for oy in range(ho):
                    y = oy * sh - ph + i * dh
                    if y < 0 or y >= h:
                        continue
                    row = oy * wo
                    for ox in range(wo):
                        xx = ox * sw + shift
                        if 0 <= xx < w:
                            image[y, xx] += src[row + ox]


def col2im_images(
    dcols: Array, dx: Array, start: int, stride: Shape, padding: Shape, dilation: Shape,
    kernel: Shape, out_sizes: Shape,
) -> None:  # fmt: skip
    if dx.ndim != 4 or dcols.size < SMALL or dcols.dtype.kind != "f":
        return reference.col2im_images(
            dcols, dx, start, stride, padding, dilation, kernel, out_sizes
        )
    _col2im_images(
        np.ascontiguousarray(dcols), dx, start, *kernel, *stride, *padding, *dilation, *out_sizes
    )
    return None


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


def to_images(out: Array, n: int, out_sizes: Shape, bias: Array | None) -> Array:
    if len(out_sizes) != 2 or out.size < SMALL or not out.flags.c_contiguous:
        return reference.to_images(out, n, out_sizes, bias)
    if out.dtype.kind != "f":
        return reference.to_images(out, n, out_sizes, bias)
    k = out.shape[0]
    result = np.empty((n, k, out_sizes[0] * out_sizes[1]), dtype=out.dtype)
    shift = np.zeros(k, out.dtype) if bias is None else bias.astype(out.dtype)
    _to_images(out, result, np.ascontiguousarray(shift))
    return result.reshape(n, k, *out_sizes)


@_jit
def _channels_first(a, out):  # type: ignore[no-untyped-def]
    n, k, plane = a.shape
    for t in prange(k * n):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        ch, b = divmod(task, n)
        out[ch, b * plane : (b + 1) * plane] = a[b, ch]


def channels_first(a: Array, out: Array | None = None) -> Array:
    if a.ndim != 4 or a.size < SMALL or a.dtype.kind != "f":
        return reference.channels_first(a, out)
    n, k, h, w = a.shape
    if out is None:
        out = np.empty((k, n * h * w), dtype=a.dtype)
    _channels_first(np.ascontiguousarray(a).reshape(n, k, h * w), out)
    return out


# ------------------------------------------------------------------------------- pooling
@_jit
def _max_pool2d(x, out, argmax, kh, kw, sh, sw, ph, pw, dh, dw):  # type: ignore[no-untyped-def]
    n, c, h, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        plane = x[b, ch]
        for oy in range(ho):
            top = oy * sh - ph
            for ox in range(wo):
                left = ox * sw - pw
                best = -np.inf
                best_t = 0
                found = False
                for i in range(kh):
                    y = top + i * dh
                    if y < 0 or y >= h:
                        continue
                    for j in range(kw):
                        xx = left + j * dw
                        if xx < 0 or xx >= w:
                            continue
                        v = plane[y, xx]
                        # the first maximum wins ties; the first NaN wins over everything
                        if not found or v > best or (v != v and best == best):
                            best, best_t, found = v, i * kw + j, True
                out[b, ch, oy, ox] = best
                argmax[b, ch, oy, ox] = best_t


@_jit
def _max_pool2x2(x, out, argmax):  # type: ignore[no-untyped-def]
    # The commonest pooling (2x2 windows, stride 2, no padding) unrolled and branch-free:
    # 20x faster than the general loop, whose unpredictable branches and bounds checks dominate.
    n, c = x.shape[0], x.shape[1]
    ho, wo = out.shape[2], out.shape[3]
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        for oy in range(ho):
            for ox in range(wo):
                a0 = x[b, ch, 2 * oy, 2 * ox]
                a1 = x[b, ch, 2 * oy, 2 * ox + 1]
                a2 = x[b, ch, 2 * oy + 1, 2 * ox]
                a3 = x[b, ch, 2 * oy + 1, 2 * ox + 1]
                top = a1 > a0 or (a1 != a1 and a0 == a0)  # NaN wins, else the first maximum
                m0 = a1 if top else a0
                i0 = 1 if top else 0
                low = a3 > a2 or (a3 != a3 and a2 == a2)
                m1 = a3 if low else a2
                i1 = 3 if low else 2
                second = m1 > m0 or (m1 != m1 and m0 == m0)
                out[b, ch, oy, ox] = m1 if second else m0
                argmax[b, ch, oy, ox] = i1 if second else i0


@_jit
def _max_pool2x2_backward(grad, argmax, dx):  # type: ignore[no-untyped-def]
    n, c = dx.shape[0], dx.shape[1]
    ho, wo = grad.shape[2], grad.shape[3]
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        dx[b, ch] = 0  # rows and columns past the last window (odd sizes) get nothing
        for oy in range(ho):
            for ox in range(wo):
                g = grad[b, ch, oy, ox]
                k = argmax[b, ch, oy, ox]
                zero = g * 0
                dx[b, ch, 2 * oy, 2 * ox] = g if k == 0 else zero
                dx[b, ch, 2 * oy, 2 * ox + 1] = g if k == 1 else zero
                dx[b, ch, 2 * oy + 1, 2 * ox] = g if k == 2 else zero
                dx[b, ch, 2 * oy + 1, 2 * ox + 1] = g if k == 3 else zero


def _two_by_two(geo: Any) -> bool:
    return (
        tuple(geo.kernel) == (2, 2)
        and tuple(geo.stride) == (2, 2)
        and tuple(geo.padding) == (0, 0)
        and tuple(geo.dilation) == (1, 1)
        and all(b == a == 0 for b, a in geo.frame)
    )


def max_pool(x: Array, geo: Any, with_argmax: bool) -> tuple[Array, Array | None]:
    """The reference's max_pool for 2-d windows over (N, C, H, W): one pass per plane that
    keeps the argmax as it goes. Positions outside the image (padding, ceil mode) never win."""
    if x.ndim != 4 or len(geo.kernel) != 2 or x.size < SMALL or x.dtype.kind != "f":
        return reference.max_pool(x, geo, with_argmax)
    n, c = x.shape[:2]
    kernel = geo.kernel
    index_type = np.uint8 if kernel[0] * kernel[1] < 256 else np.int32
    out = np.empty((n, c, *geo.out_hw), dtype=x.dtype)
    argmax = np.empty((n, c, *geo.out_hw), dtype=index_type)
    if _two_by_two(geo):
        _max_pool2x2(np.ascontiguousarray(x), out, argmax)
    else:
        _max_pool2d(
            np.ascontiguousarray(x), out, argmax, *kernel, *geo.stride, *geo.padding,
            *geo.dilation,
        )  # fmt: skip
    return out, (argmax if with_argmax else None)


@_jit
def _max_pool2d_backward(grad, argmax, dx, kw, sh, sw, ph, pw, dh, dw):  # type: ignore[no-untyped-def]
    n, c, h, w = dx.shape
    ho, wo = grad.shape[2], grad.shape[3]
    for t in prange(n * c):
        task = np.int64(t)  # prange's index may be unsigned: keep divmod in integers
        b, ch = divmod(task, c)
        plane = dx[b, ch]
        plane[:, :] = 0
        for oy in range(ho):
            for ox in range(wo):
                i, j = divmod(np.int64(argmax[b, ch, oy, ox]), kw)
                y = oy * sh - ph + i * dh
                xx = ox * sw - pw + j * dw
                if 0 <= y < h and 0 <= xx < w:
                    plane[y, xx] += grad[b, ch, oy, ox]


def max_pool_backward(grad: Array, argmax: Array, x_shape: tuple[int, ...], geo: Any) -> Array:
    if len(x_shape) != 4 or len(geo.kernel) != 2 or grad.size < SMALL or grad.dtype.kind != "f":
        return reference.max_pool_backward(grad, argmax, x_shape, geo)
    dx = np.empty(x_shape, dtype=grad.dtype)
    if _two_by_two(geo):
        _max_pool2x2_backward(np.ascontiguousarray(grad), np.ascontiguousarray(argmax), dx)
        return dx
    _max_pool2d_backward(
        np.ascontiguousarray(grad), np.ascontiguousarray(argmax), dx, geo.kernel[1],
        *geo.stride, *geo.padding, *geo.dilation,
    )  # fmt: skip
    return dx
