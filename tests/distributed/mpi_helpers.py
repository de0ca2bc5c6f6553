"""Running a script or the CLI under ``mpiexec -n N`` from a test (skipped without the
distributed extra: mpi4py and an mpiexec beside this Python, as the MPICH wheel installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"


def mpiexec() -> str:
    pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py) is not installed")
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec found (pip install 'chainrule[distributed]' brings MPICH's)")
    return found


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(CHAINRULE_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return env


def run_mpi(
    args: list[str], n: int = 2, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """``mpiexec -n n`` of args (a worker script's name, or 'chainrule' and its arguments)."""
    if args[0] == "chainrule":
        command = [sys.executable, "-m", "chainrule.cli", *args[1:]]
    elif args[0].endswith(".py"):
        command = [sys.executable, str(WORKERS / args[0]), *args[1:]]
    else:
        command = args
    return subprocess.run(
        [mpiexec(), "-n", str(n), *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(**env),
    )


def run_single(
    args: list[str], timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """The same, as one process without a launcher."""
    if args[0] == "chainrule":
        command = [sys.executable, "-m", "chainrule.cli", *args[1:]]
    else:
        command = [sys.executable, str(WORKERS / args[0]), *args[1:]]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=environment(**env)
    )
