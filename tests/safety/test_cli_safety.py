"""The CLI: a real Ctrl-C (and kill -9) then --resume matches an uninterrupted run's model file,
and every user error is one stderr line with exit code 2, also under python -O."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.idx import write_idx
from chainrule.data.mnist import FILES
from chainrule.serialization import load_checkpoint, save_checkpoint
from safety_helpers import SRC, env, run_cli

# Dropout, early stopping (best weights) and a step schedule: every kind of state is in play.
ARGS = ["--hidden", "128", "--epochs", "12", "--dropout", "0.1", "--early-stopping", "20",
        "--lr-step", "4", "--seed", "3", "--quiet"]  # fmt: skip


def single_thread_env() -> dict[str, str]:
    # One BLAS thread: the same arithmetic in every run, and steady timing on a busy machine.
    return {**env(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    result = run_cli("train", *ARGS, "--out", str(out), env=single_thread_env())
    assert result.returncode == 0, result.stderr
    return out


def start_and_stop(out: Path, how: signal.Signals, twice: bool = False) -> subprocess.Popen[str]:
    """Start training with a checkpoint every 5 steps; signal it once the first one exists."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli", "train", *ARGS, "--out", str(out),
         "--checkpoint-every", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=single_thread_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists():
        assert process.poll() is None and time.monotonic() < deadline, "training never saved"
        time.sleep(0.002)
    process.send_signal(how)
    if twice:
        time.sleep(0.001)
        process.send_signal(how)
    return process


def same_model_files(a: Path, b: Path) -> None:
    ma, mb = cr.load(a / "model.npz"), cr.load(b / "model.npz")
    sa, sb = ma.state_dict(), mb.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert np.array_equal(sa[key], sb[key]), key
    ha = json.loads((a / "metrics.json").read_text())["history"]
    hb = json.loads((b / "metrics.json").read_text())["history"]
    drop = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert drop(ha) == drop(hb)


def resume(out: Path) -> None:
    result = run_cli("train", "--resume", str(out), env=single_thread_env())
    assert result.returncode == 0, result.stderr


def test_ctrl_c_then_resume_matches_uninterrupted(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = start_and_stop(out, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "finishing this step" in stderr
    assert f"Resume with: chainrule train --resume {out}" in stderr
    assert "Traceback" not in stderr
    saved, _ = load_checkpoint(out / "checkpoint.npz")
    assert 0 < saved["step"] < 12 * 41 and not (out / "model.npz").exists()
    resume(out)
    same_model_files(reference, out)


def test_sigterm_is_the_first_ctrl_c(reference: Path, tmp_path: Path) -> None:
    """What kill, systemd, Docker and schedulers send: the step finishes, the checkpoint is
    written, exit 143 (128 + SIGTERM), and the resumed run matches one never stopped."""
    out = tmp_path / "run"
    process = start_and_stop(out, signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "SIGTERM: finishing this step" in stderr and "interrupted by SIGTERM" in stderr
    assert f"Resume with: chainrule train --resume {out}" in stderr
    saved, _ = load_checkpoint(out / "checkpoint.npz")
    assert 0 < saved["step"] < 12 * 41 and not (out / "model.npz").exists()
    assert not list(out.glob(".*.tmp"))
    resume(out)
    same_model_files(reference, out)


@pytest.mark.parametrize("command", ["train", "evaluate", "summary"])
def test_sigterm_at_any_moment_is_exit_143_without_a_traceback(
    reference: Path, tmp_path: Path, command: str
) -> None:
    """From the parser's imports to the last write: a stop, never a traceback or a stray file."""
    args = {"train": ["train", "--hidden", "16", "--epochs", "3", "--out", str(tmp_path / "r")],
            "evaluate": ["evaluate", str(reference / "model.npz")],
            "summary": ["summary", str(reference / "model.npz")]}[command]  # fmt: skip
    for delay in (0.05, 0.3, 0.6, 0.9, 1.2, 1.6, 2.2):
        process = subprocess.Popen(
            [sys.executable, "-m", "chainrule.cli", *args], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=single_thread_env(),
        )  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode in (0, 143, -signal.SIGTERM), (delay, stderr)
        assert "Traceback" not in stderr, (delay, stderr)
        if command == "train":
            assert not list((tmp_path / "r").glob(".*.tmp")), delay
            if (tmp_path / "r").exists():  # the next run may take the folder again
                for name in ("model.npz", "metrics.json", "checkpoint.npz"):
                    (tmp_path / "r" / name).unlink(missing_ok=True)


def test_kill_9_then_resume_matches_uninterrupted(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = start_and_stop(out, signal.SIGKILL)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    load_checkpoint(out / "checkpoint.npz")
    resume(out)
    same_model_files(reference, out)


def test_second_ctrl_c_stops_at_once_and_the_checkpoint_stays_good(
    reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    process = start_and_stop(out, signal.SIGINT, twice=True)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    load_checkpoint(out / "checkpoint.npz")
    resume(out)
    same_model_files(reference, out)


# ----------------------------------------------------------------------------- one-line errors
@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("files")
    run = base / "run"
    result = run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(run), "--quiet")
    assert result.returncode == 0, result.stderr
    corrupt = base / "corrupt"
    corrupt.mkdir()
    data = bytearray((run / "checkpoint.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (corrupt / "checkpoint.npz").write_bytes(bytes(data))
    foreign = base / "foreign"
    foreign.mkdir()
    save_checkpoint(foreign / "checkpoint.npz", {"x": np.zeros(2)})  # no run settings
    bomb = base / "bomb.npz"
    header = {
        "format": "chainrule-model",
        "version": 1,
        "architecture": {"type": "Linear", "config": {"in_features": 10**9, "out_features": 10**9}},
        "tensors": {
            "weight": {"dtype": "float32", "shape": [1, 1], "sha256": "0" * 64},
            "bias": {"dtype": "float32", "shape": [1], "sha256": "0" * 64},
        },
    }
    with zipfile.ZipFile(bomb, "w") as archive:
        archive.writestr("header.json", json.dumps(header))
    newer = base / "newer.npz"
    cr.save(cr.nn.Linear(2, 2), newer)
    with zipfile.ZipFile(newer) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    newer_header = json.loads(members["header.json"])
    newer_header["version"] = 9
    members["header.json"] = json.dumps(newer_header).encode()
    with zipfile.ZipFile(newer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    for name, n, nan_row in (("empty", 0, None), ("nan", 20, 7)):
        folder = base / name
        folder.mkdir()
        images = np.random.default_rng(0).random((n, 4, 4)).astype(np.float32)
        if nan_row is not None:
            images[nan_row, 1, 2] = np.nan
        labels = (np.arange(n) % 2).astype(np.uint8)
        for key, filename in FILES.items():
            write_idx(folder / filename, images if "images" in key else labels)
    return {"run": run, "corrupt": corrupt, "foreign": foreign, "bomb": bomb, "newer": newer,
            "empty": base / "empty", "nan": base / "nan"}  # fmt: skip


CASES: list[tuple[list[str], str]] = [
    (["train", "--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
    (["train", "--epochs", "-3"], "expected a positive integer, got -3"),
    (["train", "--on-nonfinite", "ignore"], "invalid choice: 'ignore'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--checkpoint-every", "5"], "--checkpoint-every needs --out DIR"),
    (["train", "--checkpoint-every", "0", "--out", "{run}"], "positive number of steps or 'epoch'"),
    (["train", "--resume", "/nonexistent/run"], "no checkpoint.npz there"),
    (["train", "--resume", "{run}", "--lr", "0.5"], "--lr cannot change (only --epochs, and"),
    (["train", "--resume", "{corrupt}"], "checkpoint.npz"),
    (["train", "--resume", "{foreign}"], "holds no run settings"),
    (["train", "--dataset", "idx", "--data-dir", "{empty}"], "idx data set is empty"),
    (["train", "--dataset", "idx", "--data-dir", "{newer}"], "is a file, not a folder"),
    (["train", "--out", ""], "argument --out: expected a path, got an empty string"),
    (["train", "--resume", " "], "argument --resume: expected a path, got an empty string"),
    (["train", "--dataset", "idx", "--data-dir", "{nan}"], "contains NaN at row 7"),
    (["train", "--lr", "1e30", "--epochs", "1", "--hidden", "16"],
     "output of layer '4' (Linear(16 -> 10))"),
    (["evaluate", "{bomb}"], "needs [1000000000, 1000000000]"),
    (["evaluate", "{newer}"], "format version 9; this chainrule reads up to 1"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_errors_are_one_line_exit_2_under_optimize(
    args: list[str], message: str, files: dict[str, Path]
) -> None:
    """Under -O every assert is gone: validation must not rely on one."""
    result = run_cli(*(a.format(**files) for a in args), optimize=True)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainrule: error:") and message in lines[0], lines[0]


def test_no_assert_statements_in_the_package() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assert):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, found


def test_resume_with_more_epochs_trains_on(files: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(run)).returncode == 0
    result = run_cli("train", "--resume", str(run), "--epochs", "3")
    assert result.returncode == 0, result.stderr
    assert "resuming at epoch 1" in result.stdout and "epoch 3/3" in result.stdout
    metrics: dict[str, Any] = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["history"]] == [1, 2, 3]
    again = run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(run))
    assert again.returncode == 2 and "already holds a finished run" in again.stderr
    assert "--overwrite" in again.stderr and f"--resume {run}" in again.stderr
    assert len(json.loads((run / "metrics.json").read_text())["history"]) == 3  # untouched
    fresh = run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(run), "--overwrite")
    assert fresh.returncode == 0, fresh.stderr
    assert len(json.loads((run / "metrics.json").read_text())["history"]) == 1
    assert os.path.exists(run / "checkpoint.npz")


def test_resume_refuses_fewer_epochs_and_says_when_early_stopping_ended_it(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    assert run_cli("train", "--hidden", "8", "--epochs", "3", "--out", str(run)).returncode == 0
    fewer = run_cli("train", "--resume", str(run), "--epochs", "2")
    assert fewer.returncode == 2
    assert "the checkpoint has finished 3 epochs: epochs=2 would end before it" in fewer.stderr
    assert json.loads((run / "metrics.json").read_text())["arguments"]["epochs"] == 3
    stopped = tmp_path / "stopped"
    first = run_cli("train", "--hidden", "8", "--epochs", "60", "--early-stopping", "1",
                    "--lr", "0.5", "--out", str(stopped))  # fmt: skip
    assert first.returncode == 0, first.stderr
    done = len(json.loads((stopped / "metrics.json").read_text())["history"])
    assert done < 60
    more = run_cli("train", "--resume", str(stopped), "--epochs", "80")
    assert more.returncode == 0 and f"stopped early at epoch {done}" in more.stderr


def test_a_run_on_a_relative_data_dir_resumes_from_elsewhere(tmp_path: Path) -> None:
    from chainrule.data import write_idx

    data = tmp_path / "work" / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("t10k", 10)):
        write_idx(data / f"{part}-images-idx3-ubyte", rng.integers(0, 255, (n, 6, 6), np.uint8))
        write_idx(data / f"{part}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 2)
    run = tmp_path / "run"
    args = ["train", "--dataset", "idx", "--data-dir", "data", "--epochs", "2", "--out", str(run)]
    first = run_cli(*args, "--hidden", "8", cwd=tmp_path / "work")
    assert first.returncode == 0, first.stderr
    saved = json.loads((run / "metrics.json").read_text())["arguments"]["data_dir"]
    assert saved == str(data)  # absolute
    again = run_cli("train", "--resume", str(run), "--epochs", "3", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    moved = tmp_path / "moved"
    data.rename(moved)
    third = run_cli("train", "--resume", str(run), "--epochs", "4", "--data-dir", str(moved))
    assert third.returncode == 0, third.stderr
    assert len(json.loads((run / "metrics.json").read_text())["history"]) == 4
    other = tmp_path / "other"  # the same shapes and labels, other images
    other.mkdir()
    for part, n in (("train", 40), ("t10k", 10)):
        write_idx(other / f"{part}-images-idx3-ubyte", rng.integers(0, 255, (n, 6, 6), np.uint8))
        write_idx(other / f"{part}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 2)
    checkpoint = (run / "checkpoint.npz").read_bytes()
    fourth = run_cli("train", "--resume", str(run), "--epochs", "5", "--data-dir", str(other))
    assert fourth.returncode == 2 and "it was taken on other data" in fourth.stderr
    assert (run / "checkpoint.npz").read_bytes() == checkpoint


def test_resume_keeps_the_monitor_and_counts_all_seconds(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = run_cli("train", "--hidden", "8", "--epochs", "1", "--monitor", "--monitor-every",
                    "7", "--out", str(run))  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = json.loads((run / "metrics.json").read_text())
    resumed = run_cli("train", "--resume", str(run), "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "s of it since the resume" in resumed.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    flow = metrics["gradient_flow"]
    assert flow["every"] == 7 and [e["epoch"] for e in flow["epochs"]] == [1, 2]
    earlier = before["gradient_flow"]["records"]
    assert flow["records"][: len(earlier)] == earlier
    assert metrics["seconds"] > before["history"][0]["seconds"]
    assert metrics["seconds"] > sum(e["seconds"] for e in metrics["history"])


@pytest.mark.parametrize(
    "metadata", [[1, 2], {"config": "x"}, {"config": {"dataset": 5, "data_dir": [1]}}, "s", None]
)
def test_a_model_file_with_odd_metadata_counts_as_naming_nothing(
    metadata: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chainrule.cli import main

    model = cr.nn.Sequential(cr.nn.Linear(64, 16), cr.nn.ReLU(), cr.nn.Linear(16, 10))
    path = str(tmp_path / "model.npz")
    cr.save(model, path, metadata=metadata)
    commands = [["explain", "--model", path], ["evaluate", path], ["summary", path]]
    if importlib.util.find_spec("onnx") is not None:
        commands.append(["export", path, "--onnx", str(tmp_path / "m.onnx")])
    for args in commands:
        assert main(args) == 0, capsys.readouterr().err
    cr.save(model, path, metadata={"config": {"dataset": "nope"}})
    assert main(["evaluate", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown dataset 'nope'" in err
