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
