"""The reference kernels: NumPy only. Every other backend gives these results.

Conventions shared by all backends: float arrays keep their dtype (scalars are cast to it, so
float32 stays float32); in-place kernels write into the arrays they are given and return None.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

NAME = "numpy"

Array = np.ndarray
Pair = tuple[int, int]


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


# --------------------------------------------------------------------------- convolution
def im2col(
    x: Array, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, out_hw: Pair
) -> Array:
    """Columns (C·kh·kw, N·H_out·W_out) of the (dilated) windows of x (N, C, H, W) zero-padded
    by padding, channels first; only the first out_hw window positions are kept."""
    n, c, h, w = x.shape
    (kh, kw), (ph, pw), (sh, sw), (dh, dw) = kernel, padding, stride, dilation
    xp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)  # (C, N, H+2ph, W+2pw)
    xp[:, :, ph : ph + h, pw : pw + w] = x.transpose(1, 0, 2, 3)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw]
    if dh > 1 or dw > 1:
        windows = windows[..., ::dh, ::dw]
    windows = windows[:, :, : out_hw[0], : out_hw[1]]
    # (C, N, H_out, W_out, kh, kw), a view; the one copy is this reshape.
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(c * kh * kw, -1)


def col2im(
    dcols: Array, x_shape: tuple[int, ...], stride: Pair, padding: Pair, dilation: Pair
) -> Array:
    """The adjoint of im2col: dcols (C, kh, kw, N, H_out, W_out) summed back into a new
    (N, C, H, W) image."""
    n, c, h, w = x_shape
    _, kh, kw, _, ho, wo = dcols.shape
    (ph, pw), (dh, dw), (sh, sw) = padding, dilation, stride
    dxp = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            r, s = i * dh, j * dw
            dxp[..., r : r + sh * (ho - 1) + 1 : sh, s : s + sw * (wo - 1) + 1 : sw] += dcols[
                :, i, j
            ]
    return np.ascontiguousarray(dxp[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3))


def to_images(out: Array, n: int, out_hw: Pair, bias: Array | None) -> Array:
    """(K, N·H·W) -> a new (N, K, H, W), the bias added on the way (one pass, not two)."""
    k = out.shape[0]
    result = np.empty((n, k, *out_hw), dtype=out.dtype)
    transposed = out.reshape(k, n, *out_hw).transpose(1, 0, 2, 3)
    if bias is None:
        np.copyto(result, transposed)
    else:
        np.add(transposed, bias[:, None, None], out=result)
    return result


def channels_first(a: Array) -> Array:
    """(N, K, H, W) -> a new contiguous (K, N·H·W)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(a.shape[1], -1)
