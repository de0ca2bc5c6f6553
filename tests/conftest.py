"""Shared fixtures: seeded generators and the path of ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule.tensor import set_strict

# Every test runs the engine in strict mode: an op whose backward writes into its incoming
# gradient (which other branches of the graph may share) fails at once.
set_strict(True)

# With numba's kernels active, every size takes the compiled path (in use they serve only large
# arrays), so each op's gradcheck and PyTorch twin checks them; .ci/run repeats the op, layer
# and optimiser tests with CHAINRULE_KERNELS=numpy for the reference.
if chainrule.kernels.backend() == "numba":
    from chainrule.kernels import numba_backend

    numba_backend.SMALL = 0

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST_DIR = SHARED_DATA / "mnist"


@pytest.fixture(autouse=True)
def _seed() -> None:
    chainrule.manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def mnist_available() -> bool:
    return (MNIST_DIR / "train-images-idx3-ubyte.gz").exists()


needs_mnist = pytest.mark.skipif(
    not mnist_available(), reason=f"MNIST not found in {MNIST_DIR} (../shared/data/mnist)"
)
