"""``chainrule.Tensor``: PyTorch's tensor API over the engine.

The engine (the graph, apply, backward, in-place changes) is in ``graph.py``; the method families
are mixins in ``tensor_methods/``. Here: the class that joins them, its conversions and Python
protocols, and the functions that make tensors from data or from several tensors.

Reading order: ``graph.py`` (the chain rule), ``ops/`` (each op's forward and backward), then
``tensor_methods/`` and up the stack.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import dtypes, ops
from .arguments import MaxMin, _dim, _is_dtype, _pick, _shape_args
from .device import CPU, check_device
from .errors import ChainruleError, ShapeError, TensorError
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import (
    Node,
    TensorBase,
    _accumulate,
    _anomaly_hooks,
    _arr,
    _as_array,
    _run_backward,
    _seed,
    apply,
    bump_version,
    detect_anomaly,
    grad,
    make_tensor,
    register_tensor_class,
    set_strict,
)
from .tensor_methods import IndexMethods, InplaceMethods, MathMethods, ReduceMethods, ShapeMethods
from .tensor_methods.math import where

Array = npt.NDArray[Any]


class Tensor(TensorBase, MathMethods, ReduceMethods, ShapeMethods, IndexMethods, InplaceMethods):
    """An array with an optional gradient and a record of the op that made it.

    ``Tensor(data)`` is PyTorch's legacy constructor: a float tensor (float32, the default float
    type, unless ``dtype`` says otherwise), sharing a NumPy array of that dtype rather than
    copying it; ``Tensor(2, 3)`` is a (2, 3) tensor of zeros. ``chainrule.tensor(data)`` is the
    usual way to make one: it copies, and keeps integers and bools as they are.

    Args:
        data: array-like.
        requires_grad: accumulate ``.grad`` for this tensor during ``backward()``.
        dtype: e.g. ``chainrule.float64`` for gradient checks.
    """

    __slots__ = ()

    @property
    def device(self) -> Any:
        return CPU

    @property
    def is_cuda(self) -> builtins.bool:
        return False

    @property
    def itemsize(self) -> int:
        return self.array.itemsize

    @property
    def nbytes(self) -> int:
        return self.array.nbytes

    def size(self, dim: int | None = None) -> Any:
        """The shape, or one dim's length, as ``torch.Tensor.size``."""
        return self.shape if dim is None else self.shape[_dim(dim, self.ndim)]

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    def numel(self) -> int:
        return self.array.size

    nelement = numel

    def element_size(self) -> int:
        return self.array.itemsize

    def stride(self, dim: int | None = None) -> Any:
        strides = tuple(s // self.array.itemsize for s in self.array.strides)
        return strides if dim is None else strides[_dim(dim, self.ndim)]

    def is_contiguous(self) -> builtins.bool:
        return builtins.bool(self.array.flags.c_contiguous)

    def is_floating_point(self) -> builtins.bool:
        return self.array.dtype.kind == "f"

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        """All dims reversed."""
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ShapeError(f"mT needs at least 2 dimensions, got shape {self.shape}")
        return self.transpose(-2, -1)

    H = T  # real tensors: the conjugate transpose is the transpose

    mH = mT  # noqa: N815 (PyTorch's name)

    def numpy(self, force: builtins.bool = False) -> Array:
        """The underlying array (shared, not copied), as ``Tensor.numpy()`` in PyTorch."""
        return self.array.copy() if force else self.array

    def __array__(self, dtype: Any = None, copy: Any = None) -> Array:
        array = self.array if dtype is None else self.array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def item(self) -> Any:
        if self.array.size != 1:
            raise ShapeError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.array.item()

    def tolist(self) -> Any:
        return self.array.tolist()

    def clone(self, *, memory_format: Any = None) -> Tensor:
        """A copy in new memory; gradients flow through it."""
        return apply(ops.Clone, self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        return self if self.array.flags.c_contiguous else apply(ops.Clone, self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(other)``, ``to(device, dtype)``: only the dtype
        matters (chainrule computes on the CPU)."""
        dtype = kwargs.pop("dtype", None)
        if "device" in kwargs:
            check_device(kwargs.pop("device"))
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, TensorBase):
                dtype = arg.dtype
            elif _is_dtype(arg):
                dtype = arg
            else:
                check_device(arg)
        return self if dtype is None else self._cast(dtypes.as_dtype(dtype))

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return f"chainrule.{self.dtype}"
        return self._cast(dtypes.as_dtype(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self._cast(other.dtype)

    def float(self) -> Tensor:
        return self._cast(dtypes.float32)

    def double(self) -> Tensor:
        return self._cast(dtypes.float64)

    def half(self) -> Tensor:
        return self._cast(dtypes.float16)

    def long(self) -> Tensor:
        return self._cast(dtypes.int64)

    def int(self) -> Tensor:
        return self._cast(dtypes.int32)

    def short(self) -> Tensor:
        return self._cast(dtypes.int16)

    def byte(self) -> Tensor:
        return self._cast(dtypes.uint8)

    def bool(self) -> Tensor:
        return self._cast(dtypes.bool_)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        check_device("cuda")
        return self

    def pin_memory(self) -> Tensor:
        return self

    def share_memory_(self) -> Tensor:
        return self

    def new_tensor(
        self, data: Any, dtype: Any = None, requires_grad: builtins.bool = False
    ) -> Tensor:
        return tensor(
            data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad
        )

    def new_zeros(self, *size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        return self._new(np.zeros, size, dtype, kwargs)

    def new_ones(self, *size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        return self._new(np.ones, size, dtype, kwargs)

    def new_empty(self, *size: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        return self._new(np.zeros, size, dtype, kwargs)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        shape = _shape_args((size,))
        out = make_tensor(np.full(shape, fill_value, dtype=self.dtype if dtype is None else dtype))
        return out.requires_grad_(kwargs.get("requires_grad", False))

    def _new(self, make: Callable[..., Array], size: Any, dtype: Any, kwargs: Any) -> Tensor:
        dtype = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        out = make_tensor(make(_shape_args(size), dtype=dtype))
        return out.requires_grad_(kwargs.get("requires_grad", False))

    def __repr__(self) -> str:
        body = _format_array(self.array)
        default = self.dtype in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_)
        extra = "" if default else f", dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn={self._node!r}"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __format__(self, spec: str) -> str:
        if self.array.size == 1 and self.array.ndim == 0:
            return format(self.array.item(), spec)
        return format(repr(self), spec) if spec else repr(self)

    def __bool__(self) -> builtins.bool:
        if self.array.size != 1:
            raise TensorError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return builtins.bool(self.array.item())

    def __float__(self) -> float:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return builtins.int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.array.item())

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __iter__(self) -> Iterator[Tensor]:
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.array)))

    def __contains__(self, element: Any) -> builtins.bool:
        return builtins.bool((self.array == _arr(element)).any())

    def __hash__(self) -> int:
        return id(self)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the class does not define.
        raise AttributeError(
            f"'Tensor' object has no attribute {name!r}: torch.Tensor.{name} is not supported "
            "by chainrule (docs/pytorch.md lists what is)"
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        if self._node is not None:
            raise ChainruleError(
                "only leaf tensors (made by the user, not by an op) can be deep-copied; "
                "detach() first"
            )
        out = type(self)._make(self.array.copy(), self._requires_grad)
        if self._grad is not None:
            out._grad = make_tensor(self._grad.array.copy())
        memo[id(self)] = out
        return out


register_tensor_class(Tensor)


# torch.set_printoptions's settings (PyTorch's defaults).
_PRINT = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": 2**63 - 1, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: builtins.bool | None = None,
) -> None:
    """How tensors print, as ``torch.set_printoptions`` (a profile first, then the others)."""
    if profile is not None:
        _PRINT.update(_PROFILES[profile])
        _PRINT["sci_mode"] = None
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):  # fmt: skip
        if value is not None:
            _PRINT[key] = value
    if sci_mode is not None or profile is not None:
        _PRINT["sci_mode"] = sci_mode


def _format_array(a: Array) -> str:
    """Elements as PyTorch prints them: integral floats as ``1.``, others with 4 decimals (the
    precision), or in scientific notation when magnitudes span more than 1000x (or pass 1e8 or
    fall under 1e-4, unless sci_mode says otherwise); every element padded to one width; more
    than 1000 elements (the threshold) summarised."""
    digits, threshold, edge = _PRINT["precision"], _PRINT["threshold"], _PRINT["edgeitems"]
    options = {"threshold": threshold, "edgeitems": edge, "max_line_width": _PRINT["linewidth"]}
    if a.dtype.kind == "f" and a.size:
        finite = a[np.isfinite(a)]
        nonzero = np.abs(finite[finite != 0]).astype(np.float64)
        sci = _PRINT["sci_mode"]
        if finite.size and np.all(finite == np.round(finite)) and not sci:
            spec = "int"
        elif sci or (
            sci is None
            and nonzero.size
            and (
                nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8 or nonzero.min() < 1e-4
            )
        ):
            spec = f"{{:.{digits}e}}"
        else:
            spec = f"{{:.{digits}f}}"

        def element(v: Any) -> str:
            if not np.isfinite(v):
                return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
            return f"{v:.0f}." if spec == "int" else spec.format(v)

        big = finite.size > threshold
        shown = np.concatenate([finite[:edge], finite[-edge:]]) if big else finite
        width = builtins.max((len(element(v)) for v in shown), default=0)
        formatter = {"float_kind": lambda v: element(v).rjust(width)}
        return np.array2string(a, separator=", ", prefix="tensor(", formatter=formatter, **options)
    return np.array2string(a, separator=", ", prefix="tensor(", **options)


def tensor(
    data: Any,
    requires_grad: builtins.bool = False,
    dtype: Any = None,
    *,
    device: Any = None,
    pin_memory: builtins.bool = False,
) -> Tensor:
    """A new tensor holding a copy of data, as ``torch.tensor``: floats become float32 (the
    default float type) unless ``dtype`` is given; ints int64; bools bool. (PyTorch takes
    requires_grad and dtype by keyword only; chainrule also accepts them by position.)"""
    if device is not None:
        check_device(device)
    out = make_tensor(np.array(_as_array(data, dtype), copy=True))
    if requires_grad:
        out.requires_grad = True
    return out


def concatenate(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``)."""
    items = list(tensors)
    if not items:
        raise ShapeError("cat expects a non-empty sequence of tensors")
    if builtins.any(np.ndim(_arr(t)) > 1 for t in items):
        # PyTorch skips empty 1-d tensors (the legacy ``torch.tensor([])``) beside larger ones.
        items = [t for t in items if np.shape(_arr(t)) != (0,)]
    first = items[0]
    ndim = np.ndim(_arr(first))
    if ndim == 0:
        raise ShapeError("cat: 0-d tensors cannot be joined along a dim (stack them instead)")
    d = _dim(_pick(dim, axis), ndim)
    for i, t in enumerate(items):
        shape = np.shape(_arr(t))
        if len(shape) != ndim or builtins.any(
            shape[k] != np.shape(_arr(first))[k] for k in range(ndim) if k != d
        ):
            raise ShapeError(
                f"cat along dim {d}: tensor {i} has shape {tuple(shape)}, which does not match "
                f"tensor 0's {tuple(np.shape(_arr(first)))} outside dim {d}"
            )
    return apply(ops.Concatenate, *items, axis=d)


cat = concat = concatenate


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join same-shape tensors along a new dim."""
    items = [t if isinstance(t, TensorBase) else tensor(t) for t in tensors]
    if not items:
        raise ShapeError("stack expects a non-empty sequence of tensors")
    shapes = {t.shape for t in items}
    if len(shapes) > 1:
        raise ShapeError(f"stack expects tensors of one shape, got {sorted(shapes)}")
    d = _dim(dim, items[0].ndim + 1)
    return concatenate([t.unsqueeze(d) for t in items], d)


__all__ = [
    "MaxMin",
    "Node",
    "Tensor",
    "_accumulate",
    "_anomaly_hooks",
    "_run_backward",
    "_seed",
    "apply",
    "bump_version",
    "cat",
    "concat",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "set_strict",
    "stack",
    "tensor",
    "where",
]
