"""Layer, group and RMS normalisation as functions (batch norm is in ``conv``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..tensor import Tensor, apply
from ._common import _as_tensor
from .conv import pad


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


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along dim, as ``torch.nn.functional.normalize``; eps keeps an
    all-zero slice at zero instead of 0/0."""
    input = _as_tensor(input)
    return input / input.norm(p, dim=dim, keepdim=True).clamp_min(eps)


def _as_array(stat: object) -> np.ndarray | None:
    return stat.array if isinstance(stat, Tensor) else stat  # type: ignore[return-value]


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each sample of (N, C, *) input over its spatial positions
    (biased variance), then scale and shift per channel: weight, bias (C,).

    With use_input_stats the running statistics (C,), when given, are updated in place with
    the batch average of the per-instance mean and unbiased variance:
    r ← (1 - momentum)·r + momentum·s, as PyTorch. Without it they normalise instead.
    """
    input = _as_tensor(input)
    if input.ndim < 3:
        raise ShapeError(f"instance_norm expects input (N, C, *spatial), got shape {input.shape}")
    n, c = input.shape[:2]
    _check_param("instance_norm", "weight", weight, (c,))
    _check_param("instance_norm", "bias", bias, (c,))
    mean_array, var_array = _as_array(running_mean), _as_array(running_var)
    for which, stat in (("running_mean", mean_array), ("running_var", var_array)):
        if stat is not None and stat.shape != (c,):
            raise ShapeError(f"instance_norm: {which} must have shape {(c,)}, got {stat.shape}")
    if not use_input_stats:
        if mean_array is None or var_array is None:
            raise ShapeError(
                "instance_norm with use_input_stats=False needs running_mean and running_var"
            )
        return apply(
            ops.BatchNormEval, input, weight, bias, mean=mean_array, var=var_array, eps=eps
        )
    count = input.numel() // (n * c)
    if count < 2:
        raise ShapeError(
            f"instance_norm needs more than one spatial element per channel, got input "
            f"{input.shape}"
        )
    flat = input.reshape(n * c, count)  # (N·C, spatial)
    out = apply(ops.LayerNorm, flat, None, None, normalized_ndim=1, eps=eps).reshape(input.shape)
    if mean_array is not None or var_array is not None:
        rows = flat.array.reshape(n, c, count)
        if mean_array is not None:
            keep = np.asarray(1 - momentum, dtype=mean_array.dtype)
            mean_array *= keep
            mean_array += np.asarray(momentum, dtype=mean_array.dtype) * rows.mean(axis=(0, 2))
        if var_array is not None:
            keep = np.asarray(1 - momentum, dtype=var_array.dtype)
            var_array *= keep
            unbiased = rows.var(axis=2, ddof=1).mean(axis=0)
            var_array += np.asarray(momentum, dtype=var_array.dtype) * unbiased
    per_channel = (c,) + (1,) * (input.ndim - 2)  # (C, 1, ..., 1)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """x / (k + alpha·mean(x²))^beta, the mean over a window of size channels around each
    channel (zeros beyond the edges, still divided by size), as PyTorch: (N, C, *) input."""
    input = _as_tensor(input)
    if input.ndim < 3:
        raise ShapeError(
            f"local_response_norm expects input (N, C, *) of 3 or more dims, got shape "
            f"{input.shape}"
        )
    if size < 1:
        raise ShapeError(f"local_response_norm: size must be positive, got {size}")
    channels = input.shape[1]
    # Zeros before and after the channels: pad's pairs run from the last dim back to dim 1.
    widths = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = pad(input * input, widths)  # (N, C + size - 1, *)
    window = padded[:, 0:channels]
    for offset in range(1, size):
        window = window + padded[:, offset : offset + channels]
    div = (window * (alpha / size) + k) ** beta
    return input / div
