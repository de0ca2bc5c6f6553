"""Checkpoint writes under failure: a full disk (RLIMIT_FSIZE), an unwritable folder, and SIGKILL
at random moments. The previous checkpoint always survives byte for byte, or the new one is
complete; no temporary file is left behind by a failure that chainrule sees."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.serialization import load_checkpoint, save_checkpoint
from safety_helpers import env, run_cli

FULL_DISK_SCRIPT = """
import resource, signal, sys
import numpy as np
from chainrule.errors import ChainruleError
from chainrule.serialization import save_checkpoint

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
try:
    save_checkpoint(sys.argv[1], {"w": np.ones(100_000, np.float32), "step": 2})
except ChainruleError as exc:
    print(exc)
    sys.exit(3)
print("reported success")
"""


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_full_disk_keeps_the_old_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"w": np.zeros(1000, np.float32), "step": 1})
    old = path.read_bytes()
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_SCRIPT, str(path)],
        capture_output=True, text=True, timeout=60, env=env(),
    )  # fmt: skip
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"cannot write {path}: File too large" in result.stdout
    assert path.read_bytes() == old
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]  # no stray temporary file


def test_full_disk_during_cli_training(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert run_cli("train", "--hidden", "16", "--epochs", "2", "--out", str(run)).returncode == 0
    checkpoint = run / "checkpoint.npz"
    old = checkpoint.read_bytes()
    result = run_cli(
        "train", "--resume", str(run), "--epochs", "4",
        preexec_fn=lambda: _limit_file_size(len(old) // 2),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"chainrule: error: cannot write {checkpoint}: File too large"]
    assert checkpoint.read_bytes() == old
    assert not [p for p in os.listdir(run) if p.endswith(".tmp")]


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"step": 1})
    old = path.read_bytes()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(ChainruleError, match=r"cannot write .*Not a directory"):
        save_checkpoint(not_a_folder / "checkpoint.npz", {"step": 2})
    with pytest.raises(ChainruleError, match=r"cannot write .*No such file or directory"):
        cr.save(cr.nn.Linear(2, 2), tmp_path / "missing" / "model.npz")
    if os.geteuid() != 0:  # root ignores permissions
        tmp_path.chmod(0o555)
        try:
            with pytest.raises(ChainruleError, match="Permission denied"):
                save_checkpoint(path, {"step": 2})
        finally:
            tmp_path.chmod(0o755)
    assert path.read_bytes() == old


def test_sigkill_at_random_moments_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    """A child writes checkpoints in a loop and is killed at a random moment, again and again:
    the file on disk always loads, as the old checkpoint or the new one, never a mix."""
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"k": 0, "w": np.zeros(50_000, np.float32)})
    rng = random.Random(0)
    rounds, advanced, torn_writes = 40, 0, 0
    for round_ in range(rounds):
        inode = path.stat().st_ino  # each complete write renames a new file into place
        pid = os.fork()
        if pid == 0:  # the child: write forever, each checkpoint consistent with its k
            try:
                k = round_ * 10_000
                while True:
                    k += 1
                    save_checkpoint(path, {"k": k, "w": np.full(50_000, k, np.float32)})
            finally:
                os._exit(0)
        deadline = time.monotonic() + 30
        while path.stat().st_ino == inode and time.monotonic() < deadline:
            time.sleep(0.0005)  # until the child has completed at least one write
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        state, _ = load_checkpoint(path)  # must not raise
        assert np.array_equal(state["w"], np.full(50_000, state["k"], np.float32))
        advanced += state["k"] > round_ * 10_000
        leftovers = list(tmp_path.glob(".checkpoint.npz.*.tmp"))
        torn_writes += len(leftovers)  # the kill landed inside a write
        for leftover in leftovers:
            leftover.unlink()
    assert advanced == rounds and torn_writes > 0
    print(f"SIGKILL: {rounds} kills survived, {torn_writes} of them inside a write")
