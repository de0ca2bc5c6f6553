"""One thread count for BLAS and the kernels; a default that leaves busy CPUs alone."""

from __future__ import annotations

import os

import pytest
from threadpoolctl import threadpool_info

import chainrule as cr
from chainrule import kernels, threads
from chainrule.cli import main


@pytest.fixture
def restore_threads():  # type: ignore[no-untyped-def]
    before = cr.get_num_threads()
    yield
    cr.set_num_threads(before)


def blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"}


def test_one_count_for_blas_and_kernels(restore_threads) -> None:  # type: ignore[no-untyped-def]
    cr.set_num_threads(1)
    assert cr.get_num_threads() == 1 and blas_threads() <= {1}
    numba = pytest.importorskip("numba")
    before = kernels.backend()
    try:
        kernels.use("numba")
        cr.set_num_threads(2)
        expected = 1 if threads._blas_workers_spin() else min(2, numba.config.NUMBA_NUM_THREADS)
        assert numba.get_num_threads() == expected
        cr.set_num_threads(1)
        assert numba.get_num_threads() == 1
    finally:
        kernels.use(before)


def test_the_default_leaves_busy_cpus_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAINRULE_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cpus", lambda: 4)
    for busy, expected in ((0, 4), (1, 3), (3, 1), (9, 1)):
        monkeypatch.setattr(threads, "_busy_elsewhere", lambda busy=busy: busy)
        assert threads.default_num_threads() == expected
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.default_num_threads() == 2
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "3")  # chainrule's own variable wins
    assert threads.default_num_threads() == 3
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "many")  # passed over: OMP_NUM_THREADS's 2
    with pytest.warns(RuntimeWarning, match="CHAINRULE_NUM_THREADS must be a positive integer"):
        assert threads.default_num_threads() == 2
    monkeypatch.delenv("CHAINRULE_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested form: the first level
    assert threads.default_num_threads() == 4
    for bad in ("0", "-1", "1e9", "x,2"):
        monkeypatch.setenv("OMP_NUM_THREADS", bad)
        with pytest.warns(RuntimeWarning, match=f"got '{bad}'; it is ignored"):
            assert threads.default_num_threads() == 1  # the default: 9 CPUs busy of 4


def test_a_bad_thread_count_in_the_environment_does_not_stop_the_import() -> None:
    import subprocess
    import sys

    for name in ("CHAINRULE_NUM_THREADS", "OMP_NUM_THREADS"):
        env = {**os.environ, name: "abc"}
        result = subprocess.run(
            [sys.executable, "-m", "chainrule.cli", "train", "--epochs", "1", "--quiet"],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"{name} must be a positive integer, got 'abc'; it is ignored" in result.stderr


def test_busy_elsewhere_reads_proc_loadavg() -> None:
    assert threads._busy_elsewhere() >= 0


def test_cli_threads_flag(restore_threads, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["train", "--threads", "1", "--epochs", "1", "--quiet"]) == 0
    assert cr.get_num_threads() == 1
    assert main(["train", "--threads", "0"]) == 2
    assert "--threads: expected a positive integer" in capsys.readouterr().err
