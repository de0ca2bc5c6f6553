"""NAdam (Dozat, 2016: Adam with Nesterov momentum), as torch.optim.NAdam."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .adam import lerp_
from .optimizer import (
    Optimizer,
    buffer_like,
    check_hyperparameter,
    check_kernel_options,
    round_scalar,
)


class NAdam(Optimizer):
    """μₜ = β₁(1 - ½·0.96^(tψ));  m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;
    w ← w - lr·[(1-μₜ)/(1-Πᵢ≤ₜ μᵢ)·g + μₜ₊₁/(1-Πᵢ≤ₜ₊₁ μᵢ)·m] / (√(v/(1-β₂ᵗ)) + ε).

    Args:
        lr: learning rate.
        betas: (β₁, β₂), the decay rates of the gradient's mean and uncentred variance.
        eps: ε, added to the denominator.
        weight_decay: λ. Adds λ·w to the gradient, or with decoupled_weight_decay shrinks w by
            lr·λ before the step (NAdamW).
        momentum_decay: ψ, how fast the momentum schedule μₜ rises to β₁.
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
        momentum_decay: float = 4e-3,
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
        check_hyperparameter("momentum_decay", momentum_decay)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps, weight_decay = float(group["eps"]), float(group["weight_decay"])
        momentum_decay = float(group["momentum_decay"])
        decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = self.state[p]
            if not s:
                s["step"] = 0.0
                s["mu_product"] = 1.0
                s["exp_avg"] = buffer_like(param)
                s["exp_avg_sq"] = buffer_like(param)
            step = s["step"] = s["step"] + 1.0
            bias_correction2 = 1 - beta2**step
            if weight_decay:
                if decoupled:
                    param *= 1 - lr * weight_decay
                else:
                    grad = grad + weight_decay * param
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            # PyTorch keeps Πμ in a 0-dim tensor of its scalar dtype, rounding every product.
            mu_product = s["mu_product"] = round_scalar(float(s["mu_product"]) * round_scalar(mu))
            exp_avg, exp_avg_sq = s["exp_avg"].array, s["exp_avg_sq"].array
            lerp_(exp_avg, grad, 1 - beta1)
            exp_avg_sq *= beta2
            exp_avg_sq += grad * (1 - beta2) * grad
            denominator = np.sqrt(exp_avg_sq / bias_correction2)
            denominator += eps
            # Nesterov: the current gradient with this step's weight, m with the next step's.
            update = grad * (-lr * (1.0 - mu) / (1.0 - mu_product))
            update /= denominator
            param += update
            update = exp_avg * ((-lr * mu_next) / (1.0 - mu_product * mu_next))
            update /= denominator
            param += update
            bump_version(p)
