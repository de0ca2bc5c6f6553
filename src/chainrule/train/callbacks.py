"""Callbacks: the points where fit() lets monitors, schedules and early stopping act."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..nn.module import snapshot
from ..optim import ReduceLROnPlateau
from .state import TrainingState


class Callback:
    """Override any of these; each gets the live TrainingState (model, optimizer, history...).

    Order within one step: forward → loss → backward → ``on_after_backward`` → (clipping) →
    optimizer.step() → ``on_batch_end``.
    """

    def on_train_begin(self, state: TrainingState) -> None: ...

    def on_epoch_begin(self, state: TrainingState) -> None: ...

    def on_after_backward(self, state: TrainingState) -> None: ...

    def on_batch_end(self, state: TrainingState) -> None: ...

    def on_epoch_end(self, state: TrainingState, logs: dict[str, Any]) -> None: ...

    def on_train_end(self, state: TrainingState) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _resolve_mode(monitor: str, mode: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ConfigError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by min_delta for ``patience`` epochs.

    With restore_best_weights the best epoch's weights are put back when training ends, whether
    patience ran out or the epochs did (Keras restores only in the first case).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if patience < 0:
            raise ConfigError(f"patience must be >= 0, got {patience}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = _resolve_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.best_weights: dict[str, np.ndarray] | None = None
        self.stopped_epoch: int | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, state: TrainingState, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise ConfigError(
                f"EarlyStopping monitors {self.monitor!r}, which this run does not record "
                f"(it records {', '.join(sorted(logs))}); give validation data or pick another"
            )
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best_weights:
                self.best_weights = snapshot(state.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            state.stop_training = True
            self.stopped_epoch = logs["epoch"]

    def on_train_end(self, state: TrainingState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)
            state.restored_epoch = self.best_epoch

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class LRSchedule(Callback):
    """Step a learning-rate schedule once per epoch, or once per batch with every='batch'
    (OneCycleLR, CyclicLR); ReduceLROnPlateau gets ``monitor``."""

    def __init__(self, scheduler: Any, monitor: str = "val_loss", every: str = "epoch") -> None:
        if every not in ("epoch", "batch"):
            raise ConfigError(f"LRSchedule steps every 'epoch' or 'batch', got {every!r}")
        self.scheduler, self.monitor, self.every = scheduler, monitor, every

    def on_batch_end(self, state: TrainingState) -> None:
        if self.every == "batch":
            self.scheduler.step()

    def on_epoch_end(self, state: TrainingState, logs: dict[str, Any]) -> None:
        if self.every == "batch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            value = logs.get(self.monitor, logs.get("loss"))
            self.scheduler.step(value)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(state)
