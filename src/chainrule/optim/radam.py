"""RAdam (Liu et al., 2020: Adam with a rectified adaptive learning rate), as torch.optim.RAdam."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .adam import lerp_
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class RAdam(Optimizer):
    """m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  m̂ = m/(1-β₁ᵗ);
    ρ∞ = 2/(1-β₂) - 1,  ρₜ = ρ∞ - 2tβ₂ᵗ/(1-β₂ᵗ);
    w ← w - lr·m̂·rₜ·√(1-β₂ᵗ)/(√v + ε) with rₜ = √((ρₜ-4)(ρₜ-2)ρ∞ / ((ρ∞-4)(ρ∞-2)ρₜ))
    once ρₜ > 5 (the variance estimate is trustworthy), else w ← w - lr·m̂ (SGD with momentum).

    Args:
        lr: learning rate.
        betas: (β₁, β₂), the decay rates of the gradient's mean and uncentred variance.
        eps: ε, added to the denominator.
        weight_decay: λ. Adds λ·w to the gradient, or with decoupled_weight_decay shrinks w by
            lr·λ before the step (RAdamW).
        maximize: ascend the objective instead of descending it.
        foreach, capturable: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
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
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
        rho_inf = 2 / (1 - beta2) - 1
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
                s["exp_avg_sq"] = buffer_like(param)
            step = s["step"] = s["step"] + 1.0
            if weight_decay:
                if decoupled:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            exp_avg, exp_avg_sq = s["exp_avg"].array, s["exp_avg_sq"].array
            lerp_(exp_avg, grad, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += grad * (1 - beta2) * grad
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            update = exp_avg / bias_correction1
            update *= lr
            # ρₜ: the length of the simple moving average that v approximates.
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rectification = (
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                ) ** 0.5
                denominator = np.sqrt(exp_avg_sq)
                denominator += eps
                adaptive = np.reciprocal(denominator)  # c/d as PyTorch: reciprocal, then times c
                adaptive *= bias_correction2**0.5
                update *= adaptive
                update *= rectification
            param -= update
            bump_version(p)
