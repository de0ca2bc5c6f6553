"""Plots are valid PNG files (skipped without matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.insight import GradientMonitor
from chainrule.insight.plots import plot_gradient_flow, plot_training_curves, write_plots
from chainrule.train import fit

pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 1000


def test_plots_are_pngs(tmp_path: Path, rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    x = rng.standard_normal((60, 5)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    monitor = GradientMonitor(every=2, verbose=False)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y,
                  epochs=3, validation_data=(x, y), callbacks=[monitor], verbose=0)  # fmt: skip
    written = write_plots(tmp_path, history, monitor)
    assert [p.name for p in written] == ["training_curves.png", "gradient_flow.png"]
    assert all(is_png(p) for p in written)
    # From metrics.json-style data too, and a history without validation or accuracy.
    assert is_png(plot_gradient_flow(monitor.to_dict(), tmp_path / "flow.png"))
    assert is_png(plot_training_curves([{"epoch": 1, "loss": 1.0}], tmp_path / "loss.png"))
