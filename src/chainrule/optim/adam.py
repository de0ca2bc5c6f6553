"""Adam (Kingma & Ba, 2015), as torch.optim.Adam."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, check_hyperparameter, l1_l2_gradient


class Adam(Optimizer):
    """m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  w ← w - lr·m̂/(√v̂ + ε), with bias-corrected m̂, v̂.

    Args:
        weight_decay: L2 penalty added to the gradient (classic Adam, not AdamW).
        l1: L1 penalty λ₁ (adds λ₁·sign(w) to the gradient).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("beta1", betas[0], 0.0, 1.0)
        check_hyperparameter("beta2", betas[1], 0.0, 1.0)
        check_hyperparameter("eps", eps)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("l1", l1)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "l1": l1,
        }
        super().__init__(params, defaults)

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        grad = l1_l2_gradient(param, grad, group["weight_decay"], group["l1"])
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        dtype = param.dtype
        m *= np.asarray(beta1, dtype=dtype)
        m += np.asarray(1 - beta1, dtype=dtype) * grad
        v *= np.asarray(beta2, dtype=dtype)
        v += np.asarray(1 - beta2, dtype=dtype) * grad * grad
        # Bias correction: m and v start at 0, so early averages are scaled up by 1/(1-βᵗ).
        step_size = group["lr"] / (1 - beta1**t)
        denominator = np.sqrt(v) / np.asarray(math.sqrt(1 - beta2**t), dtype=dtype)
        denominator += np.asarray(group["eps"], dtype=dtype)
        param -= np.asarray(step_size, dtype=dtype) * (m / denominator)
