"""fit() on 2 processes (mpiexec -n 2) against 1 process with the same global batch.

Each rank takes half of every batch and the gradients are averaged weighted by rows, so the two
runs take the same steps; they differ only by float32 rounding (the sums of the gradient run in
another order): weights agree to 1e-5 after 27 steps over 3 epochs, the last batch of each
epoch split 6/5.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from chainrule.train.parallel import shard_bounds
from mpi_helpers import run_mpi, run_single


@pytest.mark.parametrize(("rows", "world"), [(24, 2), (11, 2), (3, 4), (1, 3), (10, 3)])
def test_shard_bounds_split_every_row_once(rows: int, world: int) -> None:
    bounds = [shard_bounds(rows, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_processes_take_the_steps_of_one(optimizer: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    single = run_single(["fit_run.py", optimizer, str(one)])
    assert single.returncode == 0, single.stderr
    parallel = run_mpi(["fit_run.py", optimizer, str(two)])
    assert parallel.returncode == 0, parallel.stderr
    a, b = _load(one), _load(two)
    assert a.keys() == b.keys()
    for key in a:
        if key.startswith("history."):
            np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-5, err_msg=key)
    assert np.abs(a["0.weight"]).max() > 0.1  # trained, not a zero-vs-zero comparison


def test_four_processes_leave_one_without_rows(tmp_path: Path) -> None:
    """Batches of 5 over 4 ranks: the last batch (203 = 40·5 + 3) gives one rank no rows; it
    still joins the reduction and the steps stay the single process's."""
    one, four = tmp_path / "one.npz", tmp_path / "four.npz"
    assert (
        run_single(["fit_run.py", "sgd", str(one), "--batch", "5", "--epochs", "1"]).returncode == 0
    )
    result = run_mpi(["fit_run.py", "sgd", str(four), "--batch", "5", "--epochs", "1"], n=4)
    assert result.returncode == 0, result.stderr
    a, b = _load(one), _load(four)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_a_nonfinite_batch_on_one_rank_is_skipped_on_every_rank(tmp_path: Path) -> None:
    """Target 5 is NaN: the batch holding it, each epoch, has a NaN loss on one rank only.
    Every rank skips that step (the summed loss and the averaged gradient are NaN everywhere),
    so the run still matches one process that skipped it."""
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    args = ["sgd", "--nan-target-row", "5"]
    single = run_single(["fit_run.py", args[0], str(one), *args[1:]])
    assert single.returncode == 0, single.stderr
    parallel = run_mpi(["fit_run.py", args[0], str(two), *args[1:]])
    assert parallel.returncode == 0, parallel.stderr
    assert single.stderr.count("skipped the update") == 3  # once an epoch
    assert parallel.stderr.count("skipped the update") == 3  # rank 0 says it, for every rank
    a, b = _load(one), _load(two)
    assert np.isfinite(a["0.weight"]).all()
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-5, atol=1e-5, err_msg=key)
