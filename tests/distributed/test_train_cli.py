"""``mpiexec -n 2 chainrule train``: one run's files, the single process's accuracy, and faults
(a rank killed mid-epoch, then resumed; a rank that cannot read its data)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import write_idx
from chainrule.serialization import load
from mpi_helpers import environment, mpiexec, run_mpi, run_single


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in load(path).state_dict().items()}


def test_two_processes_write_one_run_with_the_single_process_accuracy(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    single = run_single(["chainrule", "train", "--out", str(one), "--epochs", "5"])
    assert single.returncode == 0, single.stderr
    parallel = run_mpi(["chainrule", "train", "--out", str(two), "--epochs", "5"])
    assert parallel.returncode == 0, parallel.stderr
    first = parallel.stdout.splitlines()[0]
    assert "data-parallel on 2 processes: each takes 16 of every batch of 32" in first
    assert parallel.stdout.count("test accuracy") == 1  # rank 0 alone prints
    assert sorted(p.name for p in two.iterdir() if not p.name.startswith(".")) == [
        "checkpoint.npz",
        "metrics.json",
        "model.npz",
    ]
    a = json.loads((one / "metrics.json").read_text())
    b = json.loads((two / "metrics.json").read_text())
    # The same steps up to float32 rounding: 359 test samples, at most one may flip.
    assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 1 / 359 + 1e-12
    assert a["arguments"] == b["arguments"]
    for key, value in _weights(one / "model.npz").items():
        np.testing.assert_allclose(_weights(two / "model.npz")[key], value, atol=1e-4)


def _rank_pid(marker: str, rank: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in cmdline and f"PMI_RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


def _start_until_checkpoint(run: Path, flags: list[str], n: int = 2) -> subprocess.Popen[str]:
    """``mpiexec -n n chainrule train --out run``, returned once its first checkpoint exists."""
    job = subprocess.Popen(
        [mpiexec(), "-n", str(n), sys.executable, "-m", "chainrule.cli", "train", "--out",
         str(run), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (run / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return job


def test_a_killed_rank_stops_the_run_and_resume_finishes_it(tmp_path: Path) -> None:
    """SIGKILL rank 1 after the first checkpoint: mpiexec stops rank 0 at once (bound: 20 s)
    and exits non-zero; --resume under mpiexec -n 2 then ends with the weights of a run never
    interrupted, to the bit. The checkpoint is at step 60, in epoch 2: by then the ranks'
    dropout generators have drawn differently (epoch 1 ended in parts of 8 and 7 rows), so
    each rank must get its own back."""
    flags = ["--hidden", "512,512", "--epochs", "30", "--checkpoint-every", "60"]
    flags += ["--dropout", "0.2"]
    run, reference = tmp_path / "run", tmp_path / "reference"
    job = _start_until_checkpoint(run, flags)
    pid = _rank_pid(str(run), 1)
    assert pid is not None and job.poll() is None, "the run ended before it could be killed"
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _, _stderr = job.communicate(timeout=60)
    assert time.monotonic() - killed < 20
    assert job.returncode != 0
    assert not (run / "model.npz").exists()
    resumed = run_mpi(["chainrule", "train", "--resume", str(run)], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at epoch" in resumed.stdout
    whole = run_mpi(["chainrule", "train", "--out", str(reference), *flags], timeout=300)
    assert whole.returncode == 0, whole.stderr
    mine, theirs = _weights(run / "model.npz"), _weights(reference / "model.npz")
    for key, value in theirs.items():
        np.testing.assert_array_equal(mine[key], value, err_msg=key)
    assert (
        json.loads((run / "metrics.json").read_text())["test_accuracy"]
        == json.loads((reference / "metrics.json").read_text())["test_accuracy"]
    )


def _idx_folder(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for part, n in (("train", 60), ("t10k", 20)):
        write_idx(
            folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 8, 8), np.uint8)
        )
        write_idx(folder / f"{part}-labels-idx1-ubyte", rng.integers(0, 3, n, np.uint8))


def test_a_rank_that_cannot_read_its_data_stops_every_rank_with_one_line(tmp_path: Path) -> None:
    """Rank 1's --data-dir lacks a file (two machines, one mount broken): both ranks stop with
    exit code 2 and rank 0 prints one line naming rank 1 and the missing file."""
    good, broken = tmp_path / "good", tmp_path / "broken"
    _idx_folder(good)
    _idx_folder(broken)
    (broken / "t10k-labels-idx1-ubyte").unlink()
    command = [sys.executable, "-m", "chainrule.cli", "train", "--dataset", "idx", "--data-dir"]
    result = subprocess.run(
        [mpiexec(), "-n", "1", *command, str(good), ":", "-n", "1", *command, str(broken)],
        capture_output=True, text=True, timeout=120, env=environment(),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainrule: error: rank 1 (loading data): ")
    assert "t10k-labels-idx1-ubyte" in lines[0]
    assert "Traceback" not in result.stderr


def test_batch_smaller_than_the_processes_is_refused() -> None:
    result = run_mpi(["chainrule", "train", "--batch-size", "1", "--epochs", "1"], n=2)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "chainrule: error: batch_size 1 is smaller than the 2 processes: every process needs a "
        "part of each batch"
    ]


@pytest.mark.parametrize("n", [2])
def test_ctrl_c_stops_every_rank_at_one_step_and_resume_continues(tmp_path: Path, n: int) -> None:
    run = tmp_path / "run"
    job = _start_until_checkpoint(run, ["--hidden", "512,512", "--epochs", "30"], n)
    assert job.poll() is None
    job.send_signal(signal.SIGINT)
    _stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 130, stderr
    assert stderr.count("Resume with: chainrule train --resume") == 1, stderr
    resumed = run_mpi(["chainrule", "train", "--resume", str(run)], n=n, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (run / "model.npz").exists()


def test_a_diverged_run_stops_every_rank_at_one_step_with_one_line() -> None:
    """--lr 1e4 sends the loss to NaN: every rank sees it in the summed loss at the same step,
    applies --on-nonfinite stop together, and rank 0 alone says where (naming the rank whose
    batch went wrong first)."""
    result = run_mpi(["chainrule", "train", "--lr", "1e4", "--epochs", "3"])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("chainrule: error: rank ")
    assert "loss became nan" in lines[0] and "Traceback" not in result.stderr


def test_a_run_of_two_processes_resumes_on_one(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = run_mpi(["chainrule", "train", "--out", str(run), "--epochs", "2"])
    assert first.returncode == 0, first.stderr
    resumed = run_single(["chainrule", "train", "--resume", str(run), "--epochs", "3"])
    assert resumed.returncode == 0, resumed.stderr
    assert "the checkpoint was taken on 2 process(es), this run has 1" in resumed.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["history"]] == [1, 2, 3]
