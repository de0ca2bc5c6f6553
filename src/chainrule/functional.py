"""Activations, softmax, losses and layers as functions, named as in ``torch.nn.functional``.

Most are thin calls to a fused primitive in ``ops``; mse_loss, dropout and cross-entropy with
probability targets are composites with no backward of their own.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from . import ops
from .errors import ConfigError, DataError, LabelError, ShapeError
from .random import default_generator
from .tensor import Tensor, apply, tensor

Reduction = Literal["mean", "sum", "none"]


def _reduce(loss: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ConfigError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(x)


# ---------------------------------------------------------------------------- layers
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias.  x (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x = _as_tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        out_features, in_features = weight.shape
        raise ShapeError(
            f"Linear({in_features} -> {out_features}) expects input (*, {in_features}), "
            f"got {x.shape}"
        )
    return apply(ops.Linear, x, weight, bias)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p < 1:
        raise ConfigError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    keep = default_generator().random(x.shape, dtype=np.float32) >= p
    return x * (keep.astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype))


# ---------------------------------------------------------------------------- activations
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu_() if inplace else apply(ops.ReLU, x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    if inplace:
        return x._inplace(
            lambda t: apply(ops.LeakyReLU, t, negative_slope=negative_slope), "leaky_relu_"
        )
    return apply(ops.LeakyReLU, x, negative_slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return apply(ops.Sigmoid, x)


def tanh(x: Tensor) -> Tensor:
    return apply(ops.Tanh, x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return apply(ops.Softmax, x, axis=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return apply(ops.LogSoftmax, x, axis=dim)


# ---------------------------------------------------------------------------- losses
def _check_same_shape(name: str, prediction: Tensor, target: Any) -> None:
    target_shape = np.shape(target.array if isinstance(target, Tensor) else target)
    if prediction.shape != target_shape:
        raise ShapeError(
            f"{name}: prediction has shape {prediction.shape} but target has shape {target_shape}"
        )


def mse_loss(prediction: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error (prediction - target)²."""
    _check_same_shape("mse_loss", prediction, target)
    diff = prediction - target
    return _reduce(diff * diff, reduction)


def binary_cross_entropy(
    probabilities: Tensor, target: Any, reduction: Reduction = "mean"
) -> Tensor:
    """-(t·log p + (1-t)·log(1-p)) on probabilities p in [0, 1] (log terms floored at -100)."""
    _check_same_shape("binary_cross_entropy", probabilities, target)
    p = probabilities.array
    if not ((p >= 0) & (p <= 1)).all():
        raise DataError("binary_cross_entropy: every input must be a probability in [0, 1]")
    return _reduce(apply(ops.BCE, probabilities, target), reduction)


def binary_cross_entropy_with_logits(
    logits: Tensor, target: Any, reduction: Reduction = "mean"
) -> Tensor:
    """BCE(σ(logits), t), computed stably from the logits (finite at ±1000)."""
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduce(apply(ops.BCEWithLogits, logits, target), reduction)


def _check_class_targets(logits: Tensor, target: np.ndarray) -> None:
    n, classes = logits.shape
    if target.shape != (n,):
        raise ShapeError(
            f"cross_entropy: logits of shape {logits.shape} need {n} class labels, "
            f"got target of shape {target.shape}"
        )
    if target.dtype.kind not in "iu":
        raise DataError(f"cross_entropy: class labels must be integers, got dtype {target.dtype}")
    if target.size and (target.min() < 0 or target.max() >= classes):
        row = int(np.flatnonzero((target < 0) | (target >= classes))[0])
        raise LabelError(
            f"cross_entropy: label {int(target[row])} at row {row} is out of range "
            f"for {classes} classes (expected 0..{classes - 1})"
        )


def cross_entropy(logits: Tensor, target: Any, reduction: Reduction = "mean") -> Tensor:
    """Softmax cross-entropy from logits (N, K).

    Args:
        logits: (N, K) unnormalised scores.
        target: (N,) integer class labels, or (N, K) class probabilities (e.g. one-hot).
        reduction: 'mean' over samples, 'sum', or 'none' for the (N,) per-sample losses.
    """
    if logits.ndim != 2:
        raise ShapeError(f"cross_entropy expects logits of shape (N, K), got {logits.shape}")
    target_data = target.array if isinstance(target, Tensor) else np.asarray(target)
    if target_data.ndim == 2:
        _check_same_shape("cross_entropy", logits, target_data)
        per_sample = -(log_softmax(logits, dim=1) * target).sum(axis=1)
    else:
        _check_class_targets(logits, target_data)
        per_sample = apply(ops.CrossEntropy, logits, target=target_data)
    return _reduce(per_sample, reduction)


def nll_loss(
    log_probabilities: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
) -> Tensor:
    """-Σ w[y]·input[y] over samples whose label is not ignore_index, as PyTorch: divided by
    Σ w[y] for 'mean'. Input (N, C) or (N, C, d1, ...) log-probabilities, target (N, d1, ...)."""
    x = _as_tensor(log_probabilities)
    labels = np.asarray(target.array if isinstance(target, Tensor) else target)
    if x.ndim < 2:
        raise ShapeError(f"nll_loss expects input (N, C, ...), got {x.shape}")
    if labels.shape != (x.shape[0], *x.shape[2:]):
        raise ShapeError(
            f"nll_loss: input of shape {x.shape} needs targets of shape "
            f"{(x.shape[0], *x.shape[2:])}, got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise DataError(f"nll_loss: class labels must be integers, got dtype {labels.dtype}")
    classes = x.shape[1]
    keep = labels != ignore_index
    bad = keep & ((labels < 0) | (labels >= classes))
    if bad.any():
        where = tuple(int(i[0]) for i in np.nonzero(bad))
        raise LabelError(
            f"nll_loss: label {int(labels[where])} at {where} is out of range for {classes} "
            f"classes (expected 0..{classes - 1})"
        )
    safe = np.where(keep, labels, 0)
    picked = x.gather(1, safe[:, None] if x.ndim == 2 else np.expand_dims(safe, 1)).squeeze(1)
    w = (
        np.ones(classes, dtype=x.dtype)
        if weight is None
        else np.asarray(weight.array if isinstance(weight, Tensor) else weight, dtype=x.dtype)
    )
    scale = np.where(keep, w[safe], 0).astype(x.dtype)
    losses = -picked * scale
    if reduction == "mean":
        return losses.sum() / np.asarray(scale.sum(), dtype=x.dtype)
    return _reduce(losses, reduction)


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows, as ``torch.nn.functional.one_hot`` (num_classes -1: max + 1)."""
    y = np.asarray(labels.array if isinstance(labels, Tensor) else labels)
    if y.dtype.kind not in "iu":
        raise DataError(f"one_hot needs integer labels, got dtype {y.dtype}")
    classes = int(y.max()) + 1 if num_classes < 0 and y.size else max(num_classes, 0)
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DataError(f"one_hot: labels must be in 0..{classes - 1}, got {y.min()}..{y.max()}")
    return tensor((y[..., None] == np.arange(classes)).astype(np.int64))


def l1_penalty(parameters: Any, weight: float) -> Tensor:
    """weight · Σ|w| over the given parameters: add it to the loss for L1 regularisation."""
    terms = [p.abs().sum() for p in parameters]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * weight


# ---------------------------------------------------------------------- convolution and pooling
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
