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


def test_evaluate_batch_size_is_checked() -> None:
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0"):
        evaluate(nn.Linear(64, 10), nn.CrossEntropyLoss(), X_VAL, Y_VAL, batch_size=0)


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
    result = run_cli(*args, "--on-nonfinite", "skip")  # skipping cannot save it: a dead run
    assert result.returncode == 2 and "skipped the update" in result.stderr
    assert result.stderr.count("skipped the update") == 5  # then counted per epoch
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("chainrule: error: ") and "non-finite" in last


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--momentum", "1"], "--momentum must be a finite number in [0, 1), got 1.0"),
        (["--lr-step", "2", "--lr-gamma", "nan"], "--lr-gamma must be a finite number > 0"),
        (["--lr-step", "2", "--lr-gamma", "-1"], "--lr-gamma must be a finite number > 0"),
        (["--lr-step", "2", "--lr-gamma", "inf"], "--lr-gamma must be a finite number > 0"),
        (["--optimizer", "adam", "--momentum", "5", "--nesterov"],
         "--momentum and --nesterov are SGD's; --optimizer adam"),
        (["--clip-norm", "0"], "--clip-norm must be a finite number > 0"),
        (["--weight-decay", "-0.1"], "--weight-decay must be a finite number >= 0"),
        (["--seed", str(2**64)], "a seed must be in [-2**63, 2**64)"),
    ],
)  # fmt: skip
def test_cli_hyperparameters_are_checked_before_training(args: list[str], message: str) -> None:
    result = run_cli("train", "--epochs", "1", *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"chainrule: error: {lines[0].removeprefix('chainrule: error: ')}"]
    assert message in lines[0]
    assert result.stdout == ""  # refused before any data was read or epoch run


def test_api_hyperparameters_take_pytorchs_ranges() -> None:
    torch = pytest.importorskip("torch")
    p = nn.Parameter(np.zeros(2, np.float32))
    for make in (optim.Adam, optim.AdamW, optim.NAdam, optim.RAdam, optim.Adamax):
        with pytest.raises(ValueError, match=r"betas\[0\] must be a finite number in \[0.0, 1.0\)"):
            make([p], betas=(1.0, 0.999))
        with pytest.raises(ValueError):  # PyTorch refuses it too
            getattr(torch.optim, make.__name__)([torch.zeros(2, requires_grad=True)],
                                                betas=(1.0, 0.999))  # fmt: skip
    sgd = optim.SGD([p], lr=0.1)
    with pytest.raises(ConfigError, match="patience must be a non-negative integer, got -1"):
        optim.lr_scheduler.ReduceLROnPlateau(sgd, patience=-1)
    with pytest.raises(ConfigError, match=r"step_size must be a positive integer, got 1\.5"):
        optim.lr_scheduler.StepLR(sgd, step_size=1.5)


def test_seeds_take_pytorchs_range() -> None:
    import chainrule as cr

    torch = pytest.importorskip("torch")
    for seed in (-1, -(2**63), 2**64 - 1, 7):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        assert cr.initial_seed() == torch.initial_seed()
    cr.manual_seed(-1)
    first = cr.rand(3).tolist()
    cr.manual_seed(2**64 - 1)
    assert cr.rand(3).tolist() == first  # -1 is 2**64 - 1, as in PyTorch
    for seed in (2**64, -(2**63) - 1, "x"):
        with pytest.raises(ConfigError, match="seed"):
            cr.manual_seed(seed)  # type: ignore[arg-type]
    for command in (["train", "--epochs", "1"], ["explain"], ["gradcheck", "--samples", "1"]):
        assert run_cli(*command, "--seed", "-1").returncode == 0


def test_layers_without_inputs_are_built_as_in_pytorch() -> None:
    import warnings

    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ours = nn.Linear(0, 3)
        theirs = torch.nn.Linear(0, 3)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (3, 0)
    assert np.all(ours.bias.numpy() == 0) and bool((theirs.bias == 0).all())
    import chainrule as cr

    assert ours(cr.zeros(2, 0)).shape == (2, 3)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: nn.Linear(-1, 3), r"Linear's weight needs sizes .* >= 0, got \(3, -1\)"),
        (lambda: nn.Linear(2.5, 3), r"Linear's weight needs sizes that are integers >= 0"),
        (lambda: nn.Embedding(-1, 3), r"Embedding's weight needs sizes"),
        (lambda: nn.Conv2d(1, -2, 3), r"Conv2d's weight needs sizes .* got \(-2, 1, 3, 3\)"),
        (lambda: nn.ConvTranspose1d(-1, 2, 3), r"ConvTranspose1d's weight needs sizes"),
    ],
)  # fmt: skip
def test_a_negative_layer_size_names_the_layer(build: Any, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        build()


def test_batch_norm_of_no_features_is_a_shape_error() -> None:
    import chainrule as cr

    with pytest.raises(ShapeError, match="more than one value per channel"):
        nn.BatchNorm1d(0)(cr.zeros(2, 0))


def _memory() -> float:
    from chainrule.train.recipes import available_memory

    return available_memory() or 0


@pytest.mark.skipif(_memory() > 150e9, reason="this machine could hold the 180 GB model")
def test_sizes_are_bounded_before_memory_is_used() -> None:
    huge = run_cli("train", "--hidden", "100000000", "--epochs", "1")
    assert huge.returncode == 2 and "Traceback" not in huge.stderr
    assert "the MLP has 7,500,000,010 parameters" in huge.stderr and "GB" in huge.stderr
    many = run_cli("gradcheck", "--samples", "100000000")
    assert many.returncode == 2 and "expected at most 1024" in many.stderr
