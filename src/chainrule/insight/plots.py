"""Plots as PNG files: training curves and gradient flow per layer (optional extra ``plot``).

matplotlib is imported only here and only when a plot is drawn. Figures are drawn on the Agg
canvas directly (no pyplot), so nothing opens a window or changes a global backend, and each file
is written atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ..errors import ChainruleError
from ..fileio import atomic_write_bytes

TRAINING_CURVES = "training_curves.png"
GRADIENT_FLOW = "gradient_flow.png"


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib() -> None:
    """Raise a one-line ChainruleError when matplotlib is not installed."""
    if not matplotlib_available():
        raise ChainruleError(
            "plots need matplotlib, which is not installed: pip install 'chainrule[plot]'"
        )


def _figure(rows: int, width: float = 8.0, height: float = 3.2) -> Any:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height * rows), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def _epochs(history: Any) -> list[dict[str, Any]]:
    return list(history.epochs) if hasattr(history, "epochs") else list(history)


def plot_training_curves(history: Any, path: str | Path) -> Path:
    """Loss and accuracy per epoch, training beside validation, in one PNG.

    Args:
        history: fit()'s History or metrics.json's "history" list.
        path: the PNG to write.
    """
    epochs = _epochs(history)
    if not epochs:
        raise ChainruleError("no epochs to plot")
    x = [e["epoch"] for e in epochs]
    has_accuracy = any(e.get("accuracy") is not None for e in epochs)
    figure = _figure(1, width=11 if has_accuracy else 6, height=3.8)
    axes = figure.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
    panels = [("loss", "loss")] + ([("accuracy", "accuracy")] if has_accuracy else [])
    for ax, (key, label) in zip(axes, panels, strict=True):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            values = [e.get(prefix + key) for e in epochs]
            if all(v is not None for v in values):
                name = "validation" if prefix else "training"
                ax.plot(x, values, style, markersize=3, label=f"{name} {label}")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title("loss per epoch")
    if has_accuracy:
        axes[1].set_title("accuracy per epoch")
    return _save(figure, path)


def plot_gradient_flow(gradient_flow: Any, path: str | Path) -> Path:
    """Gradient RMS per weight layer over training (log scale), update/weight ratio per layer,
    and dead/saturated fractions per activation layer.

    Args:
        gradient_flow: a GradientMonitor or its ``to_dict()`` (metrics.json's "gradient_flow").
        path: the PNG to write.
    """
    data = gradient_flow.to_dict() if hasattr(gradient_flow, "to_dict") else gradient_flow
    records = data.get("records") or []
    if not records:
        raise ChainruleError("no gradient-flow records to plot (was the run --monitor'ed?)")
    weights = data.get("weights") or [n for n in records[0]["parameters"] if n.endswith("weight")]
    activations = sorted({n for r in records for n in r.get("activations", {})}, key=_natural)
    rows = 3 if activations else 2
    figure = _figure(rows)
    axes = figure.subplots(rows, 1, sharex=True)
    steps = [r["step"] for r in records]
    colours = _colours(len(weights))
    for colour, name in zip(colours, weights, strict=True):
        for ax, key in ((axes[0], "grad_rms"), (axes[1], "update_ratio")):
            values = [_positive(r["parameters"].get(name, {}).get(key)) for r in records]
            ax.plot(steps, values, color=colour, label=name, linewidth=1.2)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("gradient RMS per weight")
    axes[0].set_title("gradient flow per layer (first layer darkest)")
    axes[0].legend(fontsize=7, ncol=max(1, math.ceil(len(weights) / 6)))
    axes[1].set_yscale("log")
    axes[1].set_ylabel("update / weight")
    axes[1].axhline(1e-3, color="grey", linestyle=":", linewidth=1)
    if activations:
        colours = _colours(len(activations))
        for colour, name in zip(colours, activations, strict=True):
            kind, values = "", []
            for r in records:
                entry = r.get("activations", {}).get(name)
                if entry is None:
                    values.append(math.nan)
                    continue
                kind = entry["kind"]
                values.append(entry.get("dead_fraction", entry.get("saturated_fraction")))
            what = "dead" if kind == "relu" else "saturated"
            axes[2].plot(steps, values, color=colour, label=f"{name} {kind} {what}")
        axes[2].set_ylim(-0.02, 1.02)
        axes[2].set_ylabel("fraction of units")
        axes[2].legend(fontsize=7, ncol=max(1, math.ceil(len(activations) / 6)))
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("training step")
    return _save(figure, path)


def plot_gradient_over_time(
    curves: dict[str, dict[str, Any]], path: str | Path, title: str | None = None
) -> Path:
    """Gradient norm reaching each time step (log scale): one colour per network, one line
    style per phase (the first phase dashed, the second solid: 'init' beside 'trained').

    Args:
        curves: {network: {phase: per-step norms, step 1 first}}, e.g.
            {"plain RNN": {"init": [...], "trained": [...]}, "LSTM": {...}}.
        path: the PNG to write.
        title: the figure's title.
    """
    if not curves or not any(len(v) for phases in curves.values() for v in phases.values()):
        raise ChainruleError("no per-step gradient norms to plot")
    figure = _figure(1, width=8.0, height=4.2)
    ax = figure.subplots()
    styles = ["--", "-", ":", "-."]
    colours = ["tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"]
    for i, (network, phases) in enumerate(curves.items()):
        for j, (phase, norms) in enumerate(phases.items()):
            values = [_positive(v) for v in norms]
            ax.plot(
                range(1, len(values) + 1),
                values,
                styles[j % len(styles)],
                color=colours[i % len(colours)],
                linewidth=1.5,
                label=f"{network}, {phase}",
            )
    ax.set_yscale("log")
    ax.set_xlabel("time step t (the label is decided by step 1)")
    ax.set_ylabel("‖∂L/∂x_t‖, batch mean")
    ax.set_title(title or "gradient reaching each time step")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _save(figure, path)


def write_plots(out_dir: str | Path, history: Any, gradient_flow: Any = None) -> list[Path]:
    """training_curves.png (and gradient_flow.png when there are records) in out_dir."""
    folder = Path(out_dir)
    written = [plot_training_curves(history, folder / TRAINING_CURVES)]
    data = gradient_flow.to_dict() if hasattr(gradient_flow, "to_dict") else gradient_flow
    if data and data.get("records"):
        written.append(plot_gradient_flow(data, folder / GRADIENT_FLOW))
    return written


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(n - 1, 1)) for i in range(n)]


def _positive(value: Any) -> float:
    return float(value) if value is not None and value > 0 else math.nan


def _natural(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))
