"""Layer, group and RMS normalisation as functions (batch norm is in ``conv``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..tensor import Tensor, apply
from ._common import _as_tensor


def _shape_tuple(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, int | np.integer):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_trailing(name: str, x: Tensor, shape: tuple[int, ...]) -> None:
    if len(shape) == 0 or x.shape[x.ndim - len(shape) :] != shape or x.ndim < len(shape):
        raise ShapeError(
            f"{name}: normalized_shape {list(shape)} must match the input's last dimensions "
            f"(*, {', '.join(map(str, shape))}), got input of shape {x.shape}"
        )


def _check_param(name: str, which: str, param: Tensor | None, shape: tuple[int, ...]) -> None:
    if param is not None and param.shape != shape:
        raise ShapeError(f"{name}: {which} must have shape {shape}, got {param.shape}")


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean)/√(var + eps)·weight + bias over the trailing normalized_shape dims (biased
    variance), as one fused primitive.  input (*, *normalized_shape) -> same shape."""
    input = _as_tensor(input)
    shape = _shape_tuple(normalized_shape)
    _check_trailing("layer_norm", input, shape)
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return apply(ops.LayerNorm, input, weight, bias, normalized_ndim=len(shape), eps=eps)


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x/√(mean(x²) + eps)·weight over the trailing normalized_shape dims; eps=None is the
    input dtype's machine epsilon, as PyTorch."""
    input = _as_tensor(input)
    shape = _shape_tuple(normalized_shape)
    _check_trailing("rms_norm", input, shape)
    _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(input.dtype).eps) if input.dtype.kind == "f" else 1.1920929e-07
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each of num_groups groups of channels of (N, C, *) input over its channels and
    spatial positions, then scale and shift per channel: weight, bias (C,)."""
    input = _as_tensor(input)
    if input.ndim < 2:
        raise ShapeError(f"group_norm expects input (N, C, *), got shape {input.shape}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(
            f"group_norm: the {c} channels of input {input.shape} must divide into "
            f"num_groups={num_groups} groups"
        )
    _check_param("group_norm", "weight", weight, (c,))
    _check_param("group_norm", "bias", bias, (c,))
    grouped = input.reshape(n, num_groups, -1)  # (N, G, C/G·spatial)
    out = apply(ops.LayerNorm, grouped, None, None, normalized_ndim=1, eps=eps)
    out = out.reshape(input.shape)
    per_channel = (c,) + (1,) * (input.ndim - 2)  # (C, 1, ..., 1)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out
