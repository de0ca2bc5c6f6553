"""Linear and dropout as functions."""

from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import ConfigError, ShapeError
from ..random import default_generator
from ..tensor import Tensor, apply
from ._common import _as_tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias.  x (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x = _as_tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        out_features, in_features = weight.shape
        raise ShapeError(
            f"Linear({in_features} -> {out_features}) expects input (*, {in_features}), "
            f"got {x.shape}"
        )
    return apply(ops.Linear, x, weight, bias)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0 <= p < 1:
        raise ConfigError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    keep = default_generator().random(x.shape, dtype=np.float32) >= p
    return x * (keep.astype(x.dtype) / np.asarray(1 - p, dtype=x.dtype))
