"""GradientMonitor: vanishing on deep sigmoid and not on ReLU/He; exploding and not after clipping;
dead ReLUs measured exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.insight import GradientMonitor, dead_fraction, saturated_fraction
from chainrule.insight.demos import demo_exploding, demo_vanishing
from chainrule.train import fit


def kinds(monitor: GradientMonitor) -> set[str]:
    return {f.kind for f in monitor.diagnosis}


@pytest.fixture(scope="module")
def vanishing_runs() -> list:
    return demo_vanishing(epochs=4, verbose=False)


@pytest.fixture(scope="module")
def exploding_runs() -> list:
    return demo_exploding(epochs=3, verbose=False)


def test_vanishing_on_deep_sigmoid_not_on_relu_he(vanishing_runs: list) -> None:
    sigmoid, relu = vanishing_runs
    assert "vanishing_gradients" in kinds(sigmoid.monitor)
    assert "vanishing_gradients" not in kinds(relu.monitor)
    assert kinds(relu.monitor) == set()
    rms = sigmoid.monitor.layer_rms()
    first, last = rms[sigmoid.monitor.weight_names()[0]], rms[sigmoid.monitor.weight_names()[-1]]
    assert last / first > 1e3
    assert relu.test_accuracy is not None and relu.test_accuracy > 0.8
    assert sigmoid.test_accuracy is not None and sigmoid.test_accuracy < relu.test_accuracy
    message = next(f for f in sigmoid.diagnosis if f.kind == "vanishing_gradients")
    assert "ReLU" in message.remedy and "He" in message.remedy


def test_exploding_then_clipped(exploding_runs: list) -> None:
    wild, tamed = exploding_runs
    assert "exploding_gradients" in kinds(wild.monitor) and wild.error is not None
    finding = next(f for f in wild.diagnosis if f.kind == "exploding_gradients")
    assert f"--clip-norm {tamed.clip_norm:g}" in finding.remedy
    assert tamed.clip_norm is not None and tamed.error is None
    assert "exploding_gradients" not in kinds(tamed.monitor)
    assert tamed.test_accuracy is not None and tamed.test_accuracy > 0.8


def test_growth_without_nan_is_exploding() -> None:
    from chainrule.insight import diagnose_records

    records = [
        {"epoch": 1, "step": i + 1, "total_grad_norm": 2.0 * 3**i, "parameters": {},
         "activations": {}}
        for i in range(8)
    ]  # fmt: skip
    assert [f.kind for f in diagnose_records(records, [])] == ["exploding_gradients"]
    steady = [dict(r, total_grad_norm=2.0 + 0.1 * i) for i, r in enumerate(records)]
    assert diagnose_records(steady, []) == []


def test_dead_relu_fraction_is_exactly_one(rng: np.random.Generator) -> None:
    layer = nn.Linear(4, 6)
    layer.bias.numpy()[...] = -100.0
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(6, 3))
    x = rng.random((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    monitor = GradientMonitor(every=1, verbose=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=2,
        batch_size=16, callbacks=[monitor], verbose=0)  # fmt: skip
    values = [r["activations"]["1"]["dead_fraction"] for r in monitor.records]
    assert len(values) == 8 and all(v == 1.0 for v in values)
    assert "dead_relu" in kinds(monitor)
    assert "'1' 100%" in next(f.message for f in monitor.diagnosis if f.kind == "dead_relu")


def test_fractions() -> None:
    out = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    assert dead_fraction(out) == pytest.approx(1 / 3)
    assert saturated_fraction(np.array([0.005, 0.5, 0.995, 0.6]), "sigmoid") == 0.5
    assert saturated_fraction(np.array([-0.995, 0.0]), "tanh") == 0.5
    images = np.zeros((2, 3, 4, 4))
    images[1, 0, 2, 2] = 1.0  # channel 0 fires once: only channels 1 and 2 are dead
    assert dead_fraction(images) == pytest.approx(2 / 3)


def test_records_sampling_and_json(rng: np.random.Generator) -> None:
    model = nn.Sequential(nn.Linear(5, 8), nn.Sigmoid(), nn.Linear(8, 2))
    x = rng.standard_normal((40, 5)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    monitor = GradientMonitor(every=3, verbose=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=2,
        batch_size=4, validation_data=(x, y), callbacks=[monitor], verbose=0)  # fmt: skip
    steps = [r["step"] for r in monitor.records]
    assert steps == [1, 4, 7, 10, 11, 13, 16, 19]  # every 3rd, and each epoch's first step
    record = monitor.records[0]
    assert set(record["parameters"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    stats = record["parameters"]["0.weight"]
    assert stats["grad_rms"] == pytest.approx(stats["grad_norm"] / np.sqrt(40))
    assert 0 < stats["update_ratio"] < 1
    assert record["activations"]["1"]["kind"] == "sigmoid"
    assert [e["epoch"] for e in monitor.epochs] == [1, 2]
    data = json.loads(json.dumps(monitor.to_dict(), allow_nan=False))
    assert data["weights"] == ["0.weight", "2.weight"] and len(data["records"]) == 8
