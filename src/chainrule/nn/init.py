"""Weight initialisation (in place), as ``torch.nn.init``.

Glorot & Bengio (2010) keep the variance of activations and gradients equal across layers for
tanh/sigmoid: Var(w) = 2/(fan_in + fan_out). He et al. (2015) correct for ReLU zeroing half the
inputs: Var(w) = 2/fan_in. Both are what keep gradients from vanishing or exploding at the start.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..random import default_generator
from ..tensor import Tensor, bump_version


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activation variance steady through the given nonlinearity."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, int | float)):
            raise ValueError(f"negative_slope {param!r} is not a valid number")
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


def _fill(t: Tensor, values: Any) -> Tensor:
    t.array[...] = values
    bump_version(t)
    return t


def _rng(generator: Any) -> np.random.Generator:
    if generator is None:
        return default_generator()
    return getattr(generator, "numpy", generator)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    return _fill(t, _rng(generator).uniform(a, b, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    return _fill(t, _rng(generator).normal(mean, std, t.shape))


def trunc_normal_(
    t: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """N(mean, std²) restricted to [a, b] (absolute bounds, as PyTorch), by the inverse CDF of
    a uniform draw between the bounds' CDF values."""
    lo = 0.5 * (1 + math.erf((a - mean) / (std * math.sqrt(2))))
    hi = 0.5 * (1 + math.erf((b - mean) / (std * math.sqrt(2))))
    u = _rng(generator).uniform(2 * lo - 1, 2 * hi - 1, t.shape)
    values = mean + std * math.sqrt(2) * _erfinv(u)
    return _fill(t, np.clip(values, a, b))


def _erfinv(y: np.ndarray) -> np.ndarray:
    """erf⁻¹ by Giles' approximation refined with two Newton steps (float64, |err| < 1e-12)."""
    y = np.clip(np.asarray(y, dtype=np.float64), -1 + 1e-15, 1 - 1e-15)
    w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = np.where(small, w - 2.5, np.sqrt(np.maximum(w, 5.0)) - 3.0)
    p_small = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
               -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]  # fmt: skip
    p_large = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]  # fmt: skip
    x = np.zeros_like(y)
    for coeffs, mask in ((p_small, small), (p_large, ~small)):
        p = np.full_like(y, coeffs[0])
        for c in coeffs[1:]:
            p = c + p * ws
        x = np.where(mask, p * y, x)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    for _ in range(2):
        x = x - (erf(x) - y) / (2 / math.sqrt(math.pi) * np.exp(-x * x))
    return x


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    return _fill(t, 1)


def constant_(t: Tensor, val: float) -> Tensor:
    return _fill(t, val)


def eye_(t: Tensor) -> Tensor:
    """The identity matrix (2-D tensors)."""
    if t.ndim != 2:
        raise ConfigError(f"eye_ needs a 2-D tensor, got shape {t.shape}")
    return _fill(t, np.eye(*t.shape))


def dirac_(t: Tensor, groups: int = 1) -> Tensor:
    """A convolution weight (out, in, *k) that passes each of its first channels through."""
    if t.ndim not in (3, 4, 5):
        raise ConfigError(f"dirac_ needs a 3-, 4- or 5-D tensor, got shape {t.shape}")
    out_per_group = t.shape[0] // groups
    if t.shape[0] % groups:
        raise ConfigError(f"dim 0 ({t.shape[0]}) must be divisible by groups ({groups})")
    values = np.zeros(t.shape)
    centre = tuple(k // 2 for k in t.shape[2:])
    for g in range(groups):
        for d in range(min(out_per_group, t.shape[1])):
            values[(g * out_per_group + d, d, *centre)] = 1
    return _fill(t, values)


def orthogonal_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw, signs fixed by
    R's diagonal so the distribution is uniform (Saxe et al. 2013); dims past 1 are flattened."""
    if t.ndim < 2:
        raise ConfigError(f"orthogonal_ needs at least 2 dimensions, got shape {t.shape}")
    rows = t.shape[0]
    cols = t.numel() // rows if rows else 0
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))


def sparse_(t: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """N(0, std²) with a fraction sparsity of each column set to zero (2-D tensors)."""
    if t.ndim != 2:
        raise ConfigError(f"sparse_ needs a 2-D tensor, got shape {t.shape}")
    rows, cols = t.shape
    rng = _rng(generator)
    values = rng.normal(0.0, std, t.shape)
    zeros = math.ceil(sparsity * rows)
    for c in range(cols):
        values[rng.permutation(rows)[:zeros], c] = 0
    return _fill(t, values)


def _empty(t: Tensor) -> bool:
    """A tensor of no elements (Linear(0, 3)'s weight) has no fan to scale by: as PyTorch,
    initialising it does nothing, with a warning."""
    if t.array.size:
        return False
    import warnings

    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return True


def xavier_uniform_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-b, b) with b = gain·√(6/(fan_in + fan_out))."""
    if _empty(t):
        return t
    fan_in, fan_out = fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, generator)


def xavier_normal_(t: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out))."""
    if _empty(t):
        return t
    fan_in, fan_out = fan_in_and_fan_out(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = fan_in_and_fan_out(t)
    if mode not in ("fan_in", "fan_out"):
        raise ConfigError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He uniform: U(-b, b) with b = gain·√(3/fan)."""
    if _empty(t):
        return t
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He normal: N(0, σ²) with σ = gain/√fan."""
    if _empty(t):
        return t
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity), generator)


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
            fan_in = fan_in_and_fan_out(weight)[0]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # as PyTorch's
            uniform_(bias, -bound, bound)
        return
    elif scheme == "normal":
        normal_(weight)
    else:
        raise ConfigError(f"unknown init {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    if bias is not None:
        zeros_(bias)
