"""fit(): the hand-written training loop, once, with callbacks at the points monitors need.

One epoch is: for each mini-batch, forward → loss → zero_grad → backward → (clip) → step; then
evaluate on the validation data and record loss, accuracy, learning rate and seconds.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from ..data import DataLoader, check_finite, check_labels
from ..errors import NonFiniteError, ShapeError
from ..nn import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Module
from ..optim import Optimizer, clip_grad_norm_
from ..tensor import Tensor, no_grad
from .callbacks import Callback
from .metrics import accuracy, predict_classes


class History:
    """Per-epoch records: ``history.epochs`` is a list of dicts, ``history['loss']`` a column."""

    def __init__(self, epochs: Iterable[dict[str, Any]] = ()) -> None:
        self.epochs: list[dict[str, Any]] = list(epochs)

    def append(self, logs: dict[str, Any]) -> None:
        self.epochs.append(logs)

    def __getitem__(self, key: str) -> list[Any]:
        return [e.get(key) for e in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def history(self) -> dict[str, list[Any]]:
        """Keras-style dict of columns."""
        keys = dict.fromkeys(k for e in self.epochs for k in e)
        return {k: self[k] for k in keys}

    @property
    def last(self) -> dict[str, Any]:
        return self.epochs[-1] if self.epochs else {}


@dataclass
class TrainingState:
    """What callbacks see and may change (``stop_training``)."""

    model: Module
    loss_fn: Module
    optimizer: Optimizer
    history: History
    loader: DataLoader
    epochs: int
    epoch: int = 0
    step: int = 0
    stop_training: bool = False
    restored_epoch: int | None = None
    loss: Tensor | None = None
    batch: tuple[np.ndarray, np.ndarray] | None = None
    records: dict[str, Any] = field(default_factory=dict)  # monitors write here


def loss_target(y: np.ndarray, output: Tensor, loss_fn: Module) -> np.ndarray:
    """Labels as the loss wants them: integers for cross-entropy, floats shaped as the output
    for BCE (a column of 0/1 beside a single logit) and for MSE."""
    if isinstance(loss_fn, CrossEntropyLoss):
        return y
    y = np.asarray(y, dtype=output.dtype)
    return y.reshape(output.shape) if y.size == output.data.size else y


def _validate(model: Module, loss_fn: Module, x: np.ndarray, y: np.ndarray, name: str) -> None:
    """Fail before training, naming the row, rather than mid-epoch with a batch-relative row."""
    if len(x) == 0:
        from ..errors import DataError

        raise DataError(f"{name} data set is empty")
    if len(x) != len(y):
        raise ShapeError(f"{name} data has {len(x)} inputs but {len(y)} labels")
    check_finite(x, name=f"{name} input")
    with no_grad():
        was_training = model.training
        out = model.eval()(Tensor(np.asarray(x[:1], dtype=np.float32)))
        model.train(was_training)
    if isinstance(loss_fn, CrossEntropyLoss):
        check_labels(y, out.shape[-1])
    elif isinstance(loss_fn, BCELoss | BCEWithLogitsLoss):
        check_labels(y, 2)


def evaluate(
    model: Module, loss_fn: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000
) -> dict[str, Any]:
    """Loss and accuracy over a whole data set, in eval mode, without building a graph.

    Returns:
        {'loss': float, 'accuracy': float or None, 'predictions': (N,) ints or None}
    """
    was_training = model.training
    model.eval()
    total, predictions = 0.0, []
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb = np.asarray(x[start : start + batch_size], dtype=np.float32)
            yb = y[start : start + batch_size]
            out = model(Tensor(xb))
            total += loss_fn(out, loss_target(yb, out, loss_fn)).item() * len(xb)
            predicted = predict_classes(out.data, loss_fn)
            if predicted is not None:
                predictions.append(predicted)
    model.train(was_training)
    predicted_all = np.concatenate(predictions) if predictions else None
    return {
        "loss": total / len(x),
        "accuracy": None if predicted_all is None else accuracy(predicted_all, y),
        "predictions": predicted_all,
    }


def fit(
    model: Module,
    loss_fn: Module,
    optimizer: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] = (),
    clip_norm: float | None = None,
    verbose: int = 1,
) -> History:
    """Train ``model`` by mini-batch gradient descent and return its per-epoch History.

    Args:
        x, y: training inputs (N, ...) and labels (N,) as NumPy arrays.
        validation_data: (x_val, y_val), evaluated after every epoch.
        seed: fixes the shuffling order.
        callbacks: e.g. EarlyStopping, LRSchedule, chainrule.insight's GradientMonitor.
        clip_norm: rescale gradients whose joint L2 norm exceeds this (exploding gradients).
        verbose: 0 silent, 1 one line per epoch (plus a progress bar on a terminal).
    """
    _validate(model, loss_fn, x, y, "training")
    if validation_data is not None:
        _validate(model, loss_fn, *validation_data, "validation")
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    state = TrainingState(model, loss_fn, optimizer, History(), loader, epochs)
    return run_epochs(state, callbacks, validation_data, clip_norm, verbose)


def run_epochs(
    state: TrainingState,
    callbacks: Sequence[Callback],
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    clip_norm: float | None,
    verbose: int,
) -> History:
    """The epoch loop of fit(), from ``state.epoch`` on (resuming a checkpoint starts here)."""
    model, loss_fn, optimizer = state.model, state.loss_fn, state.optimizer
    for cb in callbacks:
        cb.on_train_begin(state)
    show_bar = verbose > 0 and sys.stderr.isatty()
    while state.epoch < state.epochs and not state.stop_training:
        state.epoch += 1
        for cb in callbacks:
            cb.on_epoch_begin(state)
        model.train()
        started = time.perf_counter()
        total_loss, correct, seen, counted = 0.0, 0, 0, 0
        bar = tqdm(
            state.loader,
            desc=f"epoch {state.epoch}/{state.epochs}",
            disable=not show_bar,
            leave=False,
            unit="batch",
        )
        for xb, yb in bar:
            state.batch = (xb, yb)
            out = model(Tensor(np.asarray(xb, dtype=np.float32)))
            loss = loss_fn(out, loss_target(yb, out, loss_fn))
            state.loss = loss
            optimizer.zero_grad()
            loss.backward()
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteError(
                    f"loss became {value} at epoch {state.epoch}, step {state.step + 1}: lower "
                    "the learning rate, clip gradients (--clip-norm) or normalise the inputs"
                )
            for cb in callbacks:
                cb.on_after_backward(state)
            if clip_norm is not None:
                clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            state.step += 1
            total_loss += value * len(xb)
            seen += len(xb)
            predicted = predict_classes(out.data, loss_fn)
            if predicted is not None:
                correct += int((predicted == yb).sum())
                counted += len(xb)
            for cb in callbacks:
                cb.on_batch_end(state)
        state.loss = None
        logs: dict[str, Any] = {"epoch": state.epoch, "loss": total_loss / max(seen, 1)}
        if counted:
            logs["accuracy"] = correct / counted
        if validation_data is not None:
            result = evaluate(model, loss_fn, *validation_data)
            logs["val_loss"] = result["loss"]
            if result["accuracy"] is not None:
                logs["val_accuracy"] = result["accuracy"]
        logs["lr"] = optimizer.param_groups[0]["lr"]
        logs["seconds"] = time.perf_counter() - started
        state.history.append(logs)
        for cb in callbacks:
            cb.on_epoch_end(state, logs)
        if verbose > 0:
            print(format_epoch(logs, state.epochs), flush=True)
    for cb in callbacks:
        cb.on_train_end(state)
    if verbose > 0 and state.restored_epoch is not None:
        print(f"restored the weights of epoch {state.restored_epoch} (best by early stopping)")
    return state.history


def format_epoch(logs: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {logs['epoch']:>{len(str(epochs))}}/{epochs}", f"loss {logs['loss']:.4f}"]
    if "accuracy" in logs:
        parts.append(f"acc {logs['accuracy']:.4f}")
    if "val_loss" in logs:
        parts.append(f"val_loss {logs['val_loss']:.4f}")
    if "val_accuracy" in logs:
        parts.append(f"val_acc {logs['val_accuracy']:.4f}")
    parts += [f"lr {logs['lr']:.3g}", f"{logs['seconds']:.1f}s"]
    return "  ".join(parts)
