"""The doctor names overfitting and underfitting on runs built for them, and is quiet otherwise."""

from __future__ import annotations

import math

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.insight import Doctor, diagnose_history, doctor_report
from chainrule.insight.demos import digits_scaled
from chainrule.models import build_mlp
from chainrule.train import fit

DATA = digits_scaled(0)


def train(hidden: list[int], lr: float, epochs: int, samples: int | None = None) -> Doctor:
    x_train, y_train, x_test, y_test = DATA
    chainrule.manual_seed(0)
    model = build_mlp(64, 10, hidden)
    doctor = Doctor(verbose=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr, momentum=0.9),
        x_train[:samples], y_train[:samples], epochs=epochs, batch_size=32,
        validation_data=(x_test, y_test), seed=0, callbacks=[doctor], verbose=0)  # fmt: skip
    return doctor


def test_overfitting_named_with_turning_epoch() -> None:
    doctor = train([256, 256], lr=0.1, epochs=60, samples=200)
    assert [f.kind for f in doctor.findings] == ["overfitting"]
    message = doctor.findings[0].message
    assert "verfitting from epoch" in message
    turn = int(message.split("from epoch ")[1].split(":")[0])
    assert 2 <= turn < 50
    assert f"stop at epoch {turn}" in doctor.findings[0].remedy
    assert "--weight-decay" in doctor.findings[0].remedy


def test_underfitting_named() -> None:
    doctor = train([2], lr=0.05, epochs=15)
    assert [f.kind for f in doctor.findings] == ["underfitting"]
    assert "capacity" in str(doctor.findings[0]) or "epochs" in str(doctor.findings[0])


def test_quiet_on_healthy_run() -> None:
    doctor = train([64], lr=0.05, epochs=8)
    assert doctor.findings == []


def _history(losses: list[float], **columns: list[float]) -> list[dict]:
    rows = [{"epoch": i + 1, "loss": v, "lr": 0.1} for i, v in enumerate(losses)]
    for key, values in columns.items():
        for row, value in zip(rows, values, strict=True):
            row[key] = value
    return rows


def test_learning_rate_problems() -> None:
    diverging = _history([2.0, 1.0, 1.5, 3.0, 6.0])
    finding = diagnose_history(diverging)[0]
    assert finding.kind == "diverging" and "--lr 0.01" in finding.remedy
    assert diagnose_history(_history([2.0, math.nan]))[0].kind == "diverging"
    oscillating = _history([2.0, 1.2, 1.6, 1.1, 1.5, 1.0, 1.4, 1.0])
    assert diagnose_history(oscillating)[0].kind == "oscillating"
    flat = _history([2.30, 2.29, 2.29, 2.28], accuracy=[0.1, 0.11, 0.11, 0.12])
    finding = diagnose_history(flat)[0]
    assert finding.kind == "lr_too_low" and "--lr 1" in finding.remedy


def test_report_text_and_columns() -> None:
    healthy = _history([1.0, 0.5, 0.3], accuracy=[0.8, 0.95, 0.97])
    assert doctor_report(healthy).startswith("doctor: looks healthy")
    columns = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.2, 0.21, 0.21]}
    assert diagnose_history(columns)[0].kind == "underfitting"
    assert np.isclose(len(diagnose_history([])), 0)
