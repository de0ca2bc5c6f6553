"""Stochastic gradient descent with momentum (heavy-ball or Nesterov), as torch.optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import ConfigError
from .optimizer import Optimizer, check_hyperparameter, l1_l2_gradient


class SGD(Optimizer):
    """w ← w - lr·v, with v ← μ·v + g (v = g when μ = 0); Nesterov steps along g + μ·v.

    Full-batch gradient descent is SGD over one batch that holds the whole data set.

    Args:
        lr: learning rate.
        momentum: μ in [0, 1).
        nesterov: look-ahead momentum (needs momentum > 0).
        weight_decay: L2 penalty λ₂ (adds λ₂·w to the gradient).
        l1: L1 penalty λ₁ (adds λ₁·sign(w) to the gradient).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("momentum", momentum, 0.0, 1.0)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("l1", l1)
        if nesterov and momentum <= 0:
            raise ConfigError("nesterov momentum needs momentum > 0")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": weight_decay,
            "l1": l1,
        }
        super().__init__(params, defaults)

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Python floats keep float32 arrays float32 (NumPy's scalar rules), so no casts here.
        if group["weight_decay"] or group["l1"]:
            grad = l1_l2_gradient(param, grad, group["weight_decay"], group["l1"])
        lr = float(group["lr"])
        momentum = group["momentum"]
        if momentum == 0:
            param -= lr * grad
            return
        velocity = state.get("momentum_buffer")
        if velocity is None:
            velocity = state["momentum_buffer"] = grad.copy()
        else:
            velocity *= momentum
            velocity += grad
        if group["nesterov"]:
            param -= lr * (grad + momentum * velocity)
        else:
            param -= lr * velocity
