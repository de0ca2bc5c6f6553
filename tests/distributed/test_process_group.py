"""The process group: no-ops as one process, collectives and faults under mpiexec -n 2."""

from __future__ import annotations

import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule.errors import ConfigError
from mpi_helpers import run_mpi


def test_one_process_is_rank_0_of_1() -> None:
    assert dist.init() == 1
    assert (dist.rank(), dist.world_size(), dist.is_main()) == (0, 1, True)
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    t = cr.tensor([1.0, 2.0])
    assert dist.all_reduce(t) is t and t.tolist() == [1.0, 2.0]
    assert dist.broadcast(t, 0).tolist() == [1.0, 2.0]
    assert dist.all_gather_object({"a": 1}) == [{"a": 1}]
    dist.barrier()
    with pytest.raises(ValueError, match="disk"):
        dist.agree(ValueError("disk"))
    dist.agree(None)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ConfigError, match="unknown reduce op"):
        dist.all_reduce(np.zeros(2), op="mean-ish")
    with pytest.raises(ConfigError, match="positive number of seconds"):
        dist.init(timeout=-1)
    with pytest.raises(ConfigError, match="runs on MPI"):
        dist.init_process_group("nccl")


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_on_several_processes(n: int) -> None:
    result = run_mpi(["collectives.py"], n=n)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"OK {n}"


def test_a_rank_that_raises_stops_every_rank() -> None:
    started = time.monotonic()
    result = run_mpi(["faults.py", "raise", "1"], timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "rank 1 broke on purpose" in result.stderr
    assert "finished" not in result.stdout


def test_a_rank_that_hangs_is_timed_out() -> None:
    """Rank 1 sleeps 60 s in a step; rank 0 waits in the gradient all_reduce for 2 s (the
    timeout), says so, and stops the job."""
    started = time.monotonic()
    result = run_mpi(["faults.py", "hang", "1"], timeout=60, CHAINRULE_DIST_TIMEOUT="2")
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 30, elapsed
    assert "rank 0: no reply from the other ranks in the gradient all_reduce for 2 s" in (
        result.stderr
    )
