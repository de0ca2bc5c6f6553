"""The non-finite guard: a planted overflow is diagnosed by layer and step, an infinite gradient
alone stops training, the last good checkpoint survives, and 'skip' and 'rollback' go on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import NonFiniteError
from chainrule.serialization import load_checkpoint
from chainrule.train import Callback, LRSchedule, fit
from safety_helpers import digits_data, run_cli

DATA = digits_data()
STEPS_PER_EPOCH = -(-len(DATA[0]) // 32)


def make_model() -> nn.Sequential:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


class PlantHugeWeights(Callback):
    """After step `after`, make layer 2's weights so large that its output overflows float32."""

    def __init__(self, after: int) -> None:
        self.after = after

    def on_batch_end(self, state: Any) -> None:
        if state.step == self.after:
            state.model[2].weight.numpy()[...] = 3e38


class PlantInfGradient(Callback):
    """During step `step` (1-based), one gradient element of '0.weight' becomes +inf."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.before: dict[str, np.ndarray] | None = None
        self.after: dict[str, np.ndarray] | None = None

    def on_after_backward(self, state: Any) -> None:
        if state.step + 1 == self.step:
            state.model[0].weight.grad[0, 0] = np.inf
            self.before = state.model.state_dict()

    def on_batch_end(self, state: Any) -> None:
        if state.step == self.step:
            self.after = state.model.state_dict()


def run(model: nn.Module, callbacks: list[Callback], epochs: int = 2, **kwargs: Any) -> Any:
    x_train, y_train, x_val, y_val = DATA
    opt = kwargs.pop("opt", None) or optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return fit(
        model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=epochs, batch_size=32,
        validation_data=(x_val, y_val), seed=0, callbacks=callbacks, verbose=0, **kwargs,
    )  # fmt: skip


def test_planted_overflow_names_the_layer_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.npz"
    model = make_model()
    with pytest.raises(NonFiniteError) as info:
        run(model, [PlantHugeWeights(after=5)], checkpoint=path, checkpoint_every=2)
    message = str(info.value)
    assert "loss became" in message and "epoch 1, step 6" in message
    assert "output of layer '2' (Linear(32 -> 10))" in message
    assert f"last good checkpoint (epoch 1, step 4) is kept in {path}" in message
    for remedy in ("lower learning rate", "clipping", "normalised inputs"):
        assert remedy in message
    assert "\n" not in message  # one line for the CLI
    saved, _ = load_checkpoint(path)
    assert saved["step"] == 4
    assert all(np.isfinite(v).all() and np.abs(v).max() < 1e3 for v in saved["model"].values())


def test_infinite_gradient_alone_stops_training() -> None:
    model = make_model()
    with pytest.raises(NonFiniteError, match=r"gradient of '0\.weight' became NaN or Inf at "
                       r"epoch 1, step 3 \(loss [0-9.]+ is finite"):  # fmt: skip
        run(model, [PlantInfGradient(step=3)])
    assert cr.is_grad_enabled()


def test_parameter_that_overflowed_is_named() -> None:
    model = make_model()

    class Overflow(Callback):
        def on_batch_end(self, state: Any) -> None:
            if state.step == 2:
                state.model[0].bias.numpy()[3] = np.inf

    with pytest.raises(NonFiniteError, match=r"parameter '0\.bias' holds NaN or Inf at epoch 1, "
                       r"step 3 \(the previous update overflowed\)"):  # fmt: skip
        run(model, [Overflow()])


def test_skip_policy_drops_the_update_and_goes_on() -> None:
    model = make_model()
    planted = PlantInfGradient(step=3)
    history = run(model, [planted], on_nonfinite="skip")
    assert planted.before is not None and planted.after is not None
    assert all(np.array_equal(planted.before[k], planted.after[k]) for k in planted.before)
    assert len(history) == 2 and all(np.isfinite(p.numpy()).all() for p in model.parameters())
    assert np.isfinite(history["loss"]).all()


def test_rollback_policy_restores_weights_and_cuts_the_learning_rate() -> None:
    step = STEPS_PER_EPOCH + 5  # in epoch 2: the rollback point is the start of epoch 2

    epoch_2_start: dict[str, np.ndarray] = {}

    class Watch(Callback):
        def on_epoch_begin(self, state: Any) -> None:
            if state.epoch == 2:
                epoch_2_start.update(state.model.state_dict())

    def lrs(on_nonfinite: str, plant: bool) -> tuple[list[float], PlantInfGradient, nn.Module]:
        model = make_model()
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        planted = PlantInfGradient(step=step if plant else -1)
        callbacks = [LRSchedule(optim.StepLR(opt, 1, 0.5)), Watch(), planted]
        history = run(model, callbacks, epochs=3, opt=opt, on_nonfinite=on_nonfinite)
        return history["lr"], planted, model

    clean, _, _ = lrs("stop", plant=False)
    cut, planted, model = lrs("rollback", plant=True)
    assert planted.after is not None
    assert all(np.array_equal(epoch_2_start[k], planted.after[k]) for k in epoch_2_start)
    assert cut[0] == clean[0]
    np.testing.assert_allclose(cut[1:], np.array(clean[1:]) / 10)
    assert all(np.isfinite(p.numpy()).all() for p in model.parameters())


def test_rollback_gives_up_after_repeated_failures() -> None:
    class AlwaysInf(Callback):
        def on_after_backward(self, state: Any) -> None:
            state.model[0].weight.grad[0, 0] = np.nan

    with pytest.raises(NonFiniteError, match="too many rollbacks"):
        run(make_model(), [AlwaysInf()], on_nonfinite="rollback")


def test_anomaly_mode_names_the_op_and_the_layer() -> None:
    model = make_model()
    with pytest.raises(NonFiniteError, match=r"anomaly: \w+ produced a non-finite value in layer "
                       r"'2' \(Linear\(32 -> 10\)\) at epoch 1, step 4"):  # fmt: skip
        run(model, [PlantHugeWeights(after=3)], anomaly=True)
    from chainrule.tensor import _anomaly_hooks

    assert _anomaly_hooks == []  # the context manager was left


def test_a_dead_run_fails_and_its_json_stays_strict(tmp_path: Path) -> None:
    """--on-nonfinite skip cannot save a run whose weights give NaN: it stops with exit 2 and
    names the epoch; the checkpoint of the last good epoch stays; metrics never hold NaN."""
    import json

    from chainrule.fileio import atomic_write_json

    out = tmp_path / "run"
    result = run_cli("train", "--lr", "50", "--on-nonfinite", "skip", "--epochs", "3",
                     "--out", str(out))  # fmt: skip
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("chainrule: error: ") and "after epoch 1" in last
    assert not (out / "model.npz").exists() and not (out / "metrics.json").exists()
    atomic_write_json(tmp_path / "m.json", {"loss": float("nan"), "v": [float("inf"), 1.0]})
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "v": [None, 1.0]}
