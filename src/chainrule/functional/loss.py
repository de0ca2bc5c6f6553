"""Losses as functions: stable fused primitives in ``ops`` where they exist, else composites."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..errors import DataError, LabelError, ShapeError
from ..tensor import Tensor, apply, tensor
from ._common import Reduction, _as_tensor, _reduce
from .activation import log_softmax


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
