"""MNIST end to end with the CLI's MLP recipe (slow: run by .ci/run when the data is there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainrule.cli import main
from conftest import MNIST_DIR, needs_mnist


@pytest.mark.slow
@needs_mnist
def test_cli_mlp_recipe_reaches_98_percent(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(MNIST_DIR), "--out", str(out),
                 "--quiet"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) <= 10
    assert metrics["test_accuracy"] >= 0.980
