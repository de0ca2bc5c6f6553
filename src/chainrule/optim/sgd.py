"""Stochastic gradient descent with momentum (heavy-ball or Nesterov), as torch.optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..errors import ConfigError
from ..tensor import bump_version, make_tensor
from .optimizer import Optimizer, check_hyperparameter, check_kernel_options, l1_l2_gradient


class SGD(Optimizer):
    """g ← ∇ + λ·w;  b ← μ·b + (1-τ)·g (b = g at the first step);  w ← w - lr·(g + μ·b if
    Nesterov else b). Without momentum, w ← w - lr·g.

    Full-batch gradient descent is SGD over one batch that holds the whole data set.

    Args:
        lr: learning rate.
        momentum: μ in [0, 1].
        dampening: τ, the share of each new gradient left out of the momentum buffer.
        weight_decay: L2 penalty λ (adds λ·w to the gradient).
        nesterov: look-ahead momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead of descending it.
        l1: chainrule's L1 penalty λ₁ (adds λ₁·sign(w) to the gradient; not in PyTorch).
        foreach, fused: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
        l1: float = 0.0,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("momentum", momentum, 0.0, 1.0)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("l1", l1)
        check_kernel_options(differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ConfigError("Nesterov momentum requires a momentum and zero dampening")
        defaults: dict[str, Any] = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if l1:
            defaults["l1"] = l1  # only when used, so the group layout stays PyTorch's
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        # Python floats keep float32 arrays float32 (NumPy's scalar rules), so no casts here.
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        l1 = float(group.get("l1", 0.0))
        nesterov, maximize = group["nesterov"], group["maximize"]
        state = self.state
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            if weight_decay or l1:
                grad = l1_l2_gradient(param, grad, weight_decay, l1)
            if momentum:
                s = state[p]
                buffer = s.get("momentum_buffer")
                if buffer is None:  # b = g at the first step
                    s["momentum_buffer"] = make_tensor(grad.copy())
                    param -= lr * (grad + momentum * grad if nesterov else grad)
                else:
                    kernels.sgd_momentum(
                        param, grad, buffer.array, lr, momentum, dampening, nesterov
                    )
            else:
                param -= lr * grad
            bump_version(p)
