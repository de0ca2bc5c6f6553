"""The tables' numbers are the engine's: z = w·x + b, a = f(z), dL/dz = dL/da·f'(z), .grad."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import functional as F
from chainrule import nn
from chainrule.insight import Tracer, trace_layer
from chainrule.insight.explain import explain_model, explain_worked_example

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_tables_equal_the_engine(activation: str, rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Linear(3, 4), ACTIVATIONS[activation](), nn.Linear(4, 2))
    x = rng.standard_normal((1, 3)).astype(np.float32)
    target = rng.standard_normal((1, 2)).astype(np.float32)
    with Tracer(model) as tracer:
        out = model(chainrule.tensor(x))
        loss = F.mse_loss(out, target)
        loss.backward()
    layer, head = model[0], model[2]
    forward, backward = tracer.forward_rows("0"), tracer.backward_rows("0")
    assert [r["neuron"] for r in forward] == [0, 1, 2, 3]
    w, b = layer.weight.numpy(), layer.bias.numpy()
    z = x[0] @ w.T + b
    a = {"sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z), "relu": np.maximum(z, 0)}[activation]
    for j, row in enumerate(forward):
        assert row["inputs"] == pytest.approx(x[0].tolist())
        assert row["weights"] == w[j].tolist() and row["bias"] == float(b[j])
        assert row["z"] == pytest.approx(float(z[j]), rel=1e-5, abs=1e-6)
        assert row["a"] == pytest.approx(float(a[j]), rel=1e-5, abs=1e-6)
    # The output layer's inputs are the hidden activations, and its a is z (no activation).
    hidden = np.array([r["a"] for r in forward])
    for k, row in enumerate(tracer.forward_rows("2")):
        assert row["inputs"] == pytest.approx(hidden.tolist())
        assert row["a"] == row["z"] == pytest.approx(float(out.numpy()[0, k]))
    # Backward: dL/dw and dL/db are the layer's .grad; the chain rule holds row by row.
    grad_hidden = 2 * (out.numpy()[0] - target[0]) / 2 @ head.weight.numpy()  # dL/da by hand
    for j, row in enumerate(backward):
        assert row["dL/dw"] == layer.weight.grad[j].tolist()
        assert row["dL/db"] == float(layer.bias.grad[j])
        assert row["dL/da"] == pytest.approx(float(grad_hidden[j]), rel=1e-5, abs=1e-7)
        assert row["dL/dz"] == pytest.approx(row["dL/da"] * row["f'(z)"], rel=1e-5, abs=1e-9)
        assert np.allclose(row["dL/dw"], row["dL/dz"] * x[0], rtol=1e-5, atol=1e-9)
        assert row["dL/db"] == pytest.approx(row["dL/dz"], rel=1e-6, abs=1e-9)
    for k, row in enumerate(tracer.backward_rows("2")):
        assert row["f'(z)"] == 1.0 and row["dL/da"] == row["dL/dz"]
        assert row["dL/dw"] == head.weight.grad[k].tolist()
    text = tracer.forward_table("0") + tracer.backward_table("0")
    assert "z = w·x + b" in text and "dL/dz = dL/da · f'(z)" in text


def test_trace_layer_and_top_neurons(rng: np.random.Generator) -> None:
    layer = nn.Linear(50, 30)
    x = rng.random(50).astype(np.float32)
    tracer = trace_layer(layer, x, "relu")
    rows = tracer.forward_rows(top=10)
    assert len(rows) == 10
    magnitudes = [abs(r["a"]) for r in rows]
    assert magnitudes == sorted(magnitudes, reverse=True)
    z = x @ layer.weight.numpy().T + layer.bias.numpy()
    assert magnitudes[0] == pytest.approx(float(np.max(np.maximum(z, 0))))
    table = tracer.forward_table(top=10)
    assert table.startswith("inputs x: 50 values") and len(table.splitlines()) == 13
    # L = Σ a: dL/da = 1, so dL/dw of a live unit is x itself.
    live = next(r for r in tracer.backward_rows(top=10) if r["f'(z)"] == 1)
    assert np.allclose(live["dL/dw"], x)


def test_worked_example_step_is_sgd() -> None:
    result = explain_worked_example("sigmoid", lr=0.1, seed=0)
    text = str(result)
    for heading in ("FORWARD", "LOSS", "BACKWARD", "ONE GRADIENT-DESCENT STEP"):
        assert heading in text
    for row in result.step:
        assert row["after"] == pytest.approx(row["before"] - 0.1 * row["dL/dw"], rel=1e-5)
    assert len(result.step) == 3 * 2 + 3 + 3 + 1
    assert result.loss_after is not None and result.loss_after < result.loss


def test_explain_model_large_layers(rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x = rng.random((1, 8, 8)).astype(np.float32)
    result = explain_model(model, x, 3, nn.CrossEntropyLoss(), top=5)
    assert set(result.forward) == {"1", "3"}
    assert len(result.forward["1"]) == 5 and len(result.forward["3"]) == 5
    text = str(result)
    assert "label 3" in text and "64 values" in text
