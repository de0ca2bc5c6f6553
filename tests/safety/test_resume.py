"""Exact resume: an interrupted and resumed fit() ends with the weights, to the bit, of a run never
interrupted; checkpoints hold every piece of state; a checkpoint that does not fit is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, FormatError, TrainingInterrupted
from chainrule.serialization import iter_arrays, load_checkpoint
from chainrule.train import Callback, EarlyStopping, LRSchedule, fit
from chainrule.train.checkpoint import CheckpointConfig
from safety_helpers import InterruptAt, digits_data

DATA = digits_data()
EPOCHS = 4


def make_run(kind: str, init_seed: int = 0) -> tuple[nn.Module, optim.Optimizer, list[Callback]]:
    cr.manual_seed(init_seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))
    if kind == "sgd":
        opt: optim.Optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    else:
        opt = optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    callbacks: list[Callback] = [
        LRSchedule(optim.StepLR(opt, 1, 0.7)),
        EarlyStopping("val_loss", patience=10, restore_best_weights=True),
    ]
    return model, opt, callbacks


def train(model: nn.Module, opt: optim.Optimizer, callbacks: list[Callback], **kwargs: Any) -> Any:
    x_train, y_train, x_val, y_val = DATA
    return fit(
        model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=EPOCHS, batch_size=32,
        validation_data=(x_val, y_val), seed=7, shuffle=True, callbacks=callbacks, verbose=0,
        **kwargs,
    )  # fmt: skip


def weights_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def without_seconds(history: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history.epochs]


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize(("every", "stop_at"), [(7, 59), ("epoch", 90)])
def test_interrupted_and_resumed_equals_uninterrupted(
    kind: str, every: int | str, stop_at: int, tmp_path: Path
) -> None:
    """Interrupted mid-epoch by a KeyboardInterrupt from a callback, resumed by fresh objects."""
    model, opt, callbacks = make_run(kind)
    reference = train(model, opt, callbacks)
    # Same seed, same machine: identical run after run.
    again, opt2, callbacks2 = make_run(kind)
    assert without_seconds(train(again, opt2, callbacks2)) == without_seconds(reference)
    assert weights_equal(model, again)

    path = tmp_path / "ckpt.npz"
    first, opt_a, callbacks_a = make_run(kind)
    with pytest.raises(KeyboardInterrupt):
        train(first, opt_a, [*callbacks_a, InterruptAt(stop_at)], checkpoint=path,
              checkpoint_every=every)  # fmt: skip
    saved, _ = load_checkpoint(path)
    assert saved["step"] < stop_at
    # Resumed by new objects, initialised differently: everything must come from the file.
    resumed, opt_b, callbacks_b = make_run(kind, init_seed=99)
    history = train(resumed, opt_b, callbacks_b, checkpoint=path, resume=True)
    assert weights_equal(resumed, model)
    assert without_seconds(history) == without_seconds(reference)
    assert callbacks_b[1].state_dict()["best_epoch"] == callbacks[1].state_dict()["best_epoch"]
    assert opt_b.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_resume_twice_and_resume_a_finished_run(tmp_path: Path) -> None:
    model, opt, callbacks = make_run("adam")
    train(model, opt, callbacks)
    path = tmp_path / "run"
    path.mkdir()  # a folder: the checkpoint is FOLDER/checkpoint.npz
    for stop_at in (30, 75):
        m, o, c = make_run("adam", init_seed=0 if stop_at == 30 else stop_at)  # 2nd: resumed
        with pytest.raises(KeyboardInterrupt):
            train(m, o, [*c, InterruptAt(stop_at)], checkpoint=CheckpointConfig(path, every=10),
                  resume=stop_at == 75)  # fmt: skip
    m, o, c = make_run("adam", init_seed=5)
    train(m, o, c, checkpoint=CheckpointConfig(path, every=10), resume=True)
    assert weights_equal(m, model)
    # Resuming the finished run changes nothing (the final checkpoint holds the end state).
    m2, o2, c2 = make_run("adam", init_seed=6)
    train(m2, o2, c2, checkpoint=path, resume=True)
    assert weights_equal(m2, model)


def test_checkpoint_holds_every_piece_of_state(tmp_path: Path) -> None:
    model, opt, callbacks = make_run("sgd")
    path = tmp_path / "ckpt.npz"
    train(model, opt, callbacks, checkpoint=path)
    saved, _ = load_checkpoint(path)
    assert set(saved) >= {"model", "optimizer", "rng", "loader", "history", "epoch", "step",
                          "callbacks", "epoch_totals", "in_epoch"}  # fmt: skip
    assert saved["epoch"] == EPOCHS and saved["step"] == EPOCHS * -(-len(DATA[0]) // 32)
    momentum = saved["optimizer"]["state"][0]["momentum_buffer"]
    assert momentum.shape == (32, 64) and momentum.dtype == np.float32
    kinds = [c["type"] for c in saved["callbacks"]]
    assert kinds == ["LRSchedule", "EarlyStopping"]
    stopper = saved["callbacks"][1]["state"]
    assert set(stopper) >= {"best", "wait", "best_weights"} and stopper["best_weights"]
    assert saved["callbacks"][0]["state"]["last_epoch"] == EPOCHS
    assert len(saved["history"]) == EPOCHS
    assert saved["rng"]["bit_generator"] == "PCG64"
    assert all(a.dtype != object for a in iter_arrays(saved))


def test_checkpoint_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    model, opt, callbacks = make_run("sgd")
    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, InterruptAt(20)], checkpoint=path, checkpoint_every=5)
    other = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    with pytest.raises(FormatError, match="does not fit this training run"):
        train(other, optim.SGD(other.parameters(), lr=0.1), [], checkpoint=path, resume=True)
    m, o, c = make_run("sgd")
    with pytest.raises(FormatError, match="EarlyStopping callback that this run does not have"):
        train(m, o, c[:1], checkpoint=path, resume=True)
    m, o, c = make_run("sgd")
    x_train, y_train, _, _ = DATA
    with pytest.raises(FormatError, match=r"batches of 32, this run has .* batches of 16"):
        fit(m, nn.CrossEntropyLoss(), o, x_train, y_train, batch_size=16, callbacks=c,
            checkpoint=path, resume=True, verbose=0)  # fmt: skip
    with pytest.raises(FormatError, match="no checkpoint to resume from"):
        train(m, o, c, checkpoint=tmp_path / "none.npz", resume=True)
    with pytest.raises(ConfigError, match="resume=True needs checkpoint"):
        train(m, o, c, resume=True)


def test_first_ctrl_c_finishes_the_step_and_saves(tmp_path: Path) -> None:
    """The SIGINT handler's flag, set mid-step, stops after that step with a checkpoint."""
    import os
    import signal

    class SendSigint(Callback):
        def on_after_backward(self, state: Any) -> None:
            if state.step == 12:  # during step 13
                os.kill(os.getpid(), signal.SIGINT)

    model, opt, callbacks = make_run("sgd")
    path = tmp_path / "ckpt.npz"
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="checkpoint saved to") as info:
        train(model, opt, [*callbacks, SendSigint()], checkpoint=path, checkpoint_every=100)
    assert signal.getsignal(signal.SIGINT) is before
    assert info.value.step == 13 and info.value.path == str(path)
    saved, _ = load_checkpoint(path)
    assert saved["step"] == 13 and saved["in_epoch"]
    reference, opt_r, callbacks_r = make_run("sgd")
    train(reference, opt_r, callbacks_r)
    resumed, opt_b, callbacks_b = make_run("sgd", init_seed=3)
    train(resumed, opt_b, callbacks_b, checkpoint=path, resume=True)
    assert weights_equal(resumed, reference)


def test_fit_option_errors() -> None:
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(ConfigError, match="on_nonfinite must be one of stop, skip, rollback"):
        train(model, opt, callbacks, on_nonfinite="ignore")
    with pytest.raises(ConfigError, match="checkpoint_every must be a positive number"):
        train(model, opt, callbacks, checkpoint="x.npz", checkpoint_every=0)
    with pytest.raises(ConfigError, match="checkpoint_every needs checkpoint"):
        train(model, opt, callbacks, checkpoint_every=5)
    x_train, y_train, _, _ = DATA
    with pytest.raises(ConfigError, match="epochs must be a non-negative integer"):
        fit(model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=-1, verbose=0)
    with pytest.raises(ConfigError, match="clip_norm must be a positive number"):
        fit(model, nn.CrossEntropyLoss(), opt, x_train, y_train, clip_norm=0, verbose=0)


def _forged(path: Path, change: Any) -> None:
    """Rewrite a checkpoint with one value changed; its hashes are recomputed, so only the
    restore's own checks can find the change."""
    from chainrule.serialization import save_checkpoint

    saved, metadata = load_checkpoint(path)
    change(saved)
    save_checkpoint(path, saved, metadata)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["callbacks"][0]["state"].update(step_size=0),
         r"LRSchedule.step_size is 0, below 1"),
        (lambda s: s["optimizer"]["param_groups"][0].update(lr="0.1"),
         r"SGD settings are not valid: lr must be a finite number"),
        (lambda s: s["optimizer"]["param_groups"][0].update(momentum=float("nan")),
         r"SGD settings are not valid: momentum"),
        (lambda s: s["callbacks"][0]["state"].update(gamma="x"), r"gamma is 'x'"),
    ],
)  # fmt: skip
def test_a_forged_checkpoint_is_refused_before_training(
    tmp_path: Path, change: Any, message: str
) -> None:
    ckpt = tmp_path / "ckpt.npz"
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, InterruptAt(8)], checkpoint=ckpt, checkpoint_every=5)
    _forged(ckpt, change)
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(FormatError, match=message):
        train(model, opt, callbacks, checkpoint=ckpt, resume=True)


def test_resuming_with_another_optimizer_names_it(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.npz"
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, InterruptAt(8)], checkpoint=ckpt, checkpoint_every=5)
    model, opt, callbacks = make_run("adam")
    with pytest.raises(FormatError, match="taken with another optimizer") as caught:
        train(model, opt, callbacks, checkpoint=ckpt, resume=True)
    assert "momentum" in str(caught.value) and "betas" in str(caught.value)


class Clock:
    """time.perf_counter for fit(): each call moves on a second, so seconds are exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_resumed_run_counts_the_seconds_of_its_earlier_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt = tmp_path / "ckpt.npz"
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, InterruptAt(30)], checkpoint=ckpt, checkpoint_every=5)
    saved, _ = load_checkpoint(ckpt)
    assert saved["in_epoch"] and saved["seconds"] > saved["epoch_totals"]["seconds"] > 0
    model, opt, callbacks = make_run("sgd")
    clock = Clock()
    monkeypatch.setattr("time.perf_counter", clock)
    history = train(model, opt, callbacks, checkpoint=ckpt, resume=True)
    assert history.seconds_before == saved["seconds"]
    # The interrupted epoch's seconds are its part before the checkpoint plus the resumed part.
    resumed_epoch = history.epochs[saved["epoch"] - 1]
    assert resumed_epoch["seconds"] >= saved["epoch_totals"]["seconds"] + 1.0
    assert history.epochs[-1]["seconds"] == 1.0  # one tick of the clock: only this process's
    _forged(ckpt, lambda s: s.update(seconds=-1.0))
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(FormatError, match=r"checkpoint.seconds is -1.0, below 0"):
        train(model, opt, callbacks, checkpoint=ckpt, resume=True)


def test_gradient_monitor_records_survive_a_resume(tmp_path: Path) -> None:
    from chainrule.insight import GradientMonitor

    reference = GradientMonitor(every=4, verbose=False)
    model, opt, callbacks = make_run("sgd")
    train(model, opt, [*callbacks, reference])
    ckpt = tmp_path / "ckpt.npz"
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, GradientMonitor(every=4, verbose=False), InterruptAt(30)],
              checkpoint=ckpt, checkpoint_every=5)  # fmt: skip
    resumed = GradientMonitor(every=4, verbose=False)
    model, opt, callbacks = make_run("sgd")
    train(model, opt, [*callbacks, resumed], checkpoint=ckpt, resume=True)
    assert [r["step"] for r in resumed.records] == [r["step"] for r in reference.records]
    assert [e["epoch"] for e in resumed.epochs] == list(range(1, EPOCHS + 1))
    assert resumed.to_dict()["records"] == reference.to_dict()["records"]
    _forged(ckpt, lambda s: s["callbacks"][2]["state"]["records"].append({"epoch": "x"}))
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(FormatError, match="GradientMonitor records are not gradient-flow"):
        train(model, opt, [*callbacks, GradientMonitor(verbose=False)], checkpoint=ckpt,
              resume=True)  # fmt: skip


def test_a_resume_on_other_data_is_refused(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.npz"
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, [*callbacks, InterruptAt(8)], checkpoint=ckpt, checkpoint_every=5)
    x_train, y_train, x_val, y_val = DATA
    changed = x_train.copy()
    changed[3, 5] += 1.0  # one pixel of one sample: the same shapes, other data
    model, opt, callbacks = make_run("sgd")
    with pytest.raises(FormatError, match="it was taken on other data"):
        fit(model, nn.CrossEntropyLoss(), opt, changed, y_train, epochs=EPOCHS, batch_size=32,
            validation_data=(x_val, y_val), seed=7, shuffle=True, callbacks=callbacks,
            verbose=0, checkpoint=ckpt, resume=True)  # fmt: skip
    model, opt, callbacks = make_run("sgd")
    train(model, opt, callbacks, checkpoint=ckpt, resume=True)  # the same data: continues
