"""gradcheck of whole architectures: passes on the real ops, fails on a planted wrong backward."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn, ops
from chainrule.cli import main
from chainrule.insight import checks
from chainrule.tensor import Tensor, apply


class _WrongSquare(ops.Function):
    """z = a²; the planted error: dz/da = a instead of 2a."""

    @staticmethod
    def forward(ctx: ops.Context, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx: ops.Context, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * ctx.saved[0]


class _WrongSquareLayer(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return apply(_WrongSquare, x)


def _planted() -> checks.Architecture:
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(8, 16), _WrongSquareLayer(), nn.Linear(16, 10))

    return checks.Architecture("planted wrong backward", build, (8,), 10)


def test_builtin_architectures_pass() -> None:
    results = checks.check_all(samples=2)
    names = [arch.name for arch, _ in results]
    assert {"MLP 8-16-10 relu", "MLP 8-16-10 sigmoid", "MLP 8-16-10 tanh"} <= set(names)
    for arch, result in results:
        assert result.passed, (arch.name, str(result))
        assert "1.weight" in result.errors and "input" in result.errors


def test_planted_error_fails() -> None:
    result = checks.check_architecture(_planted(), samples=2)
    assert not result.passed
    assert result.errors["0.weight"] > 0.1  # every gradient below the square is halved


def test_cli_gradcheck_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gradcheck", "--samples", "2"]) == 0
    printed = capsys.readouterr().out
    assert "max relative error" in printed and "verdict" in printed
    assert "gradcheck passed for all" in printed
    real = checks.builtin_architectures
    monkeypatch.setattr(checks, "builtin_architectures", lambda: [*real(), _planted()])
    assert main(["gradcheck", "--samples", "2"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed and "gradcheck FAILED for planted wrong backward" in printed


def test_cnn_checked_when_present() -> None:
    from chainrule import models

    if getattr(models, "build_cnn", None) is None:
        pytest.skip("models.build_cnn is not in this tree")
    names = [arch.name for arch in checks.builtin_architectures()]
    assert any(name.startswith("CNN") for name in names)
