"""fit(): the hand-written training loop, once, with callbacks at the points monitors need.

One epoch is: for each mini-batch, forward → loss → zero_grad → backward → (clip) → step; then
evaluate on the validation data and record loss, accuracy, learning rate and seconds.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from ..data import DataLoader, check_finite, check_labels, fingerprint
from ..distributed import process_group as pg
from ..errors import ConfigError, DataError, NonFiniteError, ShapeError
from ..nn import Module
from ..optim import Optimizer, clip_grad_norm_
from ..tensor import Tensor, detect_anomaly, no_grad
from .callbacks import Callback
from .checkpoint import CheckpointConfig, Checkpointer, resolve
from .guard import NonFiniteGuard
from .metrics import accuracy, format_loss, predict_classes
from .parallel import DataParallel
from .state import History, TrainingState


def loss_target(y: np.ndarray, output: Tensor, loss_fn: Module) -> np.ndarray:
    """Labels as the loss takes them (its ``target_for``: integers for cross-entropy, floats
    shaped as the output for BCE and MSE)."""
    target_for = getattr(loss_fn, "target_for", None)
    return y if target_for is None else target_for(y, output)


def _validate(model: Module, loss_fn: Module, x: np.ndarray, y: np.ndarray, name: str) -> None:
    """Fail before training, naming the row, rather than mid-epoch with a batch-relative row."""
    if len(x) == 0:
        raise DataError(f"{name} data set is empty")
    if len(x) != len(y):
        raise ShapeError(f"{name} data has {len(x)} inputs but {len(y)} labels")
    check_finite(x, name=f"{name} input")
    with no_grad():
        was_training = model.training
        out = model.eval()(Tensor(np.asarray(x[:1], dtype=np.float32)))
        model.train(was_training)
    label_classes = getattr(loss_fn, "label_classes", None)
    classes = label_classes(out.shape) if label_classes is not None else None
    if classes is not None:
        check_labels(y, classes)


def evaluate(
    model: Module, loss_fn: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000
) -> dict[str, Any]:
    """Loss and accuracy over a whole data set, in eval mode, without building a graph.

    Returns:
        {'loss': float, 'accuracy': float or None, 'predictions': (N,) ints or None}
    """
    if len(x) == 0:
        raise DataError("evaluation data set is empty")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    was_training = model.training
    model.eval()
    total, predictions = 0.0, []
    with no_grad():
        for start in range(0, len(x), batch_size):
            xb = np.asarray(x[start : start + batch_size], dtype=np.float32)
            yb = y[start : start + batch_size]
            out = model(Tensor(xb))
            total += loss_fn(out, loss_target(yb, out, loss_fn)).item() * len(xb)
            predicted = predict_classes(out.array, loss_fn)
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
    checkpoint: str | os.PathLike[str] | CheckpointConfig | None = None,
    checkpoint_every: int | str | None = None,
    resume: bool = False,
    on_nonfinite: str = "stop",
    anomaly: bool = False,
) -> History:
    """Train ``model`` by mini-batch gradient descent and return its per-epoch History.

    Args:
        x, y: training inputs (N, ...) and labels (N,) as NumPy arrays.
        validation_data: (x_val, y_val), evaluated after every epoch.
        seed: fixes the shuffling order.
        callbacks: e.g. EarlyStopping, LRSchedule, chainrule.insight's GradientMonitor.
        clip_norm: rescale gradients whose joint L2 norm exceeds this (exploding gradients).
        verbose: 0 silent, 1 one line per epoch (plus a progress bar on a terminal).
        checkpoint: a file or folder (FOLDER/checkpoint.npz), or a CheckpointConfig: write
            the whole training state there, atomically (see train/checkpoint.py).
        checkpoint_every: a number of steps, or 'epoch' (the default).
        resume: continue from the checkpoint: the same weights, to the bit, as a run never
            interrupted. Pass the same data, seed and callbacks as the first run.
        on_nonfinite: when the loss or a gradient is NaN or Inf: 'stop' (raise NonFiniteError
            naming the layer and step), 'skip' (drop that update) or 'rollback' (restore the
            last good weights kept in memory and cut the learning rate 10x).
        anomaly: check every op's output (slow) and stop at the first NaN or Inf, naming the op
            and the layer.

    The first Ctrl-C finishes the current step, writes the checkpoint and raises
    TrainingInterrupted (a KeyboardInterrupt); a second one stops at once.

    Started by ``mpiexec -n N``, fit trains data-parallel (train/parallel.py): each process
    takes 1/N of every batch of ``batch_size``, the gradients are averaged, and the figures are
    the whole batch's; give every process the same data and seed. Only rank 0 prints and writes
    the checkpoint. A DistributedDataParallel model is trained through its module.
    """
    # ---- safety options: checked first, before any work
    guard = NonFiniteGuard(on_nonfinite, callbacks, verbose)
    checkpointer = Checkpointer(resolve(checkpoint, checkpoint_every), callbacks, guard)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ConfigError(f"epochs must be a non-negative integer, got {epochs!r}")
    if clip_norm is not None and not (isinstance(clip_norm, int | float) and clip_norm > 0):
        raise ConfigError(f"clip_norm must be a positive number, got {clip_norm!r}")
    # ---- end of safety options
    ddp = model if _is_ddp(model) else None
    model = ddp.module if ddp is not None else model
    if pg.launched_by_mpi():
        pg.init()
    parallel = None
    if pg.world_size() > 1:
        if batch_size < pg.world_size():
            error = ConfigError(
                f"batch_size {batch_size} is smaller than the {pg.world_size()} processes: "
                "every process needs a part of each batch"
            )
            error.collective = True  # every rank checks the same numbers
            raise error
        verbose = verbose if pg.is_main() else 0
        guard.verbose = verbose
        if seed is None:  # every rank must shuffle alike
            from ..random import default_generator

            seed = pg.broadcast_object(int(default_generator().integers(2**63)))
    pg.run_agreed(lambda: _validate(model, loss_fn, x, y, "training"), "training data")
    if validation_data is not None:
        pg.run_agreed(
            lambda: _validate(model, loss_fn, *validation_data, "validation"), "validation data"
        )
    if pg.world_size() > 1:
        parallel = DataParallel(model, loss_fn)
        guard.parallel = checkpointer.parallel = parallel
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    state = TrainingState(model, loss_fn, optimizer, History(), loader, epochs)
    if checkpointer.config is not None:  # a resume must continue on the same data
        state.data_sha256 = fingerprint(x, y, *(validation_data or ()))
    # ---- resume, Ctrl-C handling and anomaly mode (train/checkpoint.py, train/guard.py)
    if resume:
        checkpointer.restore(state)
        if verbose > 0:
            print(f"resuming at epoch {state.epoch}, step {state.step} from {checkpointer.path}")
    # NumPy's overflow warnings would only repeat, less precisely, what the guard reports.
    quiet_numpy = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    no_sync = ddp.no_sync() if ddp is not None else contextlib.nullcontext()  # fit reduces
    anomalies = detect_anomaly() if anomaly else contextlib.nullcontext()
    with checkpointer, quiet_numpy, no_sync, anomalies:
        return run_epochs(
            state, callbacks, validation_data, clip_norm, verbose, guard, checkpointer, parallel
        )


def _is_ddp(model: Module) -> bool:
    from ..nn.parallel import DistributedDataParallel

    return isinstance(model, DistributedDataParallel)


def run_epochs(
    state: TrainingState,
    callbacks: Sequence[Callback],
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    clip_norm: float | None,
    verbose: int,
    guard: NonFiniteGuard | None = None,
    checkpointer: Checkpointer | None = None,
    parallel: DataParallel | None = None,
) -> History:
    """The epoch loop of fit(), from ``state.epoch`` on (resuming a checkpoint starts here)."""
    model, loss_fn, optimizer = state.model, state.loss_fn, state.optimizer
    guard = guard or NonFiniteGuard()
    checkpointer = checkpointer or Checkpointer(None, callbacks, guard)
    for cb in callbacks:
        cb.on_train_begin(state)
    show_bar = verbose > 0 and sys.stderr.isatty()
    while (state.epoch < state.epochs or state.in_epoch) and not state.stop_training:
        if not state.in_epoch:  # else: resuming a checkpoint taken inside this epoch
            state.epoch += 1
            state.in_epoch = True
            state.epoch_totals = {"loss": 0.0, "correct": 0, "seen": 0, "counted": 0}
            for cb in callbacks:
                cb.on_epoch_begin(state)
        guard.remember(state)  # the rollback point ('rollback' policy only)
        model.train()
        state.epoch_started = time.perf_counter()
        nonfinite_before = state.records.get("nonfinite_steps", 0)
        lr_at_start = optimizer.param_groups[0]["lr"]
        reduce_started = parallel.reducer.seconds if parallel is not None else 0.0
        totals = state.epoch_totals
        bar = tqdm(
            state.loader,
            desc=f"epoch {state.epoch}/{state.epochs}",
            disable=not show_bar,
            leave=False,
            unit="batch",
        )
        for xb, yb in bar:
            if parallel is not None:
                _parallel_step(state, callbacks, clip_norm, guard, checkpointer, parallel, xb, yb)
                continue
            state.batch = (xb, yb)
            try:
                out = model(Tensor(np.asarray(xb, dtype=np.float32)))
                loss = loss_fn(out, loss_target(yb, out, loss_fn))
            except NonFiniteError as exc:  # detect_anomaly (fit(anomaly=True)) stopped an op
                raise guard.anomaly(state, exc) from exc
            state.loss = loss
            optimizer.zero_grad()
            loss.backward()
            value = loss.item()
            for cb in callbacks:
                cb.on_after_backward(state)
            if guard.check(state, value):  # False: a non-finite step skipped or rolled back
                if clip_norm is not None:
                    clip_grad_norm_(model.parameters(), clip_norm)
                optimizer.step()
                totals["loss"] += value * len(xb)
                totals["seen"] += len(xb)
                predicted = predict_classes(out.array, loss_fn)
                if predicted is not None:
                    totals["correct"] += int((predicted == yb).sum())
                    totals["counted"] += len(xb)
            state.step += 1
            for cb in callbacks:
                cb.on_batch_end(state)
            checkpointer.after_step(state)  # writes when due; stops here after a Ctrl-C
        state.loss = None
        state.in_epoch = False
        logs: dict[str, Any] = {
            "epoch": state.epoch,
            "loss": totals["loss"] / max(totals["seen"], 1),
        }
        if totals["counted"]:
            logs["accuracy"] = totals["correct"] / totals["counted"]
        if validation_data is not None:
            if parallel is not None:
                result = parallel.evaluate(loss_fn, *validation_data)
            else:
                result = evaluate(model, loss_fn, *validation_data)
            logs["val_loss"] = result["loss"]
            if result["accuracy"] is not None:
                logs["val_accuracy"] = result["accuracy"]
        logs["lr"] = optimizer.param_groups[0]["lr"]
        logs["seconds"] = state.epoch_seconds()
        nonfinite = state.records.get("nonfinite_steps", 0) - nonfinite_before
        if nonfinite:  # steps skipped or rolled back: the doctor must know the run diverged
            logs["nonfinite_steps"] = nonfinite
            logs["lr_at_start"] = lr_at_start  # a rollback cut the rate shown as "lr"
        if parallel is not None:  # of which averaging the gradients over the processes took
            logs["allreduce_seconds"] = parallel.reducer.seconds - reduce_started
        state.history.append(logs)
        if verbose > 0:
            print(format_epoch(logs, state.epochs), flush=True)
        guard.check_epoch(state, logs, taken=totals["seen"] > 0)  # a dead run stops here
        for cb in callbacks:
            cb.on_epoch_end(state, logs)
        checkpointer.after_epoch(state)
    if parallel is not None:
        parallel.sync_buffers()  # every replica ends as rank 0's
    checkpointer.at_train_end(state)
    for cb in callbacks:
        cb.on_train_end(state)
    if verbose > 0 and state.restored_epoch is not None:
        print(f"restored the weights of epoch {state.restored_epoch} (best by early stopping)")
    return state.history


def _parallel_step(
    state: TrainingState,
    callbacks: Sequence[Callback],
    clip_norm: float | None,
    guard: NonFiniteGuard,
    checkpointer: Checkpointer,
    parallel: DataParallel,
    xb: np.ndarray,
    yb: np.ndarray,
) -> None:
    """One step of data-parallel training: this rank's part of the batch (train/parallel.py)."""
    model, loss_fn, optimizer = state.model, state.loss_fn, state.optimizer
    xb, yb = parallel.shard(xb, yb)
    state.batch = (xb, yb)
    optimizer.zero_grad()
    value, predicted, state.loss = 0.0, None, None
    if len(xb):  # the last batch of an epoch may leave a rank no rows
        try:
            out = model(Tensor(np.asarray(xb, dtype=np.float32)))
            loss = loss_fn(out, loss_target(yb, out, loss_fn))
        except NonFiniteError as exc:
            raise guard.anomaly(state, exc) from exc
        state.loss = loss
        loss.backward()
        value = loss.item()
        predicted = predict_classes(out.array, loss_fn)
    guard.local_loss = value
    rows, mean_loss, correct, counted, stop = parallel.step(
        len(xb), value, predicted, yb, checkpointer.requested
    )
    checkpointer.interrupted = stop
    for cb in callbacks:
        cb.on_after_backward(state)
    if guard.check(state, mean_loss):
        if clip_norm is not None:
            clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        totals = state.epoch_totals
        totals["loss"] += mean_loss * rows
        totals["seen"] += rows
        if counted:
            totals["correct"] += correct
            totals["counted"] += counted
    state.step += 1
    for cb in callbacks:
        cb.on_batch_end(state)
    checkpointer.after_step(state)


def format_epoch(logs: dict[str, Any], epochs: int) -> str:
    parts = [
        f"epoch {logs['epoch']:>{len(str(epochs))}}/{epochs}",
        f"loss {format_loss(logs['loss'])}",
    ]
    if "accuracy" in logs:
        parts.append(f"acc {logs['accuracy']:.4f}")
    if "val_loss" in logs:
        parts.append(f"val_loss {format_loss(logs['val_loss'])}")
    if "val_accuracy" in logs:
        parts.append(f"val_acc {logs['val_accuracy']:.4f}")
    parts += [f"lr {logs['lr']:.3g}", f"{logs['seconds']:.1f}s"]
    if logs.get("nonfinite_steps"):
        count = logs["nonfinite_steps"]
        parts.append(f"({count} non-finite step{'s' if count > 1 else ''})")
    if "allreduce_seconds" in logs:
        parts.append(f"(all_reduce {logs['allreduce_seconds']:.1f}s)")
    return "  ".join(parts)
