"""Adadelta (Zeiler, 2012), as torch.optim.Adadelta."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class Adadelta(Optimizer):
    """v ← ρv + (1-ρ)g²;  Δ ← √(u + ε)/√(v + ε)·g;  u ← ρu + (1-ρ)Δ²;  w ← w - lr·Δ.

    Args:
        lr: scales Δ before it is applied (1.0 is Zeiler's method).
        rho: ρ, the decay rate of both running averages.
        eps: ε, inside both square roots.
        weight_decay: L2 penalty λ (adds λ·w to the gradient).
        maximize: ascend the objective instead of descending it.
        foreach, capturable: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("rho", rho, 0.0, 1.0)
        check_hyperparameter("eps", eps)
        check_hyperparameter("weight_decay", weight_decay)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = self.state[p]
            if not s:
                s["step"] = 0.0
                s["square_avg"] = buffer_like(param)
                s["acc_delta"] = buffer_like(param)
            s["step"] += 1.0
            if weight_decay:
                grad = grad + weight_decay * param
            square_avg, acc_delta = s["square_avg"].array, s["acc_delta"].array
            square_avg *= rho
            square_avg += (1 - rho) * grad * grad
            std = np.sqrt(square_avg + eps)
            delta = np.sqrt(acc_delta + eps)
            delta /= std
            delta *= grad
            acc_delta *= rho
            acc_delta += (1 - rho) * delta * delta
            param -= lr * delta
            bump_version(p)
