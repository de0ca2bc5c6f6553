"""fit(): learning on real data, history, callbacks, early stopping, and input checks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import load_breast_cancer, load_digits, train_val_split
from chainrule.errors import DataError, NonFiniteError, ShapeError
from chainrule.train import Callback, EarlyStopping, LRSchedule, evaluate, fit


def digits_split() -> tuple[np.ndarray, ...]:
    x, y = load_digits()
    return train_val_split(x / 16, y, val_fraction=0.2, seed=0)


def test_xor_reaches_100_percent() -> None:
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 4, init="xavier"), nn.Tanh(), nn.Linear(4, 2))
    history = fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5, momentum=0.9),
        x, y, epochs=300, batch_size=4, verbose=0,
    )  # fmt: skip
    assert evaluate(model, nn.CrossEntropyLoss(), x, y)["accuracy"] == 1.0
    assert history["loss"][-1] < 0.05


def test_digits_mlp_reaches_95_percent() -> None:
    x_train, y_train, x_test, y_test = digits_split()
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        x_train, y_train, epochs=20, batch_size=32, seed=0, verbose=0,
    )  # fmt: skip
    assert evaluate(model, nn.CrossEntropyLoss(), x_test, y_test)["accuracy"] >= 0.95


def test_breast_cancer_bce_reaches_94_percent() -> None:
    x, y = load_breast_cancer()
    x_train, y_train, x_test, y_test = train_val_split(x, y, val_fraction=0.2, seed=0)
    normalize = nn.Normalize.from_data(x_train, per_feature=True)
    model = nn.Sequential(normalize, nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    fit(model, loss_fn, optim.Adam(model.parameters(), lr=1e-3), x_train, y_train,
        epochs=40, batch_size=32, seed=0, verbose=0)  # fmt: skip
    assert evaluate(model, loss_fn, x_test, y_test)["accuracy"] >= 0.94


def test_history_records_every_epoch() -> None:
    x_train, y_train, x_val, y_val = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    history = fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        x_train, y_train, epochs=3, validation_data=(x_val, y_val), verbose=0,
    )  # fmt: skip
    assert len(history) == 3
    assert set(history.last) == {
        "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"
    }  # fmt: skip
    assert history["epoch"] == [1, 2, 3]


def test_early_stopping_restores_best_weights_even_when_epochs_run_out() -> None:
    x_train, y_train, x_val, y_val = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    stopper = EarlyStopping("val_loss", patience=100, restore_best_weights=True)
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, state, logs):  # type: ignore[no-untyped-def]
            snapshots.append((logs["val_loss"], state.model.state_dict()))

    # A learning rate high enough that validation loss bounces around.
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=2.0), x_train, y_train,
        epochs=6, validation_data=(x_val, y_val), callbacks=[Snapshot(), stopper],
        verbose=0)  # fmt: skip
    _, best_state = min(snapshots, key=lambda s: s[0])
    np.testing.assert_array_equal(model[0].weight.numpy(), best_state["0.weight"])
    assert stopper.stopped_epoch is None


def test_early_stopping_stops() -> None:
    x_train, y_train, x_val, y_val = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    history = fit(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
        x_train, y_train, epochs=20, validation_data=(x_val, y_val),
        callbacks=[EarlyStopping(patience=2)], verbose=0,
    )  # fmt: skip
    assert len(history) == 3  # epoch 1 sets the best; 2 and 3 do not improve


def test_lr_schedule_callback() -> None:
    x_train, y_train, _, _ = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=3,
                  callbacks=[LRSchedule(optim.StepLR(opt, 1, 0.5))], verbose=0)  # fmt: skip
    assert history["lr"] == [0.1, 0.05, 0.025]  # the rate each epoch trained with


def test_float32_model_stays_float32_through_training() -> None:
    x_train, y_train, _, _ = digits_split()
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    seen = []

    class Dtypes(Callback):
        def on_after_backward(self, state):  # type: ignore[no-untyped-def]
            seen.extend(p.grad.dtype for p in state.model.parameters())
            seen.append(state.loss.dtype)

    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), x_train, y_train,
        epochs=1, callbacks=[Dtypes()], verbose=0)  # fmt: skip
    assert set(seen) == {np.dtype(np.float32)}
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_bad_inputs_are_named() -> None:
    x_train, y_train, _, _ = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ShapeError, match=r"Linear\(64 -> 10\) expects input \(\*, 64\)"):
        fit(model, loss, opt, x_train[:, :63], y_train, verbose=0)
    bad_labels = y_train.copy()
    bad_labels[7] = 10
    with pytest.raises(DataError, match="row 7"):
        fit(model, loss, opt, x_train, bad_labels, verbose=0)
    nan_x = x_train.copy()
    nan_x[5, 3] = np.nan
    with pytest.raises(DataError, match="NaN at row 5"):
        fit(model, loss, opt, nan_x, y_train, verbose=0)
    with pytest.raises(DataError, match="empty"):
        fit(model, loss, opt, x_train[:0], y_train[:0], verbose=0)


def test_non_finite_loss_stops_training() -> None:
    x_train, y_train, _, _ = digits_split()
    model = nn.Sequential(nn.Linear(64, 10))
    with pytest.raises(NonFiniteError, match="learning rate"):
        fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e30),
            x_train * 1e20, y_train, epochs=2, verbose=0)  # fmt: skip
    assert cr.is_grad_enabled()


def test_a_loss_the_loop_never_named_trains_and_reports_accuracy() -> None:
    """fit() asks the loss how to read the output (target_for, predict, label_classes), so
    NLLLoss after LogSoftmax needs no edit in chainrule.train."""
    x_train, y_train, x_test, y_test = digits_split()
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10), nn.LogSoftmax(dim=1))
    history = fit(
        model, nn.NLLLoss(), optim.Adam(model.parameters(), lr=0.01),
        x_train, y_train, epochs=5, batch_size=64, seed=0, verbose=0,
        validation_data=(x_test, y_test),
    )  # fmt: skip
    assert history["val_accuracy"][-1] >= 0.9
    with pytest.raises(DataError, match="label"):
        fit(model, nn.NLLLoss(), optim.SGD(model.parameters(), lr=0.1),
            x_train[:4], np.array([0, 1, 2, 10]), epochs=1, verbose=0)  # fmt: skip
