"""Making tensors, as ``torch.zeros``, ``torch.arange``, ``torch.randn``: PyTorch's names,
arguments and dtype rules (float32 for floats, int64 for integers), drawing random numbers from
chainrule's generator (``chainrule.manual_seed``) or a given ``generator=``.

The random streams are NumPy's, so a seed gives other numbers than PyTorch's with that seed.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import dtypes
from .device import check_device
from .errors import ChainruleError, ShapeError
from .random import generator_of
from .tensor import Tensor, _shape_args, tensor

Array = np.ndarray


def _finish(array: Array, requires_grad: bool, device: Any) -> Tensor:
    check_device(device)
    out = Tensor._make(array)
    if requires_grad:
        out.requires_grad = True
    return out


def _float_dtype(dtype: Any) -> np.dtype[Any]:
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def _size(size: tuple[Any, ...]) -> tuple[int, ...]:
    shape = _shape_args(size)
    if builtins.any(n < 0 for n in shape):
        raise ShapeError(f"sizes must be non-negative, got {shape}")
    return shape


def zeros(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    """A tensor of zeros of the given size: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _finish(np.zeros(_size(size), _float_dtype(dtype)), requires_grad, device)


def ones(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    return _finish(np.ones(_size(size), _float_dtype(dtype)), requires_grad, device)


def empty(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    """Zeros: chainrule never hands out uninitialised memory."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """A tensor filled with fill_value; its dtype follows the value (bool, int64 or float32)."""
    if dtype is None:
        dtype = dtypes.default_for(dtypes.scalar_category(_item(fill_value)) or 0)
    return _finish(
        np.full(_size((size,)), _item(fill_value), dtypes.as_dtype(dtype)), requires_grad, device
    )


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, Tensor) else value


def _like(
    make: Callable[..., Array], input: Tensor, dtype: Any, requires_grad: bool, device: Any
) -> Tensor:
    dtype = input.dtype if dtype is None else dtypes.as_dtype(dtype)
    return _finish(make(input.shape, dtype), requires_grad, device)


def zeros_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    return _like(np.zeros, input, dtype, requires_grad, device)


def ones_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    return _like(np.ones, input, dtype, requires_grad, device)


def empty_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False, **_: Any
) -> Tensor:
    return _like(np.zeros, input, dtype, requires_grad, device)


def full_like(
    input: Tensor,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    dtype = input.dtype if dtype is None else dtypes.as_dtype(dtype)
    return _finish(np.full(input.shape, _item(fill_value), dtype), requires_grad, device)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """[start, end) in steps: int64 when every argument is an integer, else float32."""
    if end is None:
        start, end = 0, start
    start, end, step = _item(start), _item(end), _item(step)
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        integral = builtins.all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (start, end, step)
        )
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    dtype = dtypes.as_dtype(dtype)
    # The count is computed in float64 and the values as start + i·step, as PyTorch does.
    count = builtins.max(0, int(np.ceil((float(end) - float(start)) / float(step))))
    values = start + np.arange(count, dtype=np.float64 if dtype.kind == "f" else np.int64) * step
    return _finish(values.astype(dtype), requires_grad, device)


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    values = np.linspace(float(_item(start)), float(_item(end)), int(steps))
    return _finish(values.astype(_float_dtype(dtype)), requires_grad, device)


def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    values = np.logspace(float(_item(start)), float(_item(end)), int(steps), base=base)
    return _finish(values.astype(_float_dtype(dtype)), requires_grad, device)


def _draw(size: tuple[Any, ...], dtype: Any, generator: Any, draw: Callable[..., Array]) -> Array:
    """Floating draws of ``size``: NumPy's generators draw float32 and float64 directly."""
    dtype = _float_dtype(dtype)
    draw_dtype = dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float64
    return draw(generator_of(generator), _size(size), draw_dtype).astype(dtype, copy=False)


def rand(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """Uniform on [0, 1)."""
    values = _draw(size, dtype, generator, lambda g, shape, d: g.random(shape, dtype=d))
    return _finish(values, requires_grad, device)


def randn(
    *size: Any,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """Standard normal."""
    values = _draw(size, dtype, generator, lambda g, shape, d: g.standard_normal(shape, dtype=d))
    return _finish(values, requires_grad, device)


def randint(
    *args: Any,
    size: Any = None,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in [low, high)."""
    if size is None:
        if not args:
            raise TypeError("randint needs a size")
        *args, size = args  # type: ignore[assignment]
    if len(args) == 1:
        low, high = 0, _item(args[0])
    elif len(args) == 2:
        low, high = _item(args[0]), _item(args[1])
    else:
        raise TypeError("randint takes (high, size) or (low, high, size)")
    values = generator_of(generator).integers(low, high, _size((size,)))
    return _finish(
        values.astype(dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)),
        requires_grad,
        device,
    )


def rand_like(input: Tensor, *, dtype: Any = None, generator: Any = None, **kwargs: Any) -> Tensor:
    return rand(
        input.shape, dtype=input.dtype if dtype is None else dtype, generator=generator, **kwargs
    )


def randn_like(input: Tensor, *, dtype: Any = None, generator: Any = None, **kwargs: Any) -> Tensor:
    return randn(
        input.shape, dtype=input.dtype if dtype is None else dtype, generator=generator, **kwargs
    )


def randint_like(
    input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None, **kwargs: Any
) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=input.dtype if dtype is None else dtype, **kwargs)


def randperm(
    n: int,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **_: Any,
) -> Tensor:
    values = generator_of(generator).permutation(int(n))
    return _finish(
        values.astype(dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)),
        requires_grad,
        device,
    )


def normal(
    mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, **kwargs: Any
) -> Tensor:
    """Normal draws: elementwise for tensor mean/std, or of the given size for numbers."""
    m, s = np.asarray(_arr(mean)), np.asarray(_arr(std))
    shape = _size((size,)) if size is not None else np.broadcast_shapes(m.shape, s.shape)
    dtype = m.dtype if m.dtype.kind == "f" else s.dtype if s.dtype.kind == "f" else None
    values = generator_of(generator).normal(m, s, shape)
    return _finish(
        values.astype(_float_dtype(dtype)), kwargs.get("requires_grad", False), kwargs.get("device")
    )


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """1 with probability input (or p), else 0, in input's dtype."""
    probability = input.array if p is None else p
    values = generator_of(generator).random(input.shape) < probability
    return Tensor._make(values.astype(input.dtype))


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Class indices drawn from the rows of input (non-negative weights)."""
    weights = np.atleast_2d(np.asarray(input.array, dtype=np.float64))
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ChainruleError("multinomial: weights must be finite and non-negative")
    rng = generator_of(generator)
    rows = []
    for row in weights:
        total = row.sum()
        if total <= 0:
            raise ChainruleError("multinomial: a row of weights sums to zero")
        if not replacement and num_samples > np.count_nonzero(row):
            raise ChainruleError(
                "multinomial: more samples than non-zero weights without replacement"
            )
        rows.append(rng.choice(len(row), size=num_samples, replace=replacement, p=row / total))
    out = np.asarray(rows, dtype=np.int64)
    return Tensor._make(out if input.ndim == 2 else out[0])


def _arr(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing the array's memory and keeping its dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}")
    return Tensor._make(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """The data as a tensor without a copy where possible: a tensor is returned as it is, a
    NumPy array shared (its dtype kept, as PyTorch); lists follow ``tensor``'s rules."""
    check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray):
        return Tensor._make(
            data if dtype is None else data.astype(dtypes.as_dtype(dtype), copy=False)
        )
    return tensor(data, dtype=dtype)


asarray = as_tensor


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.dtype.kind == "f"


def numel(input: Tensor) -> int:
    return input.numel()


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids; ``indexing='ij'`` (PyTorch's default) or ``'xy'``. Each grid is a
    broadcast view of its input, so gradients flow back to it."""
    items: Sequence[Any] = (
        tensors[0] if len(tensors) == 1 and not isinstance(tensors[0], Tensor) else tensors
    )
    items = [t if isinstance(t, Tensor) else tensor(t) for t in items]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid indexing must be 'ij' or 'xy', got {indexing!r}")
    sizes = [t.numel() for t in items]
    if indexing == "xy" and len(items) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(items):
        position = i
        if indexing == "xy" and len(items) >= 2 and i < 2:
            position = 1 - i
        shape = [1] * len(items)
        shape[position] = t.numel()
        grids.append(t.reshape(shape).expand(sizes))
    return tuple(grids)


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    return tuple(
        np.broadcast_shapes(*[tuple(s) if not isinstance(s, int) else (s,) for s in shapes])
    )


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def _legacy(dtype: np.dtype[Any]) -> Callable[..., Tensor]:
    def construct(*args: Any) -> Tensor:
        if args and all(isinstance(a, int | np.integer) for a in args):
            return zeros(*args, dtype=dtype)  # FloatTensor(2, 3): a size
        return tensor(args[0] if args else [], dtype=dtype)

    construct.__name__ = construct.__qualname__ = f"{dtype}Tensor"
    construct.__doc__ = f"PyTorch's legacy constructor: a {dtype} tensor from data or a size."
    return construct


# PyTorch's legacy typed constructors: torch.FloatTensor([1, 2]), torch.LongTensor(3).
FloatTensor = _legacy(dtypes.float32)
DoubleTensor = _legacy(dtypes.float64)
HalfTensor = _legacy(dtypes.float16)
LongTensor = _legacy(dtypes.int64)
IntTensor = _legacy(dtypes.int32)
ShortTensor = _legacy(dtypes.int16)
ByteTensor = _legacy(dtypes.uint8)
BoolTensor = _legacy(dtypes.bool_)
