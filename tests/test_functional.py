"""Losses: stability at extreme logits, reductions, targets, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule.errors import DataError, ShapeError


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_and_right_at_extreme_logits(dtype: type) -> None:
    logits = cr.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], True, dtype)
    loss = F.cross_entropy(logits, np.array([1, 2]), reduction="none")
    # Row 0: the right class is 2000 below the best: loss = 2000. Row 1: 1000 - 999 + log(1+e^-1).
    np.testing.assert_allclose(loss.numpy(), [2000.0, 1 + np.log1p(np.exp(-1.0))], rtol=1e-6)
    loss.sum().backward()
    expected = np.array(
        [[1.0, -1.0, 0.0], [0.0, 1 / (1 + np.exp(-1.0)) - 0.0, 0.0]], dtype=np.float64
    )
    expected[1] = [0.0, 1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0)) - 1]
    assert np.isfinite(logits.grad).all()
    np.testing.assert_allclose(logits.grad, expected, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_finite_at_extreme_logits(dtype: type) -> None:
    logits = cr.tensor([1000.0, -1000.0, 1000.0, -1000.0], True, dtype)
    target = np.array([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad, [0.0, 0.0, 1.0, -1.0])


def test_bce_on_probabilities_clamps_logs_at_minus_100() -> None:
    p = cr.tensor([0.0, 1.0, 0.5], requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(p.grad).all()


def test_sigmoid_and_softmax_do_not_overflow() -> None:
    x = cr.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    np.testing.assert_allclose(F.sigmoid(x).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(F.softmax(x).numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(F.log_softmax(x).numpy(), [-2000.0, -1000.0, 0.0])


def test_cross_entropy_with_one_hot_equals_labels() -> None:
    logits = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    hard = F.cross_entropy(cr.tensor(logits), labels)
    soft = F.cross_entropy(cr.tensor(logits), np.eye(4, dtype=np.float32)[labels])
    assert hard.item() == pytest.approx(soft.item(), rel=1e-6)


def test_reductions() -> None:
    p = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    t = np.zeros((2, 2))
    assert F.mse_loss(p, t).item() == pytest.approx(7.5)
    assert F.mse_loss(p, t, reduction="sum").item() == pytest.approx(30.0)
    assert F.mse_loss(p, t, reduction="none").shape == (2, 2)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(p, t, reduction="avg")  # type: ignore[arg-type]


def test_label_out_of_range_names_row_and_value() -> None:
    logits = cr.tensor(np.zeros((3, 10)))
    with pytest.raises(DataError, match=r"label 10 at row 2 is out of range for 10 classes"):
        F.cross_entropy(logits, np.array([1, 2, 10]))
    with pytest.raises(DataError, match="must be integers"):
        F.cross_entropy(logits, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ShapeError, match="need 3 class labels"):
        F.cross_entropy(logits, np.array([1, 2]))


def test_wrong_input_width_names_layer_and_shapes() -> None:
    layer = cr.nn.Linear(784, 512)
    with pytest.raises(ShapeError) as info:
        layer(cr.tensor(np.zeros((128, 785))))
    assert str(info.value) == "Linear(784 -> 512) expects input (*, 784), got (128, 785)"


def test_dropout_scales_and_is_off_in_eval() -> None:
    x = cr.tensor(np.ones((200, 50)))
    y = F.dropout(x, 0.5, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6
    assert F.dropout(x, 0.5, training=False) is x


def test_cross_entropy_fast_path_still_honours_an_in_range_ignore_index() -> None:
    logits = cr.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, -1.0, 0.0]])
    labels = cr.tensor([0, 1, 2])
    kept = F.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    np.testing.assert_allclose(F.cross_entropy(logits, labels, ignore_index=1).item(), kept.item())
