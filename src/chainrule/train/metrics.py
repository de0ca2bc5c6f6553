"""Classification metrics on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn import Module


def format_loss(value: float) -> str:
    """A loss for people: 4 decimals in [1e-3, 1e5), else scientific (a diverged run's 1e33, a
    converged one's 5e-4), never a 36-digit number or a row of zeros."""
    if value == 0 or (1e-3 <= abs(value) < 1e5):
        return f"{value:.4f}"
    return f"{value:.3e}"


def predict_classes(output: np.ndarray, loss_fn: Module | None = None) -> np.ndarray | None:
    """Class predictions from a model's output, as the loss says to read it (its ``predict``:
    argmax for cross-entropy, p > 0.5 for BCE, logit > 0 for BCE with logits); without a loss,
    argmax of (N, K) scores. None when the output is not a classification (MSELoss)."""
    if loss_fn is None:
        return output.argmax(axis=1) if output.ndim == 2 else None
    predict = getattr(loss_fn, "predict", None)
    return predict(output) if predict is not None else None


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


def format_confusion(counts: np.ndarray, width: int = 100) -> str:
    """A confusion matrix as text, rows true classes and columns predicted ones, at most
    ``width`` characters wide: past that, the columns continue in further blocks."""
    from tabulate import tabulate

    classes = len(counts)
    cell = max(len(str(int(counts.max()))) if counts.size else 1, len(str(classes - 1))) + 2
    label = max(len("true \\ pred"), len(f"true {classes - 1}")) + 2
    per_block = max(1, (width - label) // cell)
    blocks = []
    for start in range(0, classes, per_block):
        columns = range(start, min(start + per_block, classes))
        rows = [[f"true {i}", *(int(row[j]) for j in columns)] for i, row in enumerate(counts)]
        headers = ["true \\ pred", *(str(j) for j in columns)]
        blocks.append(tabulate(rows, headers=headers, tablefmt="simple"))
    return "\n\n".join(blocks)
