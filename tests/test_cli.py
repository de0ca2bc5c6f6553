"""The command line: default run, outputs, evaluate, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_train_default_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "epoch 1/8" in printed and "val_acc" in printed and "test accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "digits" and metrics["model"] == "mlp"
    assert len(metrics["history"]) == 8 and metrics["test_accuracy"] > 0.9
    assert {"test_loss", "seconds", "arguments"} <= set(metrics)
    assert main(["evaluate", str(out / "model.npz")]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in printed
    assert "true \\ pred" in printed and "true 9" in printed


def test_breast_cancer_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "breast-cancer", "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(line.split()[2]) >= 0.94


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["train", "--epochs", "0"], "expected a positive integer, got 0"),
        (["train", "--hidden", "a,b"], "comma-separated integers"),
        (["train", "--lr", "-1", "--epochs", "1"], "lr must be a finite number"),
        (["train", "--dataset", "idx"], "--dataset idx needs --data-dir"),
        (["train", "--dataset", "idx", "--data-dir", "/nonexistent"], "/nonexistent"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["evaluate", "/nonexistent/model.npz"], "does not exist"),
    ],
)
def test_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainrule: error:") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_unreadable_model_file(tmp_path: Path) -> None:
    junk = tmp_path / "model.npz"
    junk.write_bytes(b"not a zip file at all")
    result = run_cli("evaluate", str(junk))
    assert result.returncode == 2
    assert "not a chainrule model file" in result.stderr
