"""Helpers shared by the functional modules."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import ConfigError
from ..tensor import Tensor, tensor

Reduction = Literal["mean", "sum", "none"]


def _reduce(loss: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ConfigError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(x)
