"""Padding layers, thin over ``F.pad``: zeros, a constant, reflection, replication and circular
(wrap-around), each for 1, 2 or 3 trailing dims, with PyTorch's names and reprs.

padding is an int (every side) or (left, right[, top, bottom[, front, back]]), the last dim
first, as ``F.pad``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ..errors import ConfigError, ShapeError
from ..tensor import Tensor
from .module import Module


def _widths(layer: str, padding: int | Sequence[int], dims: int) -> tuple[int, ...]:
    if isinstance(padding, int | np.integer):
        return (int(padding),) * (2 * dims)
    widths = tuple(padding)
    if len(widths) != 2 * dims or not all(isinstance(w, int | np.integer) for w in widths):
        raise ConfigError(f"{layer}: padding must be an int or {2 * dims} ints, got {padding!r}")
    return tuple(int(w) for w in widths)


class _Pad(Module):
    """Pads the last `dims` dims of input with `F.pad` in `mode`."""

    dims = 0
    mode = "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _widths(type(self).__name__, padding, self.dims)

    def _check(self, input: Tensor) -> None:
        # PyTorch's non-constant modes take (C, *spatial) or (N, C, *spatial) only; constant
        # padding takes anything with the dims to pad.
        least = self.dims + 1 if self.mode != "constant" else self.dims
        most = self.dims + 2 if self.mode != "constant" else None
        if input.ndim < least or (most is not None and input.ndim > most):
            wanted = f"{least} or {most} dims" if most is not None else f"at least {least} dims"
            raise ShapeError(
                f"{type(self).__name__}{self.padding} expects input of {wanted}, got shape "
                f"{input.shape}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check(input)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        self._check(input)
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPad):
    """Pads the last dim with value: padding int or (left, right)."""

    dims = 1


class ConstantPad2d(_ConstantPad):
    """Pads the last 2 dims with value: padding int or (left, right, top, bottom)."""

    dims = 2


class ConstantPad3d(_ConstantPad):
    """Pads the last 3 dims with value: padding int or (left, right, top, bottom, front, back)."""

    dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last 3 dims with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_Pad):
    """Mirrors the last dim about its edges (the edge itself not repeated); padding below its
    size."""

    dims, mode = 1, "reflect"


class ReflectionPad2d(_Pad):
    """Mirrors the last 2 dims about their edges."""

    dims, mode = 2, "reflect"


class ReflectionPad3d(_Pad):
    """Mirrors the last 3 dims about their edges."""

    dims, mode = 3, "reflect"


class ReplicationPad1d(_Pad):
    """Repeats the edge values of the last dim."""

    dims, mode = 1, "replicate"


class ReplicationPad2d(_Pad):
    """Repeats the edge values of the last 2 dims."""

    dims, mode = 2, "replicate"


class ReplicationPad3d(_Pad):
    """Repeats the edge values of the last 3 dims."""

    dims, mode = 3, "replicate"


class CircularPad1d(_Pad):
    """Wraps the last dim around (the left pad comes from the right end); padding at most its
    size."""

    dims, mode = 1, "circular"


class CircularPad2d(_Pad):
    """Wraps the last 2 dims around."""

    dims, mode = 2, "circular"


class CircularPad3d(_Pad):
    """Wraps the last 3 dims around."""

    dims, mode = 3, "circular"


__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]
