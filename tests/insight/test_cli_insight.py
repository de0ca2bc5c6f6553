"""chainrule explain / gradcheck / demo / train --monitor --plot / report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main
from chainrule.insight import plots


def test_explain_worked_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    printed = capsys.readouterr().out
    for text in ("3 sigmoid neurons", "z = w·x + b", "LOSS: L = (y - t)²", "dL/da", "f'(z)",
                 "dL/dz = dL/da · f'(z)", "0.weight[0, 0]", "loss before the step"):  # fmt: skip
        assert text in printed, text
    assert main(["explain", "--activation", "relu", "--lr", "0.05", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "a = relu(z)" in printed and "lr = 0.05" in printed


def test_demos_print_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "vanishing"]) == 0
    printed = capsys.readouterr().out
    assert "RMS grad 1st" in printed and "vanishing gradients" in printed
    assert "healthy" in printed and "test accuracy" in printed
    assert main(["demo", "exploding"]) == 0
    printed = capsys.readouterr().out
    assert "exploding" in printed and "clip_norm=" in printed  # table cells may wrap
    assert "diverged (NaN)" in printed


def test_train_monitor_plot_then_report_and_explain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = ["train", "--epochs", "3", "--monitor", "--monitor-every", "5", "--out", str(out)]
    if plots.matplotlib_available():
        args.append("--plot")
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "gradient flow:" in printed and "doctor:" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    flow = metrics["gradient_flow"]
    assert flow["records"] and isinstance(flow["diagnosis"], list)
    assert flow["records"][0]["parameters"]["2.weight"]["grad_rms"] > 0
    assert isinstance(metrics["doctor"], list)
    if plots.matplotlib_available():
        for name in ("training_curves.png", "gradient_flow.png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        (out / "training_curves.png").unlink()
    assert main(["report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "doctor:" in printed and "gradient flow:" in printed
    if plots.matplotlib_available():
        assert (out / "training_curves.png").exists()
    assert main(["explain", "--model", str(out / "model.npz"), "--sample", "5"]) == 0
    printed = capsys.readouterr().out
    assert "digits test sample 5" in printed and "first Linear layer '2'" in printed
    assert "top 10 by |a|" in printed and "output layer" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--plot", "--epochs", "1"], "--plot needs --out"),
        (["report", "/nonexistent/run"], "does not exist"),
        (["demo", "sideways"], "invalid choice"),
    ],
)
def test_errors_are_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    with pytest.raises(Exception, match="pip install 'chainrule\\[plot\\]'"):
        plots.require_matplotlib()
    assert main(["train", "--plot", "--out", str(tmp_path), "--epochs", "1"]) == 2
