"""chainrule train --model resnet|lstm on the shipped digits: recipes, model files, evaluate,
explain, the monitor, schedules, resume, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.serialization import read_header
from chainrule.train.checkpoint import CheckpointConfig
from chainrule.train.recipes import resolve_config, train_run
from safety_helpers import InterruptAt


@pytest.mark.parametrize("model,first_layers", [
    ("resnet", ["Normalize", "Unflatten", "Conv2d", "BatchNorm2d", "ReLU", "BasicBlock"]),
    ("lstm", ["Normalize", "Unflatten", "ImageRows", "RecurrentLast", "Linear"]),
])  # fmt: skip
def test_train_evaluate_explain(
    model: str, first_layers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / model
    args = ["train", "--model", model, "--epochs", "4", "--monitor", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"training {model} on digits" in printed and "epoch 4/4" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == model and len(metrics["history"]) == 4
    assert metrics["test_accuracy"] > 0.85
    layers = [layer["type"] for layer in read_header(out / "model.npz")["architecture"]["layers"]]
    assert layers[: len(first_layers)] == first_layers
    assert main(["evaluate", str(out / "model.npz")]) == 0
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["explain", "--model", str(out / "model.npz"), "--sample", "3"]) == 0
    assert capsys.readouterr().out.strip()


def test_onecycle_steps_per_batch_and_ends_low() -> None:
    result = train_run({"model": "resnet", "epochs": 2}, verbose=0)
    lrs = [epoch["lr"] for epoch in result.history.epochs]
    config = result.config
    assert config["schedule"] == "onecycle"
    assert lrs[0] > config["lr"] * 0.5  # past the warm-up peak after the first epoch
    assert lrs[-1] < config["lr"] * 1e-3  # annealed to max_lr / (div_factor·final_div_factor)


def test_cosine_schedule_of_the_lstm_recipe() -> None:
    result = train_run({"model": "lstm", "epochs": 2}, verbose=0)
    lrs = [epoch["lr"] for epoch in result.history.epochs]
    assert result.config["schedule"] == "cosine" and result.config["clip_norm"] == 1.0
    # Each epoch's logged lr is the one it trained with: lr, then lr·(1 + cos(π/2))/2.
    assert lrs == pytest.approx([result.config["lr"], result.config["lr"] / 2], abs=1e-12)


def test_schedule_resolution() -> None:
    assert resolve_config({})["schedule"] == "constant"
    assert resolve_config({"dataset": "mnist", "model": "cnn"})["schedule"] == "step"
    assert resolve_config({"model": "resnet", "lr_step": 3})["schedule"] == "step"
    assert resolve_config({"model": "resnet", "schedule": "cosine"})["schedule"] == "cosine"


def test_same_seed_same_weights() -> None:
    a = train_run({"model": "lstm", "epochs": 1}, verbose=0).model.state_dict()
    b = train_run({"model": "lstm", "epochs": 1}, verbose=0).model.state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["resnet", "lstm"])
def test_interrupted_and_resumed_equals_uninterrupted(model: str, tmp_path: Path) -> None:
    """Batch norm statistics, the per-batch one-cycle schedule, clipping and Adam's moments
    all come back from the checkpoint: the resumed run ends with the same weights, to the bit."""
    overrides = {"model": model, "epochs": 2}
    reference = train_run(overrides, verbose=0).model.state_dict()
    path = tmp_path / "checkpoint.npz"
    with pytest.raises(KeyboardInterrupt):
        train_run(overrides, [InterruptAt(50)], verbose=0,
                  checkpoint=CheckpointConfig(path, 7))  # fmt: skip
    resumed = train_run(overrides, verbose=0, checkpoint=CheckpointConfig(path, 7), resume=True)
    state = resumed.model.state_dict()
    assert all(np.array_equal(state[k], reference[k]) for k in reference)


@pytest.mark.parametrize("args,message", [
    (["--model", "resnet", "--dataset", "breast-cancer"], "--model resnet needs image data"),
    (["--model", "lstm", "--dataset", "breast-cancer"], "--model lstm needs image data"),
    (["--lr-gamma", "0.5", "--schedule", "step"], "the step schedule needs --lr-step"),
])  # fmt: skip
def test_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_onecycle_run_cannot_change_epochs_on_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--model", "resnet", "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 2
    assert "planned for 1 epochs" in capsys.readouterr().err
