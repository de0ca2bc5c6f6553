"""Activations and softmax as functions, with ``torch.nn.functional``'s names and arguments.

The fused primitives (ops.activation, ops.nn) carry the ones where stability or speed matters;
the rest are short composites. ``inplace=True`` writes the result into the input through the
engine's in-place machinery (recorded for backward, version-checked), as PyTorch's ``relu_``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from .. import ops
from ..errors import ConfigError, ShapeError
from ..tensor import Tensor, apply
from ._common import _as_tensor

# SELU's constants (Klambauer et al. 2017), as PyTorch's.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _maybe_inplace(
    x: Tensor, inplace: bool, compute: Callable[[Tensor], Tensor], name: str
) -> Tensor:
    x = _as_tensor(x)
    return x._inplace(compute, name) if inplace else compute(x)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); gradient 0 at x = 0."""
    return _maybe_inplace(input, inplace, lambda t: apply(ops.ReLU, t), "relu_")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); gradient 0 at both kinks, as PyTorch."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope·x otherwise."""
    return _maybe_inplace(
        input,
        inplace,
        lambda t: apply(ops.LeakyReLU, t, negative_slope=negative_slope),
        "leaky_relu_",
    )


def sigmoid(input: Tensor) -> Tensor:
    return apply(ops.Sigmoid, _as_tensor(input))


def tanh(input: Tensor) -> Tensor:
    return apply(ops.Tanh, _as_tensor(input))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) with Φ the standard normal CDF (erf), or its tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ConfigError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(ops.GELU, _as_tensor(input), approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (also called swish)."""
    return _maybe_inplace(input, inplace, lambda t: apply(ops.SiLU, t), "silu_")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return _maybe_inplace(input, inplace, lambda t: apply(ops.Mish, t), "mish_")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ - 1) otherwise."""
    return _maybe_inplace(input, inplace, lambda t: apply(ops.ELU, t, alpha=alpha), "elu_")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(e^(x/α) - 1))."""
    if alpha == 0:
        raise ConfigError("celu: alpha must not be 0 (it divides x)")
    return _maybe_inplace(
        input, inplace, lambda t: apply(ops.ELU, t, alpha=alpha, input_scale=1 / alpha), "celu_"
    )


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with PyTorch's constants α ≈ 1.6733, scale ≈ 1.0507."""
    return _maybe_inplace(
        input,
        inplace,
        lambda t: apply(ops.ELU, t, alpha=SELU_ALPHA, scale=SELU_SCALE),
        "selu_",
    )


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx))/β, and x itself where βx > threshold."""
    return apply(ops.Softplus, _as_tensor(input), beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x), finite for every finite x."""
    return apply(ops.LogSigmoid, _as_tensor(input))


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x clipped to [min_val, max_val]; gradient 0 at both ends."""
    if min_val > max_val:
        raise ConfigError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return _maybe_inplace(
        input,
        inplace,
        lambda t: apply(ops.Hardtanh, t, min_val=min_val, max_val=max_val),
        "hardtanh_",
    )


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3)/6; gradient 1/6 strictly inside (-3, 3), else 0."""
    return _maybe_inplace(
        input,
        inplace,
        lambda t: apply(ops.Hardtanh, t + 3, min_val=0.0, max_val=6.0) / 6,
        "hardsigmoid_",
    )


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3)/6."""
    return _maybe_inplace(input, inplace, lambda t: apply(ops.Hardswish, t), "hardswish_")


def softsign(input: Tensor) -> Tensor:
    """x/(1 + |x|)."""
    input = _as_tensor(input)
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    input = _as_tensor(input)
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - λ for x > λ, x + λ for x < -λ, else 0."""
    if lambd < 0:
        raise ConfigError(f"softshrink: lambd must be at least 0, got {lambd}")
    input = _as_tensor(input)
    return (input - lambd).where(input > lambd, (input + lambd).where(input < -lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0."""
    input = _as_tensor(input)
    return input.where((input > lambd) | (input < -lambd), 0.0)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    return _maybe_inplace(
        input, inplace, lambda t: t.where(t > threshold, float(value)), "threshold_"
    )


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, weight·x otherwise; weight (1,) shared, or (C,) for C channels in dim 1
    (input of 2 or more dims; as PyTorch's, 0-d and 1-d input have one channel)."""
    input = _as_tensor(input)
    if weight.ndim != 1:
        raise ShapeError(f"prelu: weight must be 1-d, got shape {weight.shape}")
    slope: Any = weight
    if weight.shape[0] != 1:
        if input.ndim < 2 or input.shape[1] != weight.shape[0]:
            raise ShapeError(
                f"PReLU(num_parameters={weight.shape[0]}) expects {weight.shape[0]} channels "
                f"in dim 1 of the input, got input of shape {input.shape}"
            )
        slope = weight.reshape(-1, *([1] * (input.ndim - 2)))  # (C, 1, ..., 1)
    elif input.ndim == 0:
        slope = weight.reshape(())
    return input.where(input > 0, slope * input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a·σ(b), where a and b are the two halves of the input along dim."""
    input = _as_tensor(input)
    if input.ndim == 0:
        raise ShapeError("glu does not take a 0-d tensor")
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(
            f"glu halves dim {dim}, which must have an even size; got input of shape {input.shape}"
        )
    a, b = input.split(size // 2, dim)
    return a * b.sigmoid()


def _softmax_dim(name: str, ndim: int) -> int:
    # PyTorch's legacy rule for dim=None (deprecated there, with the same warning).
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """e^x / Σ e^x along dim (shifted by the max: no overflow); dtype casts the input first."""
    input = _as_tensor(input)
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return input.softmax(dim, dtype=dtype)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """softmax(-x) along dim."""
    input = _as_tensor(input)
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return (-input).softmax(dim, dtype=dtype)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """x - log Σ e^x along dim (log-sum-exp: stable)."""
    input = _as_tensor(input)
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return input.log_softmax(dim, dtype=dtype)


def relu_(input: Tensor) -> Tensor:
    """relu in place: input.relu_()."""
    return input.relu_()


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu in place."""
    return leaky_relu(input, negative_slope, inplace=True)
