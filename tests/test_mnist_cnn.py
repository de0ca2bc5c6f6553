"""The CLI's CNN recipe on MNIST (minutes: marked slow, skipped without the data)."""

from __future__ import annotations

import pytest

from chainrule.train.recipes import train_run
from conftest import MNIST_DIR, needs_mnist


@pytest.mark.slow
@needs_mnist
def test_mnist_cnn_recipe_reaches_99_percent() -> None:
    result = train_run({"dataset": "mnist", "data_dir": str(MNIST_DIR), "model": "cnn"}, verbose=0)
    assert result.test_accuracy >= 0.990
