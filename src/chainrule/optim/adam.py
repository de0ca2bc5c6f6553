"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), as torch.optim.Adam/AdamW."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import kernels
from ..kernels.numpy_backend import lerp_ as lerp_  # the other optimisers' lerp
from ..tensor import bump_version
from .optimizer import (
    Optimizer,
    buffer_like,
    check_hyperparameter,
    check_kernel_options,
    l1_l2_gradient,
)


class Adam(Optimizer):
    """m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  w ← w - lr·m̂/(√v̂ + ε), with bias-corrected
    m̂ = m/(1-β₁ᵗ) and √v̂ = √v/√(1-β₂ᵗ).

    Args:
        lr: learning rate.
        betas: (β₁, β₂), the decay rates of the gradient's mean and uncentred variance.
        eps: ε, added to the denominator.
        weight_decay: λ. Adds λ·w to the gradient (classic Adam), or with
            decoupled_weight_decay shrinks w by lr·λ before the step (AdamW).
        amsgrad: divide by the running maximum of v (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        l1: chainrule's L1 penalty λ₁ (adds λ₁·sign(w) to the gradient; not in PyTorch).
        foreach, capturable, fused: accepted for PyTorch's signature; NumPy has one kernel.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
        l1: float = 0.0,
    ) -> None:
        check_hyperparameter("lr", lr)
        check_hyperparameter("eps", eps)
        check_hyperparameter("betas[0]", betas[0], 0.0, 1.0, below=True)
        check_hyperparameter("betas[1]", betas[1], 0.0, 1.0, below=True)
        check_hyperparameter("weight_decay", weight_decay)
        check_hyperparameter("l1", l1)
        check_kernel_options(differentiable)
        defaults: dict[str, Any] = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        if l1:
            defaults["l1"] = l1  # only when used, so the group layout stays PyTorch's
        super().__init__(params, defaults)

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        l1 = float(group.get("l1", 0.0))
        amsgrad, maximize = group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        state = self.state
        for p in group["params"]:
            if p.grad is None:
                continue
            param, grad = p.array, p.grad.array
            if maximize:
                grad = -grad
            s = state[p]
            if not s:
                s["step"] = 0.0
                s["exp_avg"] = buffer_like(param)
                s["exp_avg_sq"] = buffer_like(param)
                if amsgrad:
                    s["max_exp_avg_sq"] = buffer_like(param)
            step = s["step"] = s["step"] + 1.0
            if weight_decay:
                if decoupled:
                    param *= 1 - lr * weight_decay
                else:
                    grad = l1_l2_gradient(param, grad, weight_decay, 0.0)
            if l1:
                grad = l1_l2_gradient(param, grad, 0.0, l1)
            kernels.adam(
                param, grad, s["exp_avg"].array, s["exp_avg_sq"].array,
                s["max_exp_avg_sq"].array if amsgrad else None,
                beta1, beta2, lr, eps, step,
            )  # fmt: skip
            bump_version(p)


class AdamW(Adam):
    """Adam with decoupled weight decay: w ← w·(1 - lr·λ) before the Adam step (default λ 0.01)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True  # as PyTorch: AdamW always decouples
