"""Loss modules: thin wrappers over functional, as in torch.nn."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..errors import ConfigError
from ..functional import Reduction
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ConfigError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"

    def config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}


class MSELoss(_Loss):
    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.mse_loss(prediction, target, self.reduction)


class BCELoss(_Loss):
    def forward(self, probabilities: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(probabilities, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class CrossEntropyLoss(_Loss):
    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.reduction)
