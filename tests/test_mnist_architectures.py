"""The CLI's residual and recurrent recipes on MNIST (minutes: marked slow, skipped without the
data): the ResNet reaches 99.4% within 8 epochs, the LSTM reading rows reaches 98%."""

from __future__ import annotations

import pytest

from chainrule.train.recipes import train_run
from conftest import MNIST_DIR, needs_mnist


@pytest.mark.slow
@needs_mnist
def test_mnist_resnet_recipe_reaches_99_4_percent_in_8_epochs() -> None:
    result = train_run({"dataset": "mnist", "data_dir": str(MNIST_DIR), "model": "resnet"},
                       verbose=1)  # fmt: skip
    assert len(result.history) <= 8
    assert result.test_accuracy >= 0.994


@pytest.mark.slow
@needs_mnist
def test_mnist_lstm_recipe_reaches_98_percent() -> None:
    result = train_run({"dataset": "mnist", "data_dir": str(MNIST_DIR), "model": "lstm"},
                       verbose=1)  # fmt: skip
    assert result.test_accuracy >= 0.980
