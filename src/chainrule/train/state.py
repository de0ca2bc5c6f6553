"""History and TrainingState: what the loop, its callbacks, the guard and the checkpointer share.

It imports nothing else from train/, so that every other module there can import it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data import DataLoader
from ..nn import Module
from ..optim import Optimizer
from ..tensor import Tensor


class History:
    """Per-epoch records: ``history.epochs`` is a list of dicts, ``history['loss']`` a column.

    ``seconds_before``: the training seconds that earlier processes of a resumed run spent
    (0.0 for a run that was never interrupted).
    """

    def __init__(self, epochs: Iterable[dict[str, Any]] = (), seconds_before: float = 0.0) -> None:
        self.epochs: list[dict[str, Any]] = list(epochs)
        self.seconds_before = seconds_before

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

    def _repr_html_(self) -> str:
        """The epochs as an HTML table, for notebooks."""
        from html import escape

        columns = list(self.history)
        head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(_cell(e.get(c)))}</td>" for c in columns) + "</tr>"
            for e in self.epochs
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


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
    in_epoch: bool = False  # inside an epoch (a checkpoint taken mid-epoch resumes there)
    epoch_totals: dict[str, Any] = field(default_factory=dict)  # running sums of this epoch
    data_sha256: str | None = None  # of the training and validation data (checkpointed runs)
    started: float = field(default_factory=time.perf_counter)  # this process's part of the run
    epoch_started: float = field(default_factory=time.perf_counter)  # ... and of this epoch

    def seconds(self) -> float:
        """Training seconds of the whole run so far, earlier processes' parts included."""
        return self.history.seconds_before + time.perf_counter() - self.started

    def epoch_seconds(self) -> float:
        """Seconds of the current epoch so far, a part before a resume included."""
        return self.epoch_totals.get("seconds", 0.0) + time.perf_counter() - self.epoch_started
