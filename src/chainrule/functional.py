"""Activations, softmax, losses and layers as functions, named as in ``torch.nn.functional``.

Most are thin calls to a fused primitive in ``ops``; mse_loss, dropout and cross-entropy with
probability targets are composites with no backward of their own.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from . import ops
from .errors import ConfigError, DataError, ShapeError
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
def relu(x: Tensor) -> Tensor:
    return apply(ops.ReLU, x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
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
    target_shape = np.shape(target.data if isinstance(target, Tensor) else target)
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
    p = probabilities.data
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
    bad = np.flatnonzero((target < 0) | (target >= classes))
    if bad.size:
        row = int(bad[0])
        raise DataError(
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
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_data.ndim == 2:
        _check_same_shape("cross_entropy", logits, target_data)
        per_sample = -(log_softmax(logits, dim=1) * target).sum(axis=1)
    else:
        _check_class_targets(logits, target_data)
        per_sample = apply(ops.CrossEntropy, logits, target=target_data)
    return _reduce(per_sample, reduction)


def l1_penalty(parameters: Any, weight: float) -> Tensor:
    """weight · Σ|w| over the given parameters: add it to the loss for L1 regularisation."""
    terms = [p.abs().sum() for p in parameters]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * weight
