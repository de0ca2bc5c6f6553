"""RMSprop (Hinton's lecture 6e; centred as Graves, 2013), as torch.optim.RMSprop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import bump_version
from .adam import lerp_
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class RMSprop(Optimizer):
    """v ← αv + (1-α)g²;  d ← √(v - ḡ²) + ε when centred (ḡ ← αḡ + (1-α)g), else √v + ε;
    w ← w - lr·g/d, or with momentum b ← μb + g/d and w ← w - lr·b.

    Args:
        lr: learning rate.
        alpha: α, the decay rate of the squared-gradient average.
        eps: ε, added to the denominator.
        weight_decay: L2 penalty λ (adds λ·w to the gradient).
        momentum: μ.
        centered: divide by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead of descending it.
        capturable, foreach: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("eps", eps)
        check_hyperparameter("momentum", momentum)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("alpha", alpha)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        centered, maximize = group["centered"], group["maximize"]
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
                if momentum > 0:
                    s["momentum_buffer"] = buffer_like(param)
                if centered:
                    s["grad_avg"] = buffer_like(param)
            s["step"] += 1.0
            if weight_decay:
                grad = grad + weight_decay * param
            square_avg = s["square_avg"].array
            square_avg *= alpha
            square_avg += (1 - alpha) * grad * grad
            if centered:
                grad_avg = s["grad_avg"].array
                lerp_(grad_avg, grad, 1 - alpha)
                denominator = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                denominator = np.sqrt(square_avg)
            denominator += eps
            if momentum > 0:
                buffer = s["momentum_buffer"].array
                buffer *= momentum
                buffer += grad / denominator
                param -= lr * buffer
            else:
                update = grad * -lr  # (-lr·g)/d, in PyTorch's addcdiv order
                update /= denominator
                param += update
            bump_version(p)
