"""Optimisers against their update rules and PyTorch; clipping; schedules; state_dict."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, NonFiniteError


def quadratic_steps(opt_factory, steps: int = 5) -> np.ndarray:  # type: ignore[no-untyped-def]
    w = nn.Parameter(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    opt = opt_factory([w])
    for _ in range(steps):
        opt.zero_grad()
        ((w * w).sum() + w.sum()).backward()
        opt.step()
    return w.numpy().copy()


def test_plain_sgd_is_gradient_descent() -> None:
    w = quadratic_steps(lambda p: optim.SGD(p, lr=0.1), steps=1)
    start = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(w, start - 0.1 * (2 * start + 1), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.1, momentum=0.9, nesterov=True),
        dict(lr=0.05, momentum=0.5, weight_decay=0.01),
    ],
)
def test_sgd_matches_pytorch(kwargs: dict) -> None:  # type: ignore[type-arg]
    torch = pytest.importorskip("torch")
    ours = quadratic_steps(lambda p: optim.SGD(p, **kwargs))
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = torch.optim.SGD([w], **kwargs)
    for _ in range(5):
        opt.zero_grad()
        ((w * w).sum() + w.sum()).backward()
        opt.step()
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.01, weight_decay=0.1)])
def test_adam_matches_pytorch(kwargs: dict) -> None:  # type: ignore[type-arg]
    torch = pytest.importorskip("torch")
    ours = quadratic_steps(lambda p: optim.Adam(p, **kwargs))
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = torch.optim.Adam([w], **kwargs)
    for _ in range(5):
        opt.zero_grad()
        ((w * w).sum() + w.sum()).backward()
        opt.step()
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-5)


def test_l1_option_equals_l1_penalty_in_loss() -> None:
    w1 = nn.Parameter(np.array([0.5, -0.5], dtype=np.float32))
    w2 = nn.Parameter(np.array([0.5, -0.5], dtype=np.float32))
    o1, o2 = optim.SGD([w1], lr=0.1, l1=0.2), optim.SGD([w2], lr=0.1)
    (w1 * w1).sum().backward()
    ((w2 * w2).sum() + cr.functional.l1_penalty([w2], 0.2)).backward()
    o1.step()
    o2.step()
    np.testing.assert_allclose(w1.numpy(), w2.numpy())


def test_updates_are_in_place_and_float32() -> None:
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    buffer = w.numpy()
    opt = optim.Adam([w], lr=0.1)
    (w * 2).sum().backward()
    opt.step()
    assert w.numpy() is buffer and w.numpy().dtype == np.float32


def test_bad_hyperparameters_are_named() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ConfigError, match="momentum"):
        optim.SGD([w], lr=0.1, momentum=1.5)


def test_clip_grad_norm() -> None:
    a = nn.Parameter(np.zeros(2, dtype=np.float32))
    b = nn.Parameter(np.zeros(1, dtype=np.float32))
    a.grad = np.array([3.0, 0.0], dtype=np.float32)
    b.grad = np.array([4.0], dtype=np.float32)
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    assert math.hypot(*a.grad, *b.grad) == pytest.approx(1.0, rel=1e-5)
    assert a.grad.dtype == np.float32


def test_clip_grad_norm_non_finite() -> None:
    a = nn.Parameter(np.zeros(2, dtype=np.float32))
    a.grad = np.array([np.inf, 1.0], dtype=np.float32)
    assert optim.clip_grad_norm_([a], 1.0) == math.inf
    assert a.grad[1] == 1.0  # untouched: scaling by 1/inf would zero it silently
    with pytest.raises(NonFiniteError, match="NaN or infinite"):
        optim.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_clip_grad_value() -> None:
    a = nn.Parameter(np.zeros(3, dtype=np.float32))
    a.grad = np.array([-5.0, 0.5, 5.0], dtype=np.float32)
    optim.clip_grad_value_([a], 1.0)
    np.testing.assert_array_equal(a.grad, [-1.0, 0.5, 1.0])


def test_step_lr_and_plateau() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    opt = optim.SGD([w], lr=1.0)
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt2 = optim.SGD([w], lr=1.0)
    plateau = optim.ReduceLROnPlateau(opt2, patience=1, factor=0.5)
    for loss in [1.0, 0.9, 0.9, 0.9, 0.9]:
        plateau.step(loss)
    assert opt2.param_groups[0]["lr"] == 0.5


def test_optimizer_state_dict_round_trip() -> None:
    def make():  # type: ignore[no-untyped-def]
        w = nn.Parameter(np.array([1.0, 2.0], dtype=np.float32))
        return w, optim.Adam([w], lr=0.1)

    w1, o1 = make()
    for _ in range(3):
        o1.zero_grad()
        (w1 * w1).sum().backward()
        o1.step()
    w2, o2 = make()
    w2.numpy()[...] = w1.numpy()
    o2.load_state_dict(o1.state_dict())
    for w, o in ((w1, o1), (w2, o2)):
        o.zero_grad()
        (w * w).sum().backward()
        o.step()
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
