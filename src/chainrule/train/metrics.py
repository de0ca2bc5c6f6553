"""Classification metrics on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Module


def predict_classes(output: np.ndarray, loss_fn: Module | None = None) -> np.ndarray | None:
    """Class predictions from a model's output, by what the loss says the output means.

    (N, K) logits or probabilities → argmax; one logit (BCEWithLogitsLoss) → logit > 0; one
    probability (BCELoss) → p > 0.5. None when the output is not a classification (MSELoss).
    """
    if isinstance(loss_fn, BCEWithLogitsLoss):
        return (output.reshape(len(output), -1)[:, 0] > 0).astype(np.int64)
    if isinstance(loss_fn, BCELoss):
        return (output.reshape(len(output), -1)[:, 0] > 0.5).astype(np.int64)
    if isinstance(loss_fn, CrossEntropyLoss) or (loss_fn is None and output.ndim == 2):
        return output.argmax(axis=1)
    return None


def accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of predictions equal to the integer targets."""
    target = np.asarray(target).reshape(len(target), -1)[:, 0] if np.ndim(target) > 1 else target
    return float(np.mean(np.asarray(predicted) == np.asarray(target)))


def confusion_matrix(target: Any, predicted: Any, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = how many samples of true class i were predicted as class j."""
    target = np.asarray(target, dtype=np.int64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    k = num_classes or int(max(target.max(initial=0), predicted.max(initial=0))) + 1
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (target, predicted), 1)
    return counts
