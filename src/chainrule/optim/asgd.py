"""Averaged SGD (Polyak & Juditsky, 1992), as torch.optim.ASGD."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import bump_version
from .optimizer import (
    Optimizer,
    buffer_like,
    check_hyperparameter,
    check_kernel_options,
    round_scalar,
)


class ASGD(Optimizer):
    """w ← w·(1 - λη) - η·g;  ax ← ax + μ·(w - ax) (a running average of the weights);
    then ηₜ = lr/(1 + λ·lr·t)^α and μₜ = 1/max(1, t - t₀), so averaging starts after t₀ steps.

    The averaged weights are ``state[p]['ax']``; the parameters themselves follow plain SGD.

    Args:
        lr: learning rate.
        lambd: λ, the decay term (of both the weights and the learning rate).
        alpha: α, the power of the learning rate's decay.
        t0: the step after which averaging starts.
        weight_decay: L2 penalty (adds weight_decay·w to the gradient).
        maximize: ascend the objective instead of descending it.
        foreach, capturable: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("weight_decay", weight_decay)
        check_kernel_options(differentiable)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr, lambd = float(group["lr"]), float(group["lambd"])
        alpha, t0 = float(group["alpha"]), float(group["t0"])
        weight_decay, maximize = float(group["weight_decay"]), group["maximize"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = self.state[p]
            if not s:
                # η and μ are 0-dim tensors of PyTorch's scalar dtype: rounded as they are.
                s["step"] = 0.0
                s["eta"] = round_scalar(lr)
                s["mu"] = 1.0
                s["ax"] = buffer_like(param)
            step = s["step"] = s["step"] + 1.0
            if weight_decay:
                grad = grad + weight_decay * param
            eta, mu = float(s["eta"]), float(s["mu"])
            param *= 1 - lambd * eta
            param += grad * -eta
            ax = s["ax"].array
            if mu != 1:
                difference = param - ax
                difference *= mu
                ax += difference
            else:
                ax[...] = param
            s["eta"] = round_scalar(lr / ((1 + lambd * lr * step) ** alpha))
            s["mu"] = round_scalar(1 / max(1, step - t0))
            bump_version(p)
