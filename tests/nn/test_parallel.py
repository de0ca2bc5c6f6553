"""nn.parallel.DistributedDataParallel: one process (the module itself) and, under mpiexec -n 2,
a PyTorch-style script against one process with the same global batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn.parallel import DistributedDataParallel
from mpi_helpers import run_mpi, run_single


def test_one_process_wraps_without_changing_anything() -> None:
    cr.manual_seed(0)
    inner = nn.Linear(3, 2)
    model = DistributedDataParallel(inner)
    x = cr.randn(4, 3)
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    model(x).sum().backward()
    expected = x.numpy().sum(0)
    np.testing.assert_allclose(inner.weight.grad.numpy(), np.tile(expected, (2, 1)), rtol=1e-6)


def test_two_processes_match_one_with_the_same_global_batches(tmp_path: Path) -> None:
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    single = run_single(["ddp_script.py", str(one), "--single"])
    assert single.returncode == 0, single.stderr
    parallel = run_mpi(["ddp_script.py", str(two)])
    assert parallel.returncode == 0, parallel.stderr
    a, b = cr.load(one), cr.load(two)
    assert list(a) == list(b) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for key in a:
        np.testing.assert_allclose(b[key].numpy(), a[key].numpy(), atol=1e-5, err_msg=key)
