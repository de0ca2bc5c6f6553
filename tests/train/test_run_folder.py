"""The run folder of chainrule train --out: never overwritten silently, one run at a time, the
temporary files of a killed write cleared, an unusable folder found before training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.errors import ChainruleError, ConfigError
from chainrule.fileio import atomic_write_json
from chainrule.train.run_folder import LOCK, RunFolder
from safety_helpers import run_cli


def test_a_folder_with_a_run_is_refused_with_the_ways_out(tmp_path: Path) -> None:
    (tmp_path / "model.npz").write_bytes(b"kept")
    with pytest.raises(ConfigError, match="already holds a finished run") as caught:
        RunFolder(tmp_path).__enter__()
    assert f"--resume {tmp_path}" in str(caught.value) and "--overwrite" in str(caught.value)
    assert (tmp_path / "model.npz").read_bytes() == b"kept"
    (tmp_path / "model.npz").unlink()
    (tmp_path / "checkpoint.npz").write_bytes(b"x")
    with pytest.raises(ConfigError, match="already holds an unfinished run"):
        RunFolder(tmp_path).__enter__()


def test_overwrite_removes_the_old_run_first(tmp_path: Path) -> None:
    for name in ("model.npz", "metrics.json", "checkpoint.npz", "training_curves.png"):
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("the user's own")
    with RunFolder(tmp_path, overwrite=True):
        assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK, ".replaced-run", "notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK, "notes.txt"]  # the new run ended
    with pytest.raises(ConfigError, match="contradict"):
        RunFolder(tmp_path, resume=True, overwrite=True)


def test_an_overwrite_that_fails_gives_the_old_run_back(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(run)).returncode == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != LOCK}
    failed = run_cli("train", "--epochs", "1", "--out", str(run), "--overwrite", "--l1", "-1")
    assert failed.returncode == 2 and "--l1 must be" in failed.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != LOCK} == before
    diverged = run_cli("train", "--lr", "50", "--on-nonfinite", "skip", "--epochs", "2",
                       "--out", str(run), "--overwrite")  # fmt: skip
    assert diverged.returncode == 2
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != LOCK} == before


def test_the_lock_keeps_a_second_run_out_until_the_first_ends(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from chainrule.train.run_folder import RunFolder\n"
         f"with RunFolder({str(tmp_path)!r}):\n"
         "    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(
        ChainruleError, match=f"in use by another chainrule run \\(pid {holder.pid}"
    ):
        RunFolder(tmp_path).__enter__()
    holder.kill()  # even kill -9 releases the lock: the kernel drops it with the process
    holder.wait()
    with RunFolder(tmp_path):
        pass


def test_temporary_files_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    stale = [".checkpoint.npz.abc12345.tmp", ".metrics.json.x_y_z_12.tmp"]
    for name in stale:
        (tmp_path / name).write_bytes(b"half")
    (tmp_path / ".mine.tmp").write_bytes(b"not chainrule's")
    with RunFolder(tmp_path) as folder:
        assert folder.removed_temporaries == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".chainrule.lock", ".mine.tmp"]


def test_two_runs_on_one_folder_never_mix(tmp_path: Path) -> None:
    """The second run, started while the first trains, is refused at once; the folder then
    holds the first run's files only."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli", "train", "--hidden", "256,256", "--epochs", "40",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (out / LOCK).exists() or not (out / LOCK).read_text():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = run_cli("train", "--hidden", "8", "--epochs", "1", "--out", str(out), "--overwrite")
    assert second.returncode == 2 and "in use by another chainrule run" in second.stderr
    assert first.wait(timeout=300) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["arguments"]["hidden"] == [256, 256] and len(metrics["history"]) == 40


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_found_before_training(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        result = run_cli("train", "--epochs", "1", "--out", str(tmp_path / "run"))
    finally:
        tmp_path.chmod(0o700)
    assert result.returncode == 2 and "cannot use output folder" in result.stderr
    assert "epoch 1" not in result.stdout


def test_an_overlong_name_is_one_line(tmp_path: Path) -> None:
    result = run_cli("train", "--epochs", "1", "--out", str(tmp_path / ("x" * 300)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "a name in it is too long" in result.stderr


def test_a_long_valid_file_name_saves(tmp_path: Path) -> None:
    path = tmp_path / ("m" * 245 + ".json")  # 250 characters: its temporary name would be 264
    atomic_write_json(path, {"ok": True})
    assert json.loads(path.read_text()) == {"ok": True}


@pytest.mark.parametrize("flag", ["--resume", "--data-dir"])
def test_overlong_paths_anywhere_are_one_line(tmp_path: Path, flag: str) -> None:
    long = str(tmp_path / ("y" * 300))
    extra = ["--dataset", "idx"] if flag == "--data-dir" else []
    result = run_cli("train", *extra, flag, long, "--epochs", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("chainrule: error: File name too long")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != LOCK}


def test_sigterm_before_training_gives_an_overwritten_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from chainrule import cli
    from chainrule.train import recipes

    run = tmp_path / "run"
    assert cli.main(["train", "--hidden", "8", "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    before = _files(run)
    handler = signal.getsignal(signal.SIGTERM)

    def terminated_while_loading(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # as kill(1) does while the data set loads
        time.sleep(10)
        raise AssertionError("SIGTERM was not handled")

    monkeypatch.setattr(recipes, "train_run", terminated_while_loading)
    capsys.readouterr()
    args = ["train", "--hidden", "8", "--epochs", "1", "--out", str(run), "--overwrite"]
    assert cli.main(args) == 143
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted by SIGTERM" in err
    assert f"{run} holds the run it held before, as it was" in err
    assert _files(run) == before and sorted(os.listdir(run)) == sorted([*before, LOCK])
    assert cli.main(["train", "--hidden", "8", "--epochs", "1"]) == 143
    assert "nothing saved" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is handler  # main() puts the handler back
