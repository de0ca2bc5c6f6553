"""Adamax (Kingma & Ba, 2015, section 7.1), as torch.optim.Adamax."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .adam import lerp_
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class Adamax(Optimizer):
    """m ← β₁m + (1-β₁)g;  u ← max(β₂u, |g| + ε);  w ← w - lr·m/((1-β₁ᵗ)·u): Adam with the
    infinity norm in place of the second moment.

    Args:
        lr: learning rate.
        betas: (β₁, β₂), the decay rates of the gradient's mean and of its infinity norm.
        eps: ε, added to |g| before the maximum.
        weight_decay: L2 penalty λ (adds λ·w to the gradient).
        maximize: ascend the objective instead of descending it.
        foreach, capturable: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("eps", eps)
        check_hyperparameter("betas[0]", betas[0], 0.0, 1.0, below=True)
        check_hyperparameter("betas[1]", betas[1], 0.0, 1.0, below=True)
        check_hyperparameter("weight_decay", weight_decay)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        maximize = group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = self.state[p]
            if not s:
                s["step"] = 0.0
                s["exp_avg"] = buffer_like(param)
                s["exp_inf"] = buffer_like(param)
            step = s["step"] = s["step"] + 1.0
            if weight_decay:
                grad = grad + weight_decay * param
            exp_avg, exp_inf = s["exp_avg"].array, s["exp_inf"].array
            lerp_(exp_avg, grad, 1 - beta1)
            exp_inf *= beta2
            magnitude = np.abs(grad)
            magnitude += eps
            np.maximum(exp_inf, magnitude, out=exp_inf)
            # Only m needs bias correction: u is a maximum, not an average started at 0.
            update = exp_avg * -(lr / (1 - beta1**step))  # (-lr_t·m)/u, as PyTorch's addcdiv
            update /= exp_inf
            param += update
            bump_version(p)
