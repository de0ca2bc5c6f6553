"""The hot loops under the ops, behind one small interface with two implementations.

An op keeps its math (what is computed, its derivative); the loops that move memory live here:
im2col/col2im and the layout changes around a convolution's matrix product, max pooling with the
argmax it saves, ReLU's forward and backward passes, batch norm's statistics and passes, an LSTM
step's gates, and the optimisers' fused updates.

- ``numpy``: the reference, NumPy only (its elementwise passes run on one thread; its matrix
  products, which the ops call directly, use BLAS's threads);
- ``numba``: the same functions compiled by numba (``pip install chainrule[fast]``), parallel
  over the threads ``chainrule.set_num_threads`` sets, each pass fused into one sweep over
  memory. Below a size where compiled dispatch costs more than it saves, it calls the reference.

The backend is chosen by ``CHAINRULE_KERNELS`` (``auto``, the default: numba when it imports;
``numpy``; ``numba``) and at run time by :func:`use`. Both are tested against each other and
every op's gradcheck runs on both.

A backend is a module providing every name in :data:`KERNELS` with the reference's signature and
results (float32 in, float32 out; the same argmax convention). A GPU backend (CuPy) would add
array creation (``empty``, ``zeros``) to this list, since the ops still allocate with NumPy.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..errors import ConfigError

KERNELS = (
    "relu",
    "relu_backward",
    "sgd_momentum",
    "adam",
    "im2col",
    "col2im",
    "im2col_images",
    "col2im_images",
    "conv_block_bytes",
    "to_images",
    "channels_first",
    "max_pool",
    "max_pool_backward",
    "lstm_cell",
    "lstm_cell_backward",
    "batch_norm_stats",
    "batch_norm_forward",
    "batch_norm_backward",
)
BACKENDS = ("numpy", "numba")

relu: Callable[..., Any]
relu_backward: Callable[..., Any]
sgd_momentum: Callable[..., Any]
adam: Callable[..., Any]
im2col: Callable[..., Any]
col2im: Callable[..., Any]
im2col_images: Callable[..., Any]
col2im_images: Callable[..., Any]
conv_block_bytes: Callable[..., Any]
to_images: Callable[..., Any]
channels_first: Callable[..., Any]
max_pool: Callable[..., Any]
max_pool_backward: Callable[..., Any]
lstm_cell: Callable[..., Any]
lstm_cell_backward: Callable[..., Any]
batch_norm_stats: Callable[..., Any]
batch_norm_forward: Callable[..., Any]
batch_norm_backward: Callable[..., Any]

_active: ModuleType | None = None
_threads: int | None = None


def _load(name: str) -> ModuleType:
    if name not in BACKENDS:
        raise ConfigError(f"unknown kernel backend {name!r}: choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(f".{name}_backend", __name__)
    except ImportError as error:
        raise ConfigError(
            f"the {name} kernels need {error.name}: pip install 'chainrule[fast]'"
        ) from None


def use(name: str) -> None:
    """Switch the kernels every op calls from now on: 'numpy', 'numba' or 'auto'."""
    global _active
    if name == "auto":
        try:
            _active = _load("numba")
        except ConfigError:
            _active = _load("numpy")
    else:
        _active = _load(name)
    # Plain module attributes: an op's kernels.relu(x) costs one lookup, not a dispatch.
    globals().update({kernel: getattr(_active, kernel) for kernel in KERNELS})
    if _threads is not None and hasattr(_active, "set_num_threads"):
        _active.set_num_threads(_threads)


def set_num_threads(num: int) -> None:
    """The compiled kernels' thread count (chainrule.set_num_threads sets BLAS's with it)."""
    global _threads
    _threads = num
    if _active is not None and hasattr(_active, "set_num_threads"):
        _active.set_num_threads(num)


def backend() -> str:
    """The active backend's name ('numpy' or 'numba'), choosing it now if no op has yet."""
    if _active is None:
        _choose()
    return str(globals()["_active"].NAME)


def _choose() -> None:
    use(os.environ.get("CHAINRULE_KERNELS", "auto").strip().lower() or "auto")


def _deferred(kernel: str) -> Any:
    """Stands in for a kernel until the first call chooses the backend (numba's import takes a
    quarter of a second, which a script that never reaches a kernel should not pay)."""

    def first_call(*args: Any, **kwargs: Any) -> Any:
        if _active is None:
            _choose()
        return globals()[kernel](*args, **kwargs)

    first_call.__name__ = kernel
    return first_call


globals().update({_kernel: _deferred(_kernel) for _kernel in KERNELS})
