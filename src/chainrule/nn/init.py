"""Weight initialisation (in place), as ``torch.nn.init``.

Glorot & Bengio (2010) keep the variance of activations and gradients equal across layers for
tanh/sigmoid: Var(w) = 2/(fan_in + fan_out). He et al. (2015) correct for ReLU zeroing half the
inputs: Var(w) = 2/fan_in. Both are what keep gradients from vanishing or exploding at the start.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..random import default_generator
from ..tensor import Tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activation variance steady through the given nonlinearity."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ConfigError(f"unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    """Fans of a weight (out, in) or (out, in, kh, kw): each input/output connects to kh·kw."""
    if t.ndim < 2:
        raise ConfigError(f"fan in/out need a weight of 2 or more dimensions, got {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t: Tensor, values: np.ndarray) -> Tensor:
    t.array[...] = values
    return t


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(t, default_generator().uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(t, default_generator().normal(mean, std, t.shape))


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, np.zeros(t.shape))


def ones_(t: Tensor) -> Tensor:
    return _fill(t, np.ones(t.shape))


def constant_(t: Tensor, value: float) -> Tensor:
    return _fill(t, np.full(t.shape, value))


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-b, b) with b = gain·√(6/(fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = fan_in_and_fan_out(t)
    if mode not in ("fan_in", "fan_out"):
        raise ConfigError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He uniform: U(-b, b) with b = gain·√(3/fan)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound)


def kaiming_normal_(
    t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He normal: N(0, σ²) with σ = gain/√fan."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


# Names accepted by Linear(init=...) and Conv2d(init=...) and the CLI's --init.
INIT_SCHEMES = ("he", "he_normal", "xavier", "xavier_normal", "torch", "normal")


def init_layer(weight: Tensor, bias: Tensor | None, scheme: str) -> None:
    """Initialise a layer's weight and bias by scheme name.

    he: He uniform for ReLU; xavier: Glorot uniform; *_normal: the normal variants; torch:
    PyTorch's default (He uniform with a=√5, bias U(±1/√fan_in)); normal: naive N(0, 1), the
    initialisation that makes deep sigmoid networks' gradients vanish (for demonstrations).
    Biases start at zero except under 'torch'.
    """
    if scheme == "he":
        kaiming_uniform_(weight, nonlinearity="relu")
    elif scheme == "he_normal":
        kaiming_normal_(weight, nonlinearity="relu")
    elif scheme == "xavier":
        xavier_uniform_(weight)
    elif scheme == "xavier_normal":
        xavier_normal_(weight)
    elif scheme == "torch":
        kaiming_uniform_(weight, a=math.sqrt(5))
        if bias is not None:
            bound = 1 / math.sqrt(fan_in_and_fan_out(weight)[0])
            uniform_(bias, -bound, bound)
        return
    elif scheme == "normal":
        normal_(weight)
    else:
        raise ConfigError(f"unknown init {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    if bias is not None:
        zeros_(bias)
