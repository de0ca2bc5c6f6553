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
    assert result.stderr.strip() == (
        f"chainrule: error: {junk} is not a chainrule model file (not a zip archive, or truncated)"
    )


# ---------------------------------------------------------------------- the finished CLI


def test_version_and_bare_command() -> None:
    from chainrule import __version__

    assert run_cli("--version").stdout.strip() == f"chainrule {__version__}"
    bare = run_cli()
    assert bare.returncode == 2 and bare.stdout == "" and "usage: chainrule" in bare.stderr


def test_every_train_flag_says_what_it_does() -> None:
    import argparse

    from chainrule.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings[0]} has no help"
    train_help = commands.choices["train"].format_help()
    assert "every N epochs" in " ".join(train_help.split())  # N of what: epochs
    assert "mnist / cnn: optimizer adam, lr 0.001" in train_help  # the recipes are listed
    assert "(default: 0.05)" in train_help and "(default: 512,256)" in train_help
    evaluate_help = " ".join(commands.choices["evaluate"].format_help().split())
    assert "(default: the model's own)" in evaluate_help and "default: digits" not in evaluate_help


def test_a_closed_pipe_ends_quietly() -> None:
    shell = f"{sys.executable} -m chainrule.cli train --epochs 3 | head -2"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=300
    )
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == "" and result.returncode == 141


def test_a_diverged_run_prints_readable_numbers_and_never_advises_a_higher_rate() -> None:
    result = run_cli("train", "--lr", "50", "--on-nonfinite", "rollback", "--epochs", "3")
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch")]
    assert all(len(word) < 14 for line in epoch_lines for word in line.split()), epoch_lines
    assert "non-finite step" in epoch_lines[0]
    doctor = result.stdout.split("doctor:", 1)[1]
    assert "Diverging" in doctor and "10x higher" not in doctor and "(--lr 5)" in doctor


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_tables_fit_100_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cnn"
    assert main(["train", "--model", "cnn", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    for args in (["evaluate", str(out / "model.npz")], ["explain"],
                 ["explain", "--model", str(out / "model.npz")], ["demo"]):  # fmt: skip
        assert main(args) == 0
        printed = capsys.readouterr().out
        assert _widest(printed) <= 100, (args, _widest(printed))
        if args[:2] == ["explain", "--model"]:
            assert "Not shown: '2' (Conv2d), '5' (Conv2d)" in " ".join(printed.split())
        if args == ["demo"]:
            assert printed.splitlines()[1:] and all(
                name in printed for name in ("vanishing", "exploding", "rnn")
            )


def test_evaluating_on_another_data_set_names_the_data_sets(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(out), "--quiet"]) == 0
    result = run_cli("evaluate", str(out / "model.npz"), "--dataset", "breast-cancer")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "was trained on digits: breast-cancer's inputs are (30,) per sample" in line
    assert line.endswith("evaluate it on the data set it was trained on")
