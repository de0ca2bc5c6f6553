"""Every input error a user of fit() can make is named: the layer and both shapes, the label's
row, the NaN's row, an empty set, a zero batch size, an unknown option."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.errors import ConfigError, DataError, ShapeError
from chainrule.train import evaluate, fit
from safety_helpers import digits_data, run_cli

X, Y, X_VAL, Y_VAL = digits_data()


def call(x: Any = X, y: Any = Y, **kwargs: Any) -> Any:
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    return fit(model, nn.CrossEntropyLoss(), opt, x, y, epochs=1, verbose=0, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"x": X[:, :63]}, ShapeError,
         r"Linear\(64 -> 16\) expects input \(\*, 64\), got \(1, 63\)"),
        ({"y": np.where(np.arange(len(Y)) == 9, 10, Y)}, DataError,
         r"label 10 at row 9 is out of range for 10 classes \(expected 0\.\.9\)"),
        ({"y": Y.astype(np.float32)}, DataError, "labels must be integers, got dtype float32"),
        ({"y": Y[:, None]}, DataError, r"labels must be one integer per sample, got shape"),
        ({"x": np.where(np.arange(len(X))[:, None] == 4, np.nan, X)}, DataError,
         "training input contains NaN at row 4"),
        ({"x": np.where(np.arange(len(X))[:, None] == 6, np.inf, X)}, DataError,
         "training input contains Inf at row 6"),
        ({"x": X[:0], "y": Y[:0]}, DataError, "training data set is empty"),
        ({"validation_data": (X_VAL[:0], Y_VAL[:0])}, DataError,
         "validation data set is empty"),
        ({"validation_data": (X_VAL, Y_VAL[:-1])}, ShapeError,
         r"validation data has \d+ inputs but \d+ labels"),
        ({"batch_size": 0}, DataError, "batch_size must be a positive integer, got 0"),
        ({"batch_size": 2.5}, DataError, "batch_size must be a positive integer, got 2.5"),
        ({"on_nonfinite": "ignore"}, ConfigError, "on_nonfinite must be one of"),
        ({"checkpoint_every": "daily", "checkpoint": "c.npz"}, ConfigError,
         "checkpoint_every must be a positive number of steps or 'epoch', got 'daily'"),
        ({"clip_norm": -1.0}, ConfigError, "clip_norm must be a positive number"),
    ],
)  # fmt: skip
def test_fit_names_the_problem(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call(**kwargs)


def test_evaluate_on_empty_data() -> None:
    model = nn.Sequential(nn.Linear(64, 10))
    with pytest.raises(DataError, match="evaluation data set is empty"):
        evaluate(model, nn.CrossEntropyLoss(), X[:0], Y[:0])


def test_optimizer_hyperparameters_are_named() -> None:
    model = nn.Linear(2, 2)
    with pytest.raises(ConfigError, match=r"lr must be a finite number >= 0\.0, got -1"):
        optim.SGD(model.parameters(), lr=-1)
    with pytest.raises(ConfigError, match="optimizer got an empty parameter list"):
        optim.Adam([])


def test_cli_detect_anomaly_and_rollback() -> None:
    args = ["train", "--lr", "1e30", "--epochs", "1", "--hidden", "16"]
    result = run_cli(*args, "--detect-anomaly", optimize=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "anomaly: " in lines[0]
    assert "in layer '4' (Linear(16 -> 10))" in lines[0]
    result = run_cli(*args, "--on-nonfinite", "rollback")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert sum("rolled back to the last good weights" in line for line in lines) == 10
    assert lines[-1].startswith("chainrule: error:") and "too many rollbacks" in lines[-1]
    result = run_cli(*args, "--on-nonfinite", "skip")
    assert result.returncode == 0 and "skipped the update" in result.stderr
