"""Rprop (Riedmiller & Braun, 1993: resilient backpropagation), as torch.optim.Rprop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..tensor import bump_version
from .optimizer import Optimizer, buffer_like, check_hyperparameter, check_kernel_options


class Rprop(Optimizer):
    """Per element: Δ ← clamp(Δ·η₊ if g·g_prev > 0, Δ·η₋ if < 0, else Δ; Δmin, Δmax);
    w ← w - sign(g)·Δ, except that after a sign change the step is skipped (g is taken as 0,
    also for the next comparison). Only the gradient's sign is used; Δ starts at lr.

    Args:
        lr: the initial step size Δ.
        etas: (η₋, η₊) with 0 < η₋ < 1 < η₊, the factors that shrink and grow Δ.
        step_sizes: (Δmin, Δmax), the bounds of Δ.
        maximize: ascend the objective instead of descending it.
        foreach, capturable: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameter("lr", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ConfigError(
                f"Rprop etas must satisfy 0 < etaminus < 1 < etaplus, got {tuple(etas)}"
            )
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "etas": tuple(etas),
            "step_sizes": tuple(step_sizes),
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        eta_minus, eta_plus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
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
                s["prev"] = buffer_like(param)
                s["step_size"] = buffer_like(param, float(group["lr"]))
            s["step"] += 1.0
            prev, step_size = s["prev"].array, s["step_size"].array
            factor = np.sign(grad * prev)
            flipped = factor < 0
            factor[factor > 0] = eta_plus
            factor[flipped] = eta_minus
            factor[factor == 0] = 1
            step_size *= factor
            np.clip(step_size, step_size_min, step_size_max, out=step_size)
            grad = grad.copy()
            grad[flipped] = 0  # the sign flipped: the last step overshot a minimum
            param -= np.sign(grad) * step_size
            prev[...] = grad
            bump_version(p)
