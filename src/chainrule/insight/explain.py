"""The worked example behind ``chainrule explain``, and the same tables for a trained model.

Worked example: two inputs → three neurons (sigmoid, tanh or ReLU) → one linear output neuron,
a target and the loss L = (y - t)²: forward tables, the loss, backward tables, and every weight
before and after one gradient-descent step, all read from the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..errors import ChainruleError
from ..models import ACTIVATIONS
from ..random import numpy_generator
from ..tensor import Tensor, no_grad
from .layout import fit_table, wrap
from .tables import Tracer, factor, summarise_vector

WORKED_INPUT = (1.0, 0.5)
WORKED_TARGET = 1.0


@dataclass
class Explanation:
    """What the explanation printed, as data: tables per layer, loss, weights before/after."""

    sections: list[str] = field(default_factory=list)
    forward: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    backward: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    loss: float = float("nan")
    loss_after: float | None = None
    step: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.sections.extend(lines)

    def __str__(self) -> str:
        return "\n".join(self.sections)


def worked_model(activation: str = "sigmoid", seed: int = 0) -> nn.Sequential:
    """2 → 3 (activation) → 1 with weights and biases drawn from U(-1, 1) and rounded to two
    decimals, so that every product in the tables can be followed by hand."""
    if activation not in ACTIVATIONS:
        raise ChainruleError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    rng = numpy_generator(seed)
    model = nn.Sequential(nn.Linear(2, 3), ACTIVATIONS[activation](), nn.Linear(3, 1))
    for layer in (model[0], model[2]):
        layer.weight.array[...] = np.round(rng.uniform(-1, 1, layer.weight.shape), 2)
        layer.bias.array[...] = np.round(rng.uniform(-0.5, 0.5, layer.bias.shape), 2)
    return model


def _n(value: float) -> str:
    return f"{value:.4g}"


def explain_worked_example(
    activation: str = "sigmoid", lr: float = 0.1, seed: int = 0
) -> Explanation:
    """Forward, loss, backward and one SGD step on the 2-3-1 network, with the engine's numbers."""
    model = worked_model(activation, seed)
    x = np.array([WORKED_INPUT], dtype=np.float32)
    target = np.array([[WORKED_TARGET]], dtype=np.float32)
    out = Explanation()
    out.add(
        f"Network: 2 inputs -> 3 {activation} neurons (layer '0') -> 1 linear output neuron "
        "(layer '2')",
        "loss L = (y - t)²",
        f"input x = [{', '.join(_n(v) for v in WORKED_INPUT)}], target t = {_n(WORKED_TARGET)}, "
        f"learning rate {lr:g}, seed {seed}",
        "",
    )
    with Tracer(model) as tracer:
        y = model(Tensor(x))
        loss = F.mse_loss(y, target)
        model.zero_grad()
        loss.backward()
    prediction = float(y.array[0, 0])
    out.loss = loss.item()
    out.forward = {name: tracer.forward_rows(name) for name in tracer.names}
    out.backward = {name: tracer.backward_rows(name) for name in tracer.names}
    out.add(
        f"FORWARD: each neuron computes z = w·x + b, then a = {activation}(z)",
        "",
        f"hidden layer '0' (a = {activation}(z)):",
        tracer.forward_table("0"),
        "",
        "output layer '2' (y = z, no activation); its inputs are the hidden activations:",
        tracer.forward_table("2"),
        "",
        f"LOSS: L = (y - t)² = ({_n(prediction)} - {_n(WORKED_TARGET)})² = {_n(out.loss)}",
        "",
        "BACKWARD: the chain rule, from the loss back to every weight",
        f"dL/dy = 2(y - t) = 2·({_n(prediction)} - {_n(WORKED_TARGET)}) = "
        f"{_n(float(out.backward['2'][0]['dL/da']))}",
        "",
        "output layer '2':",
        tracer.backward_table("2"),
        "",
        "hidden layer '0': dL/da_j = Σ_k dL/dz_k · W[k, j], summed over the output neurons k:",
        _upstream_lines(model[2].weight.array, out.backward["2"], out.backward["0"]),
        tracer.backward_table("0"),
        "",
    )
    before = {name: p.array.copy() for name, p in model.named_parameters()}
    grads = {
        name: p.grad.array.copy() for name, p in model.named_parameters() if p.grad is not None
    }
    optim.SGD(model.parameters(), lr=lr).step()
    rows: list[dict[str, Any]] = []
    for name, p in model.named_parameters():
        for index in np.ndindex(p.shape):
            w, g = float(before[name][index]), float(grads[name][index])
            new = float(p.array[index])
            label = f"{name}[{', '.join(map(str, index))}]"
            written = f"{_n(w)} - {lr:g}·{factor(g)} = {_n(new)}"
            rows.append({"parameter": label, "before": w, "dL/dw": g, "after": new,
                         "w - lr·dL/dw": written})  # fmt: skip
    out.step = rows
    with no_grad():
        out.loss_after = F.mse_loss(model(Tensor(x)), target).item()
    out.add(
        f"ONE GRADIENT-DESCENT STEP: w <- w - lr·dL/dw with lr = {lr:g} (optim.SGD.step())",
        fit_table(
            [[r["parameter"], _n(r["before"]), _n(r["dL/dw"]), r["w - lr·dL/dw"]] for r in rows],
            headers=["parameter", "before", "dL/dw", "after = w - lr·dL/dw"],
            disable_numparse=True,
        ),
        "",
        f"loss before the step {_n(out.loss)}, after {_n(out.loss_after)}",
    )
    return out


def _upstream_lines(
    weight: np.ndarray, output_rows: list[dict[str, Any]], hidden_rows: list[dict[str, Any]]
) -> str:
    lines = []
    grad_z = {row["neuron"]: row["dL/dz"] for row in output_rows}
    for row in hidden_rows:
        j = row["neuron"]
        terms = " + ".join(f"{factor(grad_z[k])}·{factor(weight[k, j])}" for k in sorted(grad_z))
        lines.append(f"  neuron {j}: dL/da = {terms} = {_n(row['dL/da'])}")
    return "\n".join(lines)


def _layers_with_weights_not_linear(model: nn.Module) -> list[str]:
    """The leaf layers with parameters that the neuron tables leave out (all but Linear)."""
    return [
        f"'{name}' ({type(m).__name__})"
        for name, m in model.named_modules()
        if name
        and not m._modules
        and any(True for _ in m.parameters())
        and not isinstance(m, nn.Linear)
    ]


def explain_model(
    model: nn.Module,
    x: np.ndarray,
    label: int,
    loss_fn: nn.Module,
    top: int = 10,
    title: str = "",
) -> Explanation:
    """Forward and backward tables for the first and the last Linear layer of a trained model on
    one sample; large layers show their ``top`` neurons by |activation| and a summary of the input.
    """
    from ..train.fit import loss_target
    from ..train.metrics import predict_classes

    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ChainruleError("the model has no Linear layer to explain")
    first, last = linears[0], linears[-1]
    chosen = [first] if first == last else [first, last]
    model.eval()  # dropout off; the graph is still recorded
    out = Explanation()
    with Tracer(model, chosen) as tracer:
        output = model(Tensor(np.asarray(x, dtype=np.float32)[None]))
        loss = loss_fn(output, loss_target(np.array([label]), output, loss_fn))
        model.zero_grad()
        loss.backward()
    predicted = predict_classes(output.array, loss_fn)
    out.loss = loss.item()
    guess = "" if predicted is None else f", predicted {int(predicted[0])}"
    out.add(
        f"{title}label {label}{guess}, loss {_n(out.loss)}",
        f"input: {summarise_vector(np.asarray(x).reshape(-1))}",
        "",
    )
    skipped = _layers_with_weights_not_linear(model)
    if skipped:
        shown_names = " and ".join(f"'{n}'" for n in chosen)
        more = f" and {len(skipped) - 6} more" if len(skipped) > 6 else ""
        out.add(
            wrap(
                f"shown: the Linear layer{'s' if len(chosen) > 1 else ''} {shown_names}, whose "
                f"neurons each compute z = w·x + b. Not shown: {', '.join(skipped[:6])}{more}: "
                "their weights are shared across positions (a convolution's kernel) or act on "
                "whole channels (a normalisation), so a table of one row per neuron cannot hold "
                "them; chainrule.insight.graph draws every op that backward walks."
            ),
            "",
        )
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        out.add(
            "cross-entropy after softmax: at the output, dL/dz_k = p_k - [k = label], "
            "with p = softmax(z)",
            "",
        )
    for name in chosen:
        layer = dict(model.named_modules())[name]
        role = "first Linear layer" if name == first else "output layer"
        shown = min(top, layer.out_features)
        what = "all" if shown == layer.out_features else f"top {shown} by |a|, of"
        activation = tracer.activation(name)
        out.forward[name] = tracer.forward_rows(name, top=top)
        out.backward[name] = tracer.backward_rows(name, top=top)
        out.add(
            f"{role} '{name}' ({layer.in_features} -> {layer.out_features}, {activation}; "
            f"{what} {layer.out_features} neurons) FORWARD:",
            tracer.forward_table(name, top=top),
            "",
            f"{role} '{name}' BACKWARD:",
            tracer.backward_table(name, top=top),
            "",
        )
    return out
