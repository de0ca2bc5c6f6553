"""Adagrad (Duchi et al., 2011), as torch.optim.Adagrad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class Adagrad(Optimizer):
    """s ← s + g²;  w ← w - lr_t·g/(√s + ε), with lr_t = lr/(1 + (t-1)·lr_decay).

    Args:
        lr: learning rate.
        lr_decay: the learning rate's decay per step.
        weight_decay: L2 penalty λ (adds λ·w to the gradient).
        initial_accumulator_value: the starting value of every element of s.
        eps: ε, added to the denominator.
        maximize: ascend the objective instead of descending it.
        foreach, fused: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("lr_decay", lr_decay)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("initial_accumulator_value", initial_accumulator_value)
        check_hyperparameter("eps", eps)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        # As PyTorch, the state exists from the start (so state_dict() holds it before a step).
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        s = self.state[p]
        s["step"] = 0.0
        s["sum"] = buffer_like(p.array, float(group["initial_accumulator_value"]))
        return s

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = self.state[p] or self._init_state(p, group)
            step = s["step"] = s["step"] + 1.0
            if weight_decay:
                grad = grad + weight_decay * param
            clr = lr / (1 + (step - 1) * lr_decay)
            total = s["sum"].array
            total += grad * grad
            denominator = np.sqrt(total)
            denominator += eps
            update = grad * -clr  # (-lr_t·g)/d, in PyTorch's addcdiv order
            update /= denominator
            param += update
            bump_version(p)
