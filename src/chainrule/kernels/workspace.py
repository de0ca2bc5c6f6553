"""Reusable scratch arrays for the large temporaries of a training step.

A convolution's column matrix and its gradient are tens of megabytes, allocated and freed every
step with the same shapes. Fresh memory of that size comes from the OS page by page, zeroed on
first touch (about a fifth of an MNIST CNN step measured so), so the ops hand such arrays back
here when they are done and the next step takes them again. Only arrays that nothing else can
reference are given back: an op's own temporaries, and what its context saved once backward
has run for the last time.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

# Arrays smaller than this are left to NumPy's allocator, which serves them well.
MIN_BYTES = 1 << 20
# At most this much memory is held idle here, and this many arrays of one shape.
MAX_BYTES = 1 << 29
PER_SHAPE = 4

_free: defaultdict[tuple[tuple[int, ...], str], list[np.ndarray]] = defaultdict(list)
_held = 0


def take(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array: one given back earlier when there is one."""
    global _held
    dtype = np.dtype(dtype)
    stack = _free.get((shape, dtype.str))
    if stack:
        array = stack.pop()
        _held -= array.nbytes
        return array
    return np.empty(shape, dtype=dtype)


def give(array: np.ndarray | None) -> None:
    """Hand back an array no one else references, for a later take() of its shape."""
    global _held
    if array is None or array.nbytes < MIN_BYTES or array.base is not None:
        return  # a view's memory belongs to its base
    if not array.flags.c_contiguous or not array.flags.writeable:
        return
    stack = _free[(array.shape, array.dtype.str)]
    if len(stack) >= PER_SHAPE or _held + array.nbytes > MAX_BYTES:
        return
    if any(a is array for a in stack):
        return
    stack.append(array)
    _held += array.nbytes


def clear() -> None:
    """Drop every idle array (their memory returns to the allocator)."""
    global _held
    _free.clear()
    _held = 0


def held_bytes() -> int:
    return _held
