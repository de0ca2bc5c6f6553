"""The CLI with --model cnn: train on the shipped digits, save, evaluate the saved model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.serialization import read_header


def test_train_cnn_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cnn"
    assert main(["train", "--model", "cnn", "--epochs", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "training cnn on digits" in printed and "epoch 3/3" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "cnn" and len(metrics["history"]) == 3
    assert metrics["test_accuracy"] > 0.9
    layers = [layer["type"] for layer in read_header(out / "model.npz")["architecture"]["layers"]]
    assert layers[:5] == ["Normalize", "Unflatten", "Conv2d", "ReLU", "MaxPool2d"]
    assert main(["evaluate", str(out / "model.npz")]) == 0
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
