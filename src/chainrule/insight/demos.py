"""Demonstrations: vanishing and exploding gradients, seen by the GradientMonitor, and their cures.

Both train small MLPs on the shipped UCI digits (pixel values scaled /16 to [0, 1]) and finish in a
few seconds on two cores.

- ``demo_vanishing``: 8 sigmoid layers with small random weights N(0, 0.1²) beside the same depth
  with ReLU and He initialisation. Each sigmoid layer multiplies the gradient by σ'(z)·w, at most
  0.25·(small w), so the first layer gets about a millionth of the last layer's gradient.
- ``demo_exploding``: 6 ReLU layers with weights 1.5x too large (N(0, 0.27²) where He would use
  0.18²) and SGD with momentum: the gradient norm grows about 10x per step until it overflows.
  Then the same network with the clipping threshold the monitor suggests trains normally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim
from ..data import load_digits, train_val_split
from ..errors import ChainruleError
from ..models import build_mlp
from ..random import manual_seed
from ..train import History, evaluate, fit
from .findings import Finding
from .gradient_flow import GradientMonitor, suggest_clip_norm


@dataclass
class DemoRun:
    """One trained network of a demonstration and what the monitor saw."""

    name: str
    monitor: GradientMonitor
    test_accuracy: float | None
    history: History | None = None
    error: str | None = None
    clip_norm: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def diagnosis(self) -> list[Finding]:
        return self.monitor.diagnosis

    def summary(self) -> dict[str, Any]:
        rms = self.monitor.layer_rms()
        names = list(rms)
        norms = [r["total_grad_norm"] for r in self.monitor.records]
        finite = [n for n in norms if math.isfinite(n)]
        kinds = [f.kind.replace("_", " ") for f in self.diagnosis]
        if self.error:
            accuracy = "diverged (NaN)"
        else:
            accuracy = "n/a" if self.test_accuracy is None else f"{self.test_accuracy:.1%}"
        return {
            "network": self.name,
            "grad RMS first layer": f"{rms[names[0]]:.2g}" if names else "n/a",
            "grad RMS last layer": f"{rms[names[-1]]:.2g}" if names else "n/a",
            "max grad norm": ("inf" if len(finite) < len(norms) else f"{max(finite):.3g}")
            if norms
            else "n/a",
            "diagnosis": ", ".join(kinds) or "healthy",
            "test accuracy": accuracy,
        }


def digits_scaled(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """UCI digits with pixels /16 in [0, 1]: 80/20 stratified train/test split."""
    x, y = load_digits()
    return train_val_split(x / np.float32(16), y, val_fraction=0.2, seed=seed)


def _train(
    name: str,
    model: nn.Module,
    data: tuple[np.ndarray, ...],
    *,
    lr: float,
    momentum: float,
    epochs: int,
    seed: int,
    clip_norm: float | None = None,
    every: int = 1,
) -> DemoRun:
    x_train, y_train, x_test, y_test = data
    loss_fn = nn.CrossEntropyLoss()
    monitor = GradientMonitor(every=every, verbose=False)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    # An exploding run overflows on purpose: NumPy's overflow warnings would only repeat that.
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            history = fit(
                model,
                loss_fn,
                optimizer,
                x_train,
                y_train,
                epochs=epochs,
                batch_size=32,
                seed=seed,
                callbacks=[monitor],
                clip_norm=clip_norm,
                verbose=0,
            )
        except ChainruleError as exc:  # the loss became NaN: the explosion we came to see
            monitor.finish(exc)
            return DemoRun(name, monitor, None, None, str(exc), clip_norm)
    accuracy = evaluate(model, loss_fn, x_test, y_test)["accuracy"]
    return DemoRun(name, monitor, accuracy, history, None, clip_norm)


def _normal_weights(model: nn.Module, std: float) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, std)
    return model


def demo_vanishing(
    seed: int = 0, depth: int = 8, width: int = 32, epochs: int = 10, verbose: bool = True
) -> list[DemoRun]:
    """A deep sigmoid MLP with small N(0, 0.1²) weights beside ReLU + He, same depth and data."""
    data = digits_scaled(seed)
    hidden = [width] * depth
    runs = []
    manual_seed(seed)
    sigmoid = _normal_weights(build_mlp(64, 10, hidden, activation="sigmoid"), 0.1)
    name = f"{depth} x sigmoid, N(0, 0.1²), lr 0.1"
    _say(verbose, f"training {name} for {epochs} epochs ...")
    runs.append(_train(name, sigmoid, data, lr=0.1, momentum=0.9, epochs=epochs, seed=seed))
    manual_seed(seed)
    relu = build_mlp(64, 10, hidden, activation="relu", init="he")
    name = f"{depth} x ReLU, He init, lr 0.01"
    _say(verbose, f"training {name} for {epochs} epochs ...")
    runs.append(_train(name, relu, data, lr=0.01, momentum=0.9, epochs=epochs, seed=seed))
    if verbose:
        _print_runs(runs)
    return runs


def demo_exploding(
    seed: int = 0, depth: int = 6, width: int = 64, epochs: int = 8, verbose: bool = True
) -> list[DemoRun]:
    """ReLU MLP with weights 1.5x He's scale and lr 0.1 with momentum 0.9: the gradient norm
    grows step over step until the loss is NaN; then the same network with gradient clipping at
    the threshold the monitor suggests."""
    data = digits_scaled(seed)
    hidden = [width] * depth
    std = 1.5 * math.sqrt(2 / width)  # He would be sqrt(2 / fan_in)
    settings = dict(lr=0.1, momentum=0.9, epochs=epochs, seed=seed)
    manual_seed(seed)
    model = _normal_weights(build_mlp(64, 10, hidden, activation="relu"), std)
    name = f"{depth} x ReLU, N(0, {std:.2f}²), lr 0.1"
    _say(verbose, f"training {name} for {epochs} epochs ...")
    wild = _train(name, model, data, **settings)  # type: ignore[arg-type]
    clip = suggest_clip_norm(wild.monitor.records)
    manual_seed(seed)
    model = _normal_weights(build_mlp(64, 10, hidden, activation="relu"), std)
    name = f"same, clip_norm={clip:g}"
    _say(verbose, f"training {name} (the monitor's suggestion) for {epochs} epochs ...")
    tamed = _train(name, model, data, clip_norm=clip, **settings)  # type: ignore[arg-type]
    runs = [wild, tamed]
    if verbose:
        _print_runs(runs, show_norms=8)
    return runs


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(text, flush=True)


def _print_runs(runs: list[DemoRun], show_norms: int = 0) -> None:
    for run in runs:
        print(f"\n== {run.name}")
        if show_norms:
            norms = [r["total_grad_norm"] for r in run.monitor.records[:show_norms]]
            print("gradient norm, first steps: " + " -> ".join(f"{n:.3g}" for n in norms))
        if run.error:
            print(f"fit() stopped: {run.error}")
        print(run.monitor.report() or "gradient flow: healthy (nothing to report)")
    print()
    print(summary_table(runs))


def summary_table(runs: list[DemoRun]) -> str:
    """The comparison table: per-layer gradient RMS of the first and last layer, the largest
    total gradient norm, the diagnosis and the test accuracy of each run."""
    from tabulate import tabulate

    return tabulate([run.summary() for run in runs], headers="keys", disable_numparse=True)
