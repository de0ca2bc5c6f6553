"""Tensor, apply() and backward(): the graph and the chain rule live here and nowhere else.

A Tensor wraps a NumPy array. When an op runs on tensors that require gradients, ``apply`` records
a Node (PyTorch's ``grad_fn``): the op, its Context, and an edge to each input's own Node (or to
the input itself when it is a leaf). ``Tensor.backward`` walks the Nodes in reverse topological
order (found with an explicit stack, so depth is not bounded by Python's recursion limit), calls
each op's backward, sums each gradient back to its input's shape, accumulates, and frees the Node,
so no graph outlives its backward pass.

Three rules keep every gradient right on every graph, however often tensors are reused:

- Ownership. Pending gradients are summed out of place; an array becomes a leaf's ``.grad`` only
  when the engine can prove no other place holds it (not the incoming gradient, not a view, not
  saved, not returned twice), otherwise it is copied; ``grad_out`` is read-only while an op's
  backward runs. So an in-place ``+=`` on one ``.grad`` never changes another.
- Versions. Every in-place change bumps a counter that a tensor shares with its views; a Node
  records the versions of the inputs (and output) whose memory it saved, and backward refuses to
  use a changed one: a clear error, never a silently wrong gradient.
- In-place ops in grad mode are recorded as PyTorch records them: the new value's history becomes
  the tensor's (and, for a view, its base's), while Nodes made earlier keep the old history.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import itertools
import math
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from . import dtypes, ops
from .errors import ChainruleError, ShapeError, TensorError

Array = npt.NDArray[Any]
F = TypeVar("F", bound=Callable[..., Any])

_grad_enabled = True
_anomaly_hooks: list[Callable[[type[ops.Function], Array], None]] = []
_serials = itertools.count(1)
_strict = os.environ.get("CHAINRULE_STRICT", "") not in ("", "0")


# ============================================================================ grad modes
def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled:  # noqa: N801 (PyTorch's name)
    """Turn recording on or off: now (as a call) and for a ``with`` block (restored after)."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.previous, self.mode = _grad_enabled, builtins.bool(mode)
        _grad_enabled = self.mode

    def __enter__(self) -> None:
        global _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, func: F) -> F:
        global _grad_enabled
        _grad_enabled = self.previous  # as a decorator it applies to calls, not from now on
        return _decorate(func, self.mode)


def _decorate(func: F, mode: bool) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _grad_enabled
        previous, _grad_enabled = _grad_enabled, mode
        try:
            return func(*args, **kwargs)
        finally:
            _grad_enabled = previous

    return wrapper  # type: ignore[return-value]


class _GradMode:
    """A context manager and decorator that sets grad mode for its block (``@no_grad`` or
    ``@no_grad()`` both decorate)."""

    mode: builtins.bool = False

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        if func is not None and callable(func):
            return _decorate(func, cls.mode)
        return super().__new__(cls)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        self.previous = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, func: F) -> F:
        return _decorate(func, self.mode)


class no_grad(_GradMode):  # noqa: N801 (PyTorch's name)
    """Inside it ops record no graph (evaluation, optimiser updates), as ``torch.no_grad``."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Record again inside a ``no_grad`` block, as ``torch.enable_grad``."""

    mode = True


class inference_mode(_GradMode):  # noqa: N801
    """``torch.inference_mode``: the same as ``no_grad`` here."""

    mode = False

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return _decorate(mode, False)
        instance = object.__new__(cls)
        instance.mode = not builtins.bool(mode)
        return instance


# ============================================================================ the graph
class _Version:
    """How many in-place changes a tensor's memory has seen; shared by a tensor and its views."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


class Node:
    """One recorded op application: PyTorch's ``grad_fn``.

    ``parents`` has one entry per op input: the input's Node, the input Tensor itself when it is
    a leaf that requires grad, or None. ``shape`` and ``dtype`` are the output's, for summing
    gradients back; ``versions`` the (counter, value) pairs that backward checks.
    """

    __slots__ = (
        "__weakref__",
        "ctx",
        "dtype",
        "hooks",
        "op",
        "parents",
        "retained",
        "serial",
        "shape",
        "versions",
    )

    def __init__(
        self,
        op: type[ops.Function],
        ctx: ops.Context,
        parents: tuple[Any, ...],
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        versions: tuple[tuple[_Version, int], ...],
    ) -> None:
        self.op, self.ctx, self.parents = op, ctx, parents
        self.shape, self.dtype, self.versions = shape, dtype, versions
        self.retained: weakref.ref[Tensor] | None = None
        self.hooks: list[Callable[[Tensor], Any]] | None = None
        self.serial = next(_serials)

    def name(self) -> str:
        return f"{self.op.__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        if self.parents is None:
            return ()
        return tuple((p, 0) for p in self.parents)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def _root(a: Any) -> Any:
    """The object that owns an array's memory (views point to it through ``.base``)."""
    base = getattr(a, "base", None)
    while base is not None:
        a = base
        base = getattr(a, "base", None)
    return a


def _version_of(t: Tensor) -> _Version:
    v = t._version
    if v is None:
        v = t._version = _Version()
    return v


_FREED = (
    "the graph behind this tensor was already freed by an earlier backward(); "
    "call backward(retain_graph=True) the first time to go through it twice"
)


# ============================================================================ arguments
def _dim(dim: Any, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative index; 0-d tensors accept 0 and -1."""
    n = builtins.max(ndim, 1)
    if not isinstance(dim, int | np.integer) or isinstance(dim, builtins.bool):
        raise TypeError(f"a dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(
            f"dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def _axes(dim: Any, ndim: int) -> tuple[int, ...] | None:
    """Reduction dims as a tuple of non-negative ints, or None for every dim (also for 0-d)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    normalised = tuple(_dim(d, ndim) for d in dims)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"dim {dims} names a dimension more than once")
    if ndim == 0 or not normalised:
        return None
    return tuple(sorted(normalised))


def _pick(dim: Any, axis: Any) -> Any:
    """PyTorch's ``dim=`` with NumPy's ``axis=`` as an alias."""
    return dim if axis is None else axis


def _shape_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
    if len(args) == 1 and not isinstance(args[0], int | np.integer):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _index_array(item: Any) -> Any:
    if isinstance(item, Tensor):
        item = item.array
    elif isinstance(item, list):
        item = np.asarray([i.array if isinstance(i, Tensor) else i for i in item])
    if isinstance(item, np.ndarray):
        if item.dtype.kind not in "iub":
            raise IndexError(
                f"tensors used as indices must be integer or bool, got dtype {item.dtype}"
            )
        if item.dtype == np.uint8:
            item = item.astype(np.int64)
    return item


def _index_steps(index: Any) -> tuple[Any, ...]:
    """PyTorch's indexing as NumPy steps (see ops.index): ints select before advanced indices
    apply, so ``x[0, :, [0, 1]]`` on (2, 3, 4) is (3, 2) as in PyTorch, not NumPy's (2, 3)."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(_index_array(i) for i in items)
    has_int = any(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in items)
    has_array = any(isinstance(i, np.ndarray) for i in items)
    has_ellipsis = any(i is Ellipsis for i in items)
    if not has_array:
        # A trailing Ellipsis makes NumPy return a 0-d view, not a copied scalar, for x[0, 0].
        return (items if has_ellipsis else (*items, Ellipsis),)
    if not has_int:
        return (items,)
    first: list[Any] = []
    second: list[Any] = []
    for i in items:
        if isinstance(i, np.ndarray):
            first.extend([slice(None)] * (i.ndim if i.dtype == bool else 1))
            second.append(i)
        elif isinstance(i, int | np.integer):
            first.append(i)
        elif i is Ellipsis:
            first.append(i)
            second.append(i)
        else:  # a slice or None: kept by the first step, passed over by the second
            first.append(i)
            second.append(slice(None))
    if not has_ellipsis:
        first.append(Ellipsis)
    return (tuple(first), tuple(second))


class _HookHandle:
    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def _run_hooks(hooks: list[Any], grad: Array) -> tuple[Array, builtins.bool]:
    """Apply gradient hooks in order; True when one replaced the gradient."""
    replaced = False
    for hook in list(hooks):
        view = grad.view()
        view.flags.writeable = False
        result = hook(Tensor._make(view))
        if result is not None:
            new = result.array if isinstance(result, Tensor) else np.asarray(result)
            if new.shape != grad.shape:
                raise ShapeError(
                    f"a gradient hook returned shape {new.shape}, the gradient has {grad.shape}"
                )
            grad, replaced = new.astype(grad.dtype, copy=False), True
    return grad, replaced


class MaxMin(NamedTuple):
    """``max(dim)``/``min(dim)``/``sort``/``topk``: values and their indices, as in PyTorch."""

    values: Tensor
    indices: Tensor


# ============================================================================ Tensor
class Tensor:
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

    __slots__ = (
        "__weakref__",
        "_grad",
        "_hooks",
        "_node",
        "_requires_grad",
        "_version",
        "_view",
        "_view_version",
        "array",
    )
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(
        self, data: Any = (), requires_grad: Any = False, dtype: Any = None, *sizes: int
    ) -> None:
        if isinstance(requires_grad, int) and not isinstance(requires_grad, builtins.bool):
            # Tensor(2, 3): PyTorch's legacy constructor of a float tensor of that size (zeros).
            shape = (data, requires_grad, *((dtype,) if dtype is not None else ()), *sizes)
            data, requires_grad, dtype = np.zeros(_shape_args(shape)), False, None
        array = _as_array(data, dtype)
        if dtype is None and array.dtype.kind in "biu":
            array = array.astype(dtypes.get_default_dtype())  # Tensor(...) is a float tensor
        self.array: Array = array
        self._grad: Tensor | None = None
        self._hooks: list[Callable[[Tensor], Any]] | None = None
        self._node: Node | None = None
        self._version: _Version | None = None
        self._view: tuple[Tensor, tuple[Any, ...]] | None = None
        self._view_version = 0
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, array: Array, requires_grad: builtins.bool = False) -> Tensor:
        out = object.__new__(cls)
        out.array, out._requires_grad, out._grad = array, requires_grad, None
        out._node = out._version = out._view = out._hooks = None
        out._view_version = 0
        return out

    # ------------------------------------------------------------------ attributes
    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside the graph (PyTorch's ``.data``: changes made
        through it are not tracked; prefer ``detach()`` or ``no_grad()``)."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, Tensor) else _as_array(value, None)

    @property
    def grad(self) -> Tensor | None:
        """d(loss)/d(self) after ``backward()``: a Tensor of this tensor's shape and dtype."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        grad = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value))
        if grad.shape != self.shape:
            raise ShapeError(f"assigned grad has shape {grad.shape}, the tensor has {self.shape}")
        if grad.dtype != self.dtype:
            raise TypeError(f"assigned grad has dtype {grad.dtype}, the tensor has {self.dtype}")
        self._grad = grad

    @property
    def requires_grad(self) -> builtins.bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: builtins.bool) -> None:
        value = builtins.bool(value)
        if self._node is not None and not value:
            raise TensorError(
                "requires_grad can only be changed on leaf tensors; use detach() to cut a "
                "computed tensor from its graph"
            )
        if value and self.array.dtype.kind not in "fc":
            raise TensorError(
                f"only floating-point tensors can require gradients, got dtype {self.dtype}"
            )
        self._requires_grad = value

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors the user made (and for everything that does not require grad)."""
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        return self._node

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> Any:
        from .device import CPU

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

    # ------------------------------------------------------------------ conversion
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

    def detach(self) -> Tensor:
        """The same memory, cut from the graph (changes through it are seen by backward's
        version checks, as in PyTorch)."""
        out = Tensor._make(self.array)
        out._version = _version_of(self)
        return out

    def detach_(self) -> Tensor:
        self._node, self._requires_grad = None, False
        return self

    def clone(self, *, memory_format: Any = None) -> Tensor:
        """A copy in new memory; gradients flow through it."""
        return apply(ops.Clone, self)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        return self if self.array.flags.c_contiguous else apply(ops.Clone, self)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(other)``, ``to(device, dtype)``: only the dtype
        matters (chainrule computes on the CPU)."""
        from .device import check_device

        dtype = kwargs.pop("dtype", None)
        if "device" in kwargs:
            check_device(kwargs.pop("device"))
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif _is_dtype(arg):
                dtype = arg
            else:
                check_device(arg)
        return self if dtype is None else self._cast(dtypes.as_dtype(dtype))

    def _cast(self, dtype: np.dtype[Any]) -> Tensor:
        if dtype == self.array.dtype:
            return self
        if self._requires_grad and dtype.kind == "f":
            return apply(ops.Cast, self, dtype=dtype)
        return Tensor._make(self.array.astype(dtype))

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
        from .device import check_device

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
        out = Tensor._make(np.full(shape, fill_value, dtype=self.dtype if dtype is None else dtype))
        return out.requires_grad_(kwargs.get("requires_grad", False))

    def _new(self, make: Callable[..., Array], size: Any, dtype: Any, kwargs: Any) -> Tensor:
        dtype = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        out = Tensor._make(make(_shape_args(size), dtype=dtype))
        return out.requires_grad_(kwargs.get("requires_grad", False))

    # ------------------------------------------------------------------ Python protocols
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
            out._grad = Tensor._make(self._grad.array.copy())
        memo[id(self)] = out
        return out

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return apply(ops.Add, self, other)

    def __radd__(self, other: Any) -> Tensor:
        return apply(ops.Add, other, self)

    def __sub__(self, other: Any) -> Tensor:
        return apply(ops.Sub, self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return apply(ops.Sub, other, self)

    def __mul__(self, other: Any) -> Tensor:
        return apply(ops.Mul, self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return apply(ops.Mul, other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply(ops.Div, self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(ops.Div, other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return self.floor_divide(other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _lift(other, self).floor_divide(self)

    def __mod__(self, other: Any) -> Tensor:
        return apply(ops.Remainder, self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return apply(ops.Remainder, other, self)

    def __neg__(self) -> Tensor:
        return apply(ops.Neg, self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(ops.Abs, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return apply(ops.Pow, self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return apply(ops.Pow, base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return self.matmul(other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _lift(other, self).matmul(self)

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return apply(ops.Add, self, other if alpha == 1 else other * alpha)

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return apply(ops.Sub, self, other if alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        return apply(ops.Mul, self, other)

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return apply(ops.Div, self, other)
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            dtype = _result_dtype((self, other))
            if dtype is not None and dtype.kind in "iub":
                a, b = self.array, np.asarray(_arr(other))
                quotient = np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)
                return Tensor._make(np.asarray(quotient, dtype=dtype))
            return apply(ops.Div, self, other).trunc()
        raise ValueError(f"rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")

    divide = true_divide = div

    def floor_divide(self, other: Any) -> Tensor:
        """⌊a / b⌋, of the promoted dtype (exact for integers); its gradient is 0."""
        dtype = _result_dtype((self, other))
        if dtype is not None and dtype.kind in "iub":
            return Tensor._make(np.asarray(np.floor_divide(self.array, _arr(other)), dtype=dtype))
        return apply(ops.Div, self, other).floor()

    def remainder(self, other: Any) -> Tensor:
        return apply(ops.Remainder, self, other)

    def fmod(self, other: Any) -> Tensor:
        return apply(ops.Fmod, self, other)

    def neg(self) -> Tensor:
        return apply(ops.Neg, self)

    negative = neg

    def pow(self, exponent: Any) -> Tensor:
        return apply(ops.Pow, self, exponent)

    def matmul(self, other: Any) -> Tensor:
        other_shape = np.shape(_arr(other))
        if self.ndim == 0 or len(other_shape) == 0:
            raise ShapeError(
                f"matmul needs tensors of at least 1 dimension, got {self.shape} and {other_shape}"
            )
        inner_a = self.shape[-1]
        inner_b = other_shape[0] if len(other_shape) == 1 else other_shape[-2]
        if inner_a != inner_b:
            raise ShapeError(
                f"matmul: shapes {self.shape} and {tuple(other_shape)} cannot be multiplied "
                f"({inner_a} != {inner_b})"
            )
        return apply(ops.MatMul, self, other)

    def mm(self, other: Any) -> Tensor:
        if self.ndim != 2 or np.ndim(_arr(other)) != 2:
            raise ShapeError(f"mm needs two matrices, got {self.shape} and {np.shape(_arr(other))}")
        return self.matmul(other)

    def bmm(self, other: Any) -> Tensor:
        if self.ndim != 3 or np.ndim(_arr(other)) != 3:
            raise ShapeError(
                f"bmm needs two 3-d tensors, got {self.shape} and {np.shape(_arr(other))}"
            )
        return self.matmul(other)

    def mv(self, vec: Any) -> Tensor:
        return self.matmul(vec)

    def dot(self, other: Any) -> Tensor:
        if self.ndim != 1 or np.ndim(_arr(other)) != 1:
            raise ShapeError(f"dot needs two vectors, got {self.shape} and {np.shape(_arr(other))}")
        return self.matmul(other)

    inner = dot

    def outer(self, other: Any) -> Tensor:
        return self.reshape(-1, 1) * _lift(other, self).reshape(1, -1)

    ger = outer

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        product = _lift(mat1, self).matmul(mat2)
        return (self if beta == 1 else self * beta) + (product if alpha == 1 else product * alpha)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self + _lift(tensor1, self) * tensor2 * value

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self + _lift(tensor1, self) / tensor2 * value

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return self + (_lift(end, self) - self) * weight

    # ------------------------------------------------------------------ comparisons and logic
    # They give bool tensors with no graph, as in PyTorch.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(np.not_equal, other)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    def _compare(self, ufunc: np.ufunc, other: Any) -> Tensor:
        if other is None:
            return NotImplemented
        try:
            return Tensor._make(np.asarray(ufunc(self.array, _arr(other))))
        except TypeError:
            return NotImplemented  # not array-like: let the other side compare

    def eq(self, other: Any) -> Tensor:
        return self._compare(np.equal, other)

    def ne(self, other: Any) -> Tensor:
        return self._compare(np.not_equal, other)

    not_equal = ne

    def lt(self, other: Any) -> Tensor:
        return self._compare(np.less, other)

    less = lt

    def le(self, other: Any) -> Tensor:
        return self._compare(np.less_equal, other)

    less_equal = le

    def gt(self, other: Any) -> Tensor:
        return self._compare(np.greater, other)

    greater = gt

    def ge(self, other: Any) -> Tensor:
        return self._compare(np.greater_equal, other)

    greater_equal = ge

    def equal(self, other: Any) -> builtins.bool:
        """True when both have the same shape and elements (a Python bool, as torch.equal)."""
        other_array = _arr(other)
        return self.shape == np.shape(other_array) and builtins.bool(
            np.array_equal(self.array, other_array)
        )

    def allclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: builtins.bool = False
    ) -> builtins.bool:
        return builtins.bool(np.allclose(self.array, _arr(other), rtol, atol, equal_nan))

    def isclose(
        self, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: builtins.bool = False
    ) -> Tensor:
        return Tensor._make(np.isclose(self.array, _arr(other), rtol, atol, equal_nan))

    def _logic(self, ufunc: np.ufunc, other: Any = None) -> Tensor:
        if other is None:
            return Tensor._make(np.asarray(ufunc(self.array)))
        return Tensor._make(np.asarray(ufunc(self.array, _arr(other))))

    def __and__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_and, other)

    __rand__ = __and__

    def __or__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_or, other)

    __ror__ = __or__

    def __xor__(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_xor, other)

    __rxor__ = __xor__

    def __invert__(self) -> Tensor:
        return self._logic(np.invert)

    def __lshift__(self, other: Any) -> Tensor:
        return self._logic(np.left_shift, other)

    def __rshift__(self, other: Any) -> Tensor:
        return self._logic(np.right_shift, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_and, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_or, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return self._logic(np.bitwise_xor, other)

    def bitwise_not(self) -> Tensor:
        return self._logic(np.invert)

    def logical_and(self, other: Any) -> Tensor:
        return self._logic(np.logical_and, other)

    def logical_or(self, other: Any) -> Tensor:
        return self._logic(np.logical_or, other)

    def logical_xor(self, other: Any) -> Tensor:
        return self._logic(np.logical_xor, other)

    def logical_not(self) -> Tensor:
        return self._logic(np.logical_not)

    def isnan(self) -> Tensor:
        return self._logic(np.isnan)

    def isinf(self) -> Tensor:
        return self._logic(np.isinf)

    def isfinite(self) -> Tensor:
        return self._logic(np.isfinite)

    def isposinf(self) -> Tensor:
        return self._logic(np.isposinf)

    def isneginf(self) -> Tensor:
        return self._logic(np.isneginf)

    def signbit(self) -> Tensor:
        return self._logic(np.signbit)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        indices = np.nonzero(self.array)
        if as_tuple:
            return tuple(Tensor._make(i) for i in indices)
        return Tensor._make(np.stack(indices, axis=1) if indices else np.zeros((1, 0), np.int64))

    def unique(
        self,
        sorted: builtins.bool = True,
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values (sorted), and optionally where each element went and how many
        times each value occurs; no gradient, as in PyTorch."""
        axis = None if dim is None else _dim(dim, self.ndim)
        values, inverse, counts = np.unique(
            self.array, return_inverse=True, return_counts=True, axis=axis
        )
        out = [Tensor._make(values)]
        if return_inverse:
            shape = self.shape if axis is None else (self.shape[axis],)
            out.append(Tensor._make(inverse.reshape(shape).astype(np.int64)))
        if return_counts:
            out.append(Tensor._make(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        if self.ndim != 1 or self.dtype.kind not in "iu":
            raise ShapeError(f"bincount needs a 1-d integer tensor, got {self.shape} {self.dtype}")
        w = None if weights is None else np.asarray(_arr(weights))
        counts = np.bincount(self.array, weights=w, minlength=minlength)
        dtype = dtypes.int64 if w is None else (w.dtype if w.dtype.kind == "f" else dtypes.float64)
        return Tensor._make(counts.astype(dtype))

    def argwhere(self) -> Tensor:
        return Tensor._make(np.argwhere(self.array))

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return Tensor._make(np.asarray(np.count_nonzero(self.array, axis=_axes(dim, self.ndim))))

    # ------------------------------------------------------------------ elementwise functions
    def exp(self) -> Tensor:
        return apply(ops.Exp, self)

    def exp2(self) -> Tensor:
        return apply(ops.Exp2, self)

    def expm1(self) -> Tensor:
        return apply(ops.Expm1, self)

    def log(self) -> Tensor:
        return apply(ops.Log, self)

    def log2(self) -> Tensor:
        return apply(ops.Log2, self)

    def log10(self) -> Tensor:
        return apply(ops.Log10, self)

    def log1p(self) -> Tensor:
        return apply(ops.Log1p, self)

    def sqrt(self) -> Tensor:
        return apply(ops.Sqrt, self)

    def rsqrt(self) -> Tensor:
        return apply(ops.Rsqrt, self)

    def reciprocal(self) -> Tensor:
        return apply(ops.Reciprocal, self)

    def square(self) -> Tensor:
        return apply(ops.Square, self)

    def abs(self) -> Tensor:
        return apply(ops.Abs, self)

    absolute = abs

    def sign(self) -> Tensor:
        return apply(ops.Sign, self)

    sgn = sign

    def sin(self) -> Tensor:
        return apply(ops.Sin, self)

    def cos(self) -> Tensor:
        return apply(ops.Cos, self)

    def tan(self) -> Tensor:
        return apply(ops.Tan, self)

    def asin(self) -> Tensor:
        return apply(ops.Asin, self)

    arcsin = asin

    def acos(self) -> Tensor:
        return apply(ops.Acos, self)

    arccos = acos

    def atan(self) -> Tensor:
        return apply(ops.Atan, self)

    arctan = atan

    def atan2(self, other: Any) -> Tensor:
        return apply(ops.Atan2, self, other)

    arctan2 = atan2

    def sinh(self) -> Tensor:
        return apply(ops.Sinh, self)

    def cosh(self) -> Tensor:
        return apply(ops.Cosh, self)

    def tanh(self) -> Tensor:
        return apply(ops.Tanh, self)

    def sigmoid(self) -> Tensor:
        return apply(ops.Sigmoid, self)

    def relu(self) -> Tensor:
        return apply(ops.ReLU, self)

    def erf(self) -> Tensor:
        return apply(ops.Erf, self)

    def erfc(self) -> Tensor:
        return apply(ops.Erfc, self)

    def floor(self) -> Tensor:
        return apply(ops.Floor, self)

    def ceil(self) -> Tensor:
        return apply(ops.Ceil, self)

    def trunc(self) -> Tensor:
        return apply(ops.Trunc, self)

    fix = trunc

    def frac(self) -> Tensor:
        return apply(ops.Frac, self)

    def round(self, decimals: int = 0) -> Tensor:
        return apply(ops.Round, self, decimals=decimals)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Elementwise min(max(x, min), max); bounds may be numbers or tensors."""
        if min is None and max is None:
            raise ValueError("clamp needs at least one of min and max")
        return apply(ops.Clamp, self, min, max)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        return apply(ops.Clamp, self, min, None)

    def clamp_max(self, max: Any) -> Tensor:
        return apply(ops.Clamp, self, None, max)

    def maximum(self, other: Any) -> Tensor:
        return apply(ops.Maximum, self, other)

    def minimum(self, other: Any) -> Tensor:
        return apply(ops.Minimum, self, other)

    fmax, fmin = maximum, minimum

    def where(self, condition: Any, other: Any) -> Tensor:
        """``x.where(condition, y)``: x where condition holds, else y."""
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        mask_array = np.asarray(_arr(mask))
        if mask_array.dtype != bool:
            raise TypeError(f"masked_fill needs a bool mask, got dtype {mask_array.dtype}")
        if isinstance(value, Tensor) and value.ndim:
            raise ShapeError(f"masked_fill takes a number or a 0-d tensor, got shape {value.shape}")
        filled = apply(ops.Where, value, self, condition=mask_array)
        if filled.shape != self.shape:
            raise ShapeError(
                f"masked_fill: mask {mask_array.shape} does not broadcast to {self.shape}"
            )
        return filled if filled.dtype == self.dtype else filled._cast(self.dtype)

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        finite = np.nan_to_num(self.array, nan=nan, posinf=posinf, neginf=neginf)
        return where(np.isfinite(self.array), self, finite)

    def softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(ops.Softmax, x, axis=_dim(dim, self.ndim))

    def log_softmax(self, dim: int = -1, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(ops.LogSoftmax, x, axis=_dim(dim, self.ndim))

    # ------------------------------------------------------------------ reductions
    def sum(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        dtype: Any = None,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        return apply(
            ops.Sum,
            x,
            axes=_axes(_pick(dim, axis), self.ndim),
            keepdims=keepdim or builtins.bool(keepdims),
        )

    def nansum(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return where(np.isnan(self.array), 0.0, self).sum(dim, keepdim)

    def mean(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        dtype: Any = None,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Tensor:
        """The mean; integer and bool tensors give the default float type (PyTorch refuses
        them; ``(pred == y).mean()`` is the accuracy)."""
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        return apply(
            ops.Mean,
            x,
            axes=_axes(_pick(dim, axis), self.ndim),
            keepdims=keepdim or builtins.bool(keepdims),
        )

    def nanmean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        valid = ~np.isnan(self.array)
        count = Tensor._make(np.asarray(valid.sum(axis=_axes(dim, self.ndim), keepdims=keepdim)))
        return self.nansum(dim, keepdim) / count

    def prod(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        return apply(ops.Prod, x, axes=_axes(dim, self.ndim), keepdims=keepdim)

    def amax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        """The max over dims; ties share the gradient evenly (unlike max(dim))."""
        return apply(ops.Amax, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return apply(ops.Amin, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    def max(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        """``max()``: the largest element; ``max(dim)``: (values, indices) along dim, the
        gradient going to each row's first maximum; ``max(other)``: the elementwise maximum."""
        return self._extreme(
            _pick(dim, axis), keepdim or builtins.bool(keepdims), ops.Amax, np.argmax, ops.Maximum
        )

    def min(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        axis: Any = None,
        keepdims: builtins.bool | None = None,
    ) -> Any:
        return self._extreme(
            _pick(dim, axis), keepdim or builtins.bool(keepdims), ops.Amin, np.argmin, ops.Minimum
        )

    def _extreme(
        self,
        dim: Any,
        keepdim: builtins.bool,
        whole: type[ops.Function],
        arg: Callable[..., Any],
        pairwise: type[ops.Function],
    ) -> Any:
        if isinstance(dim, Tensor | np.ndarray):
            return apply(pairwise, self, dim)
        if dim is None:
            if self.array.size == 0:
                raise ShapeError("max()/min() of an empty tensor has no value; give a dim")
            return apply(whole, self, axes=None, keepdims=False)
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return MaxMin(self.clone(), Tensor._make(np.zeros((), np.int64)))
        indices = np.expand_dims(arg(self.array, axis=d), d)  # keepdims for the gather
        values = self.gather(d, indices, _unique=True)
        if not keepdim:
            values, indices = values.squeeze(d), np.squeeze(indices, d)
        return MaxMin(values, Tensor._make(indices.astype(np.int64)))

    def argmax(
        self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None
    ) -> Tensor:
        return self._arg(np.argmax, _pick(dim, axis), keepdim)

    def argmin(
        self, dim: Any = None, keepdim: builtins.bool = False, *, axis: Any = None
    ) -> Tensor:
        return self._arg(np.argmin, _pick(dim, axis), keepdim)

    def _arg(self, arg: Callable[..., Any], dim: Any, keepdim: builtins.bool) -> Tensor:
        if dim is None:
            index = np.asarray(arg(self.array))
            return Tensor._make(
                (index.reshape((1,) * self.ndim) if keepdim else index).astype(np.int64)
            )
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return Tensor._make(np.zeros((), np.int64))
        index = arg(self.array, axis=d)
        return Tensor._make(
            np.asarray(np.expand_dims(index, d) if keepdim else index, dtype=np.int64)
        )

    def all(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(
            np.asarray(np.all(self.array, axis=_axes(dim, self.ndim), keepdims=keepdim))
        )

    def any(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return Tensor._make(
            np.asarray(np.any(self.array, axis=_axes(dim, self.ndim), keepdims=keepdim))
        )

    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
    ) -> Tensor:
        """Variance Σ(x - mean)²/(n - correction); correction 1 (unbiased) unless told."""
        axes = _axes(dim, self.ndim)
        if isinstance(unbiased, builtins.bool) or unbiased is None:
            correction = (
                (1 if unbiased in (None, True) else 0) if correction is None else correction
            )
        else:  # var(dim, keepdim) spelled positionally with a bool in unbiased's place
            raise TypeError(f"unbiased must be a bool, got {unbiased!r}")
        centred = self - self.mean(dim=axes, keepdim=True)
        n = self.array.size if axes is None else math.prod(self.shape[a] for a in axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (centred * centred).sum(dim=axes, keepdim=keepdim) / builtins.max(
                n - correction, 0
            )

    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: Any = None,
    ) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def logsumexp(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return apply(ops.LogSumExp, self, axes=_axes(dim, self.ndim), keepdims=keepdim)

    def norm(
        self, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False, dtype: Any = None
    ) -> Tensor:
        """The vector p-norm over dim (all elements by default): 2 ('fro'), 1, inf, -inf, 0, or
        any p; the gradient is 0 where the norm is 0, as PyTorch."""
        x = self if dtype is None else self._cast(dtypes.as_dtype(dtype))
        order = 2.0 if p in ("fro", None) else builtins.float(p)
        if p == "nuc":
            raise ChainruleError("the nuclear norm is not supported")
        return apply(ops.Norm, x, p=order, axes=_axes(dim, self.ndim), keepdims=keepdim)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        if self.ndim == 0:
            return x.clone()
        return apply(ops.Cumsum, x, axis=_dim(dim, self.ndim))

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        x = self._cast(dtypes.as_dtype(dtype) if dtype is not None else _sum_dtype(self.dtype))
        if self.ndim == 0:
            return x.clone()
        return apply(ops.Cumprod, x, axis=_dim(dim, self.ndim))

    def sort(
        self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False
    ) -> MaxMin:
        indices = self.argsort(dim, descending, stable=True)
        return MaxMin(self.gather(dim, indices, _unique=True), indices)

    def argsort(
        self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False
    ) -> Tensor:
        if self.ndim == 0:
            return Tensor._make(np.zeros((), np.int64))
        d = _dim(dim, self.ndim)
        keys = self.array
        if descending:
            keys = -keys.astype(np.int64) if keys.dtype.kind in "bu" else -keys
        return Tensor._make(np.argsort(keys, axis=d, kind="stable").astype(np.int64))

    def topk(
        self, k: int, dim: int = -1, largest: builtins.bool = True, sorted: builtins.bool = True
    ) -> MaxMin:
        d = _dim(dim, self.ndim)
        length = self.shape[d] if self.ndim else 1
        if not 0 <= k <= length:
            raise IndexError(f"topk: k={k} is out of range for dimension {d} of size {length}")
        order = self.argsort(d, descending=largest).array
        indices = np.take(order, np.arange(k), axis=d) if self.ndim else order
        indices_t = Tensor._make(indices)
        return MaxMin(self.gather(d, indices_t, _unique=True), indices_t)

    def kthvalue(self, k: int, dim: int = -1, keepdim: builtins.bool = False) -> MaxMin:
        d = _dim(dim, self.ndim)
        order = self.argsort(d).array
        indices = np.take(order, [k - 1], axis=d)
        values = self.gather(d, indices, _unique=True)
        if not keepdim:
            return MaxMin(values.squeeze(d), Tensor._make(np.squeeze(indices, d)))
        return MaxMin(values, Tensor._make(indices))

    def median(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """The lower median (PyTorch's): the ((n - 1) // 2)-th smallest."""
        if dim is None:
            flat = self.reshape(-1)
            return flat.kthvalue((flat.numel() - 1) // 2 + 1).values
        d = _dim(dim, self.ndim)
        return self.kthvalue((self.shape[d] - 1) // 2 + 1, d, keepdim)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        target = _shape_args(shape)
        if target != self.shape:
            known = math.prod(d for d in target if d != -1)
            size = self.array.size
            if target.count(-1) == 0:
                valid = known == size
            else:
                valid = target.count(-1) == 1 and (size % known == 0 if known else size == 0)
            if not valid or builtins.any(d < -1 for d in target):
                raise ShapeError(
                    f"shape {target} is invalid for a tensor of {size} elements "
                    f"(shape {self.shape})"
                )
        return apply(ops.Reshape, self, shape=target)

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and _is_dtype(shape[0]):
            raise ChainruleError("view(dtype) is not supported; use to(dtype)")
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 not in sizes and math.prod(sizes) != self.shape[d]:
            raise ShapeError(
                f"unflatten: sizes {sizes} do not multiply to dim {d}'s size {self.shape[d]}"
            )
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1 :])

    def squeeze(self, dim: Any = None) -> Tensor:
        """Drop dims of size 1 (all, or the given ones; a given dim of another size stays)."""
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
            drop = {_dim(d, self.ndim) for d in dims}
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in drop and n == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def expand(self, *sizes: Any) -> Tensor:
        """A broadcast view: -1 keeps a dim, new dims are added in front (no copy)."""
        target = _shape_args(sizes)
        extra = len(target) - self.ndim
        if extra < 0:
            raise ShapeError(f"expand: {target} has fewer dims than the tensor's {self.shape}")
        shape = tuple(
            self.shape[i - extra] if n == -1 and i >= extra else n for i, n in enumerate(target)
        )
        try:
            valid = np.broadcast_shapes(self.shape, shape) == shape
        except ValueError:
            valid = False
        if not valid or builtins.any(n < 0 for n in shape):
            raise ShapeError(f"expand: shape {self.shape} cannot be expanded to {target}")
        return apply(ops.Expand, self, shape=shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, *shape: Any) -> Tensor:
        return self.expand(*shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile the tensor sizes[i] times along dim i (new dims in front), as torch.repeat."""
        reps = _shape_args(sizes)
        if len(reps) < self.ndim:
            raise ShapeError(f"repeat: {len(reps)} repeats for a tensor of {self.ndim} dims")
        x = self.reshape((1,) * (len(reps) - self.ndim) + self.shape)
        return apply(ops.Tile, x, reps=reps)

    def tile(self, *dims: Any) -> Tensor:
        reps = _shape_args(dims)
        reps = (1,) * (self.ndim - len(reps)) + reps
        return self.repeat(*reps)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Tensor:
        if dim is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        d = _dim(dim, self.ndim)
        counts = np.broadcast_to(np.asarray(_arr(repeats)), (self.shape[d],))
        index = np.repeat(np.arange(self.shape[d]), counts)
        return self.index_select(d, index)

    def flip(self, *dims: Any, **kwargs: Any) -> Tensor:
        if "dims" in kwargs:
            dims = (kwargs.pop("dims"),)
        if kwargs:
            raise TypeError(f"flip() got unexpected arguments {sorted(kwargs)}")
        axes = _shape_args(dims) if dims else ()
        return apply(ops.Flip, self, axes=tuple(sorted({_dim(d, self.ndim) for d in axes})))

    def fliplr(self) -> Tensor:
        return self.flip(1)

    def flipud(self) -> Tensor:
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        shift = (shifts,) if isinstance(shifts, int | np.integer) else tuple(shifts)
        if dims is None:
            return apply(ops.Roll, self, shifts=shift, axes=None)
        axes = (dims,) if isinstance(dims, int | np.integer) else tuple(dims)
        if len(axes) != len(shift):
            raise ValueError(f"roll: {len(shift)} shifts for {len(axes)} dims")
        return apply(ops.Roll, self, shifts=shift, axes=tuple(_dim(d, self.ndim) for d in axes))

    def transpose(self, *dims: Any) -> Tensor:
        """``transpose(d0, d1)`` swaps two dims, as in PyTorch. NumPy's spellings stay as
        aliases: ``transpose()`` reverses every dim, three or more dims (or one sequence) are
        a permutation."""
        if len(dims) == 2 and builtins.all(isinstance(d, int | np.integer) for d in dims):
            if self.ndim == 0:
                _dim(dims[0], 0), _dim(dims[1], 0)
                return self.reshape(())
            d0, d1 = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
            order = list(range(self.ndim))
            order[d0], order[d1] = order[d1], order[d0]
            return apply(ops.Transpose, self, axes=tuple(order))
        if not dims:
            return self.T
        return self.permute(*dims)

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor of at most 2 dims, got shape {self.shape}")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        order = tuple(_dim(d, self.ndim) for d in _shape_args(dims)) if dims else ()
        if sorted(order) != list(range(self.ndim)):
            raise ShapeError(
                f"permute: {tuple(_shape_args(dims)) if dims else ()} is not a permutation of the "
                f"{self.ndim} dims of a tensor of shape {self.shape}"
            )
        return apply(ops.Transpose, self, axes=order)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        src = (source,) if isinstance(source, int | np.integer) else tuple(source)
        dst = (destination,) if isinstance(destination, int | np.integer) else tuple(destination)
        if len(src) != len(dst):
            raise ValueError(f"movedim: {len(src)} source dims but {len(dst)} destinations")
        src = tuple(_dim(d, self.ndim) for d in src)
        dst = tuple(_dim(d, self.ndim) for d in dst)
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return self.permute(*order)

    moveaxis = movedim

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = _dim(dim, self.ndim)
        start = builtins.int(start) % self.shape[d] if start < 0 else builtins.int(start)
        if start + length > self.shape[d] or length < 0:
            raise IndexError(f"narrow: {start} + {length} exceeds dim {d}'s size {self.shape[d]}")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        d = _dim(dim, self.ndim)
        return self[(slice(None),) * d + (index,)]

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        size = -(-self.shape[d] // chunks) if chunks > 0 else 0
        if chunks <= 0:
            raise ValueError(f"chunk expects a positive number of chunks, got {chunks}")
        return self.split(builtins.max(size, 1), d)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, int | np.integer):
            size = builtins.int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split_size must be positive, got {size}")
            bounds = [*list(range(0, n, size)), n]
            if n == 0:
                bounds = [0, 0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(f"split sizes {sizes} do not add up to dim {d}'s size {n}")
            bounds = [0, *itertools.accumulate(sizes)]
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(bounds))

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(indices_or_sections, int | np.integer):
            k = builtins.int(indices_or_sections)
            bounds = [i * (n // k) + builtins.min(i, n % k) for i in range(k + 1)]
        else:
            bounds = [0, *indices_or_sections, n]
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(lo, hi))] for lo, hi in itertools.pairwise(bounds))

    def tril(self, diagonal: int = 0) -> Tensor:
        return self._triangle(np.tril, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return self._triangle(np.triu, diagonal)

    def _triangle(self, make: Callable[..., Any], diagonal: int) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(f"tril/triu need at least 2 dims, got shape {self.shape}")
        keep = make(np.ones(self.shape[-2:], dtype=bool), diagonal)
        return apply(ops.Where, self, 0, condition=keep)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal as a view (writing into it writes into the tensor), as a last dim."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        if d1 == d2:
            raise ValueError(f"diagonal: dim1 and dim2 are the same dim ({d1})")
        return apply(ops.Diagonal, self, offset=builtins.int(offset), dim1=d1, dim2=d2)

    def fill_diagonal_(self, fill_value: Any, wrap: builtins.bool = False) -> Tensor:
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise ShapeError(
                f"fill_diagonal_ needs a matrix or a tensor with all dims equal, got {self.shape}"
            )
        if self.ndim > 2:
            n = self.shape[0]
            index = tuple(np.arange(n) for _ in range(self.ndim))
            self[index] = fill_value
            return self
        rows, cols = self.shape
        if wrap and rows > cols + 1:
            # Below the square, the diagonal starts again every cols + 1 rows (NumPy's wrap).
            for start in range(0, rows, cols + 1):
                self[start : start + cols].diagonal().fill_(fill_value)
            return self
        self.diagonal().fill_(fill_value)
        return self

    def diag(self, diagonal: int = 0) -> Tensor:
        if self.ndim == 1:
            n = self.shape[0] + builtins.abs(diagonal)
            rows = np.arange(self.shape[0]) + builtins.max(0, -diagonal)
            out = zeros_like_tensor(self, (n, n))
            return apply(ops.IndexPut, out, self, steps=((rows, rows + diagonal),))
        return self.diagonal(diagonal)

    def trace(self) -> Tensor:
        return self.diagonal().sum()

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, index: Any) -> Tensor:
        return apply(ops.Index, self, steps=_index_steps(index))

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value`` in place (PyTorch's rules; in grad mode the write is recorded)."""
        steps = _index_steps(index)
        if isinstance(value, Tensor):
            value = value._cast(self.dtype)
        if _grad_enabled:
            _check_inplace(self, "setitem")
        if not (_grad_enabled and (self._requires_grad or _requires(value))):
            target = ops.index.select(self.array, steps[:-1])
            try:
                target[steps[-1]] = _arr(value)
            except ValueError as error:
                raise _write_error("setitem", self, error) from None
            _bump(self)
            return
        self._inplace(lambda t: apply(ops.IndexPut, t, value, steps=steps), "setitem")

    def gather(self, dim: int, index: Any, *, _unique: builtins.bool = False) -> Tensor:
        """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (index may be smaller than x in
        the other dims)."""
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather expects an integer index, got dtype {idx.dtype}")
        if self.ndim == 0:
            return self.clone()
        if idx.ndim != self.ndim:
            raise ShapeError(f"gather: index has {idx.ndim} dims, the input has {self.ndim}")
        bad = [i for i in range(self.ndim) if i != d and idx.shape[i] > self.shape[i]]
        if bad:
            raise ShapeError(
                f"gather: index shape {idx.shape} exceeds input shape {self.shape} in dim {bad[0]}"
            )
        grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)]) if idx.ndim else []
        grid[d] = idx
        return apply(ops.Index, self, steps=(tuple(grid),), unique=_unique)

    take_along_dim = gather

    def take(self, index: Any) -> Tensor:
        return self.reshape(-1)[np.asarray(_arr(index))]

    def index_select(self, dim: int, index: Any) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        return self[(slice(None),) * d + (idx,)]

    def masked_select(self, mask: Any) -> Tensor:
        m = np.asarray(_arr(mask))
        shape = np.broadcast_shapes(self.shape, m.shape)
        return self.expand(shape)[np.broadcast_to(m, shape)]

    def _scatter_steps(self, dim: int, index: Any, src: Any) -> tuple[tuple[Any, ...], Any]:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index))
        if idx.dtype.kind not in "iu":
            raise TypeError(f"scatter expects an integer index, got dtype {idx.dtype}")
        grid = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
        grid[d] = idx
        if isinstance(src, Tensor) and src.ndim:
            src = src[tuple(slice(0, n) for n in idx.shape)]
        return (tuple(grid),), src

    def scatter(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
    ) -> Tensor:
        """out = x with out[index[i][j]][j] = src[i][j] for dim 0 (a number fills instead)."""
        steps, source = self._scatter_steps(dim, index, value if src is None else src)
        if reduce not in (None, "add", "sum"):
            raise ChainruleError(f"scatter reduce={reduce!r} is not supported (use 'add')")
        if isinstance(source, Tensor):
            source = source._cast(self.dtype)
        return apply(ops.IndexPut, self, source, steps=steps, accumulate=reduce is not None)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        steps, source = self._scatter_steps(dim, index, src)
        if isinstance(source, Tensor):
            source = source._cast(self.dtype)
        return apply(ops.IndexPut, self, source, steps=steps, accumulate=True)

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        src = _lift(source, self) * alpha if alpha != 1 else _lift(source, self)
        return apply(
            ops.IndexPut,
            self,
            src._cast(self.dtype),
            steps=((slice(None),) * d + (idx,),),
            accumulate=True,
        )

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        d = _dim(dim, self.ndim)
        idx = np.asarray(_arr(index)).reshape(-1)
        return apply(ops.IndexPut, self, value, steps=((slice(None),) * d + (idx,),))

    def index_put(self, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
        steps = _index_steps(tuple(indices))
        return apply(ops.IndexPut, self, values, steps=steps, accumulate=accumulate)

    # ------------------------------------------------------------------ in place
    def _inplace(self, compute: Callable[[Tensor], Tensor], name: str) -> Tensor:
        """Write ``compute(self)`` into this tensor's memory; in grad mode the new value's history
        becomes this tensor's (and its base's, for a view), as PyTorch records in-place ops."""
        start = 0
        if _grad_enabled:
            _check_inplace(self, name)
            start = next(_serials)
        new = compute(self)
        if new.shape != self.shape:
            raise ShapeError(
                f"{name}: the result has shape {new.shape}, which is not the in-place target's "
                f"shape {self.shape}"
            )
        if new.dtype != self.dtype and not np.can_cast(new.dtype, self.dtype, "same_kind"):
            raise TensorError(
                f"{name}: the result type {new.dtype} can't be cast to the in-place target's "
                f"dtype {self.dtype}"
            )
        recorded = new._node is not None
        if recorded:
            _protect_saved(new._node, start, self)
            if new.dtype != self.dtype:
                new = new._cast(self.dtype)
        try:
            np.copyto(self.array, new.array, casting="same_kind")
        except ValueError as error:
            raise _write_error(name, self, error) from None
        _bump(self)
        if recorded:
            _rebase(self, new._node)
        return self

    def _inplace_ufunc(
        self, ufunc: np.ufunc, op: type[ops.Function], other: Any, name: str
    ) -> Tensor:
        if _grad_enabled:
            _check_inplace(self, name)
        if not (_grad_enabled and (self._requires_grad or _requires(other))):
            try:
                ufunc(self.array, _arr(other), out=self.array, casting="same_kind")
            except (TypeError, ValueError) as error:
                raise _write_error(name, self, error) from None
            _bump(self)
            return self
        return self._inplace(lambda t: apply(op, t, other), name)

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.add, ops.Add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.subtract, ops.Sub, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.multiply, ops.Mul, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.true_divide, ops.Div, other, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t**other, "**=")

    def __imatmul__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t @ other, "@=")

    def __ifloordiv__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t.floor_divide(other), "//=")

    def __imod__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t.remainder(other), "%=")

    def __iand__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t & other, "&=")

    def __ior__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t | other, "|=")

    def __ixor__(self, other: Any) -> Tensor:
        return self._inplace(lambda t: t ^ other, "^=")

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace_ufunc(
            np.add, ops.Add, other if alpha == 1 else _scaled(other, alpha), "add_"
        )

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace_ufunc(
            np.subtract, ops.Sub, other if alpha == 1 else _scaled(other, alpha), "sub_"
        )

    def mul_(self, other: Any) -> Tensor:
        return self._inplace_ufunc(np.multiply, ops.Mul, other, "mul_")

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self._inplace_ufunc(np.true_divide, ops.Div, other, "div_")
        return self._inplace(lambda t: t.div(other, rounding_mode=rounding_mode), "div_")

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(lambda t: t**exponent, "pow_")

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.addcmul(tensor1, tensor2, value=value), "addcmul_")

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.addcdiv(tensor1, tensor2, value=value), "addcdiv_")

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return self._inplace(lambda t: t.lerp(end, weight), "lerp_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        if isinstance(value, Tensor) and value.ndim:
            raise ShapeError(f"fill_ takes a number or a 0-d tensor, got shape {value.shape}")
        return self.copy_(value)

    def copy_(self, src: Any, non_blocking: builtins.bool = False) -> Tensor:
        """Write src (broadcast to this shape, cast to this dtype) into this tensor's memory; in
        grad mode the gradient flows to src, none to the old value."""
        if _grad_enabled:
            _check_inplace(self, "copy_")
            if self._requires_grad or _requires(src):
                source = _lift(src, self)._cast(self.dtype)
                everywhere = np.ones((), dtype=bool)
                return self._inplace(
                    lambda t: apply(ops.Where, source, t, condition=everywhere), "copy_"
                )
        try:
            np.copyto(self.array, np.broadcast_to(_arr(src), self.shape), casting="unsafe")
        except ValueError as error:
            raise _write_error("copy_", self, error) from None
        _bump(self)
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(lambda t: t.clamp(min, max), "clamp_")

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Tensor:
        return self._inplace(lambda t: t.clamp_min(min), "clamp_min_")

    def clamp_max_(self, max: Any) -> Tensor:
        return self._inplace(lambda t: t.clamp_max(max), "clamp_max_")

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace(lambda t: t.masked_fill(mask, value), "masked_fill_")

    def masked_scatter_(self, mask: Any, source: Any) -> Tensor:
        m = np.broadcast_to(np.asarray(_arr(mask)), self.shape)
        count = builtins.int(m.sum())
        values = _lift(source, self).reshape(-1)[:count]
        return self._inplace(
            lambda t: apply(ops.IndexPut, t, values, steps=(m,)), "masked_scatter_"
        )

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        return self._inplace(lambda t: t.index_fill(dim, index, value), "index_fill_")

    def index_add_(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        return self._inplace(lambda t: t.index_add(dim, index, source, alpha=alpha), "index_add_")

    def index_put_(self, indices: Any, values: Any, accumulate: builtins.bool = False) -> Tensor:
        return self._inplace(lambda t: t.index_put(indices, values, accumulate), "index_put_")

    def scatter_(
        self, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
    ) -> Tensor:
        return self._inplace(
            lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), "scatter_"
        )

    def scatter_add_(self, dim: int, index: Any, src: Any) -> Tensor:
        return self._inplace(lambda t: t.scatter_add(dim, index, src), "scatter_add_")

    def _unary_(name: str) -> Callable[[Tensor], Tensor]:  # type: ignore[misc]  # noqa: N805
        def method(self: Tensor) -> Tensor:
            return self._inplace(lambda t: getattr(t, name)(), name + "_")

        method.__name__ = name + "_"
        method.__doc__ = f"In-place {name}."
        return method

    # Each in-place twin of a unary function, as in PyTorch (x.relu_() is x.relu() written back).
    abs_ = _unary_("abs")
    neg_ = _unary_("neg")
    exp_ = _unary_("exp")
    log_ = _unary_("log")
    sqrt_ = _unary_("sqrt")
    rsqrt_ = _unary_("rsqrt")
    reciprocal_ = _unary_("reciprocal")
    square_ = _unary_("square")
    sign_ = _unary_("sign")
    sin_ = _unary_("sin")
    cos_ = _unary_("cos")
    tanh_ = _unary_("tanh")
    sigmoid_ = _unary_("sigmoid")
    relu_ = _unary_("relu")
    floor_ = _unary_("floor")
    ceil_ = _unary_("ceil")
    round_ = _unary_("round")
    trunc_ = _unary_("trunc")
    erf_ = _unary_("erf")
    del _unary_

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.uniform(a, b, self.shape), "uniform_", generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.normal(mean, std, self.shape), "normal_", generator)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        return self._fill_random(lambda g: g.random(self.shape) < _arr(p), "bernoulli_", generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._fill_random(
            lambda g: g.exponential(1 / lambd, self.shape), "exponential_", generator
        )

    def random_(self, low: int = 0, high: int | None = None, *, generator: Any = None) -> Tensor:
        if high is None:
            low, high = 0, low if low else 2**24
        return self._fill_random(lambda g: g.integers(low, high, self.shape), "random_", generator)

    def _fill_random(
        self, draw: Callable[[np.random.Generator], Array], name: str, generator: Any
    ) -> Tensor:
        from .random import generator_of

        if _grad_enabled:
            _check_inplace(self, name)
        return self.copy_(draw(generator_of(generator)))

    # ------------------------------------------------------------------ backward
    def backward(
        self,
        gradient: Any = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Backpropagate from this tensor: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self), needed when self is not a scalar.
            retain_graph: keep the graph so that backward can run through it again.
            inputs: accumulate only into these tensors' ``.grad``.
        """
        if create_graph:
            raise ChainruleError(
                "create_graph=True (gradients of gradients) is not supported: chainrule's "
                "backward runs on arrays, not on tensors"
            )
        seed = _seed(self, gradient)
        grads = _run_backward(self, seed, builtins.bool(retain_graph), inputs)
        _accumulate(grads)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspection tables)."""
        if not self._requires_grad:
            raise ChainruleError("retain_grad() on a tensor that does not require grad")
        if self._node is not None:
            self._node.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> builtins.bool:
        node = self._node
        return node is not None and node.retained is not None and node.retained() is self

    def zero_grad(self) -> None:
        self._grad = None

    def register_hook(self, hook: Callable[[Tensor], Any]) -> _HookHandle:
        """Call ``hook(grad)`` each time this tensor's gradient is computed (for a leaf: the total,
        before it is added to ``.grad``); a tensor it returns replaces the gradient. The hook
        must not change its argument (it is read-only). ``.remove()`` on the handle undoes it."""
        if not self._requires_grad:
            raise TensorError("cannot register a hook on a tensor that does not require grad")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = []
            hooks = self._node.hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)


# ============================================================================ helpers
def _as_array(data: Any, dtype: Any) -> Array:
    """float32 (the default float type) unless asked otherwise: Python floats and float64 data
    become float32; integers stay integers, bools stay bool."""
    if isinstance(data, Tensor):
        array = data.array
    elif (
        isinstance(data, list | tuple)
        and data
        and builtins.any(isinstance(d, Tensor) for d in data)
    ):
        array = np.asarray([d.array if isinstance(d, Tensor) else d for d in data])
    else:
        array = np.asarray(data)
    if dtype is not None:
        return array.astype(dtypes.as_dtype(dtype), copy=False)
    kind = array.dtype.kind
    if kind == "O":
        raise ChainruleError(f"cannot make a tensor from objects of type {type(data).__name__}")
    if kind in "US":
        raise ChainruleError(f"cannot make a tensor from strings ({array.dtype})")
    if array.dtype == np.float64 and dtypes.get_default_dtype() != np.float64:
        return array.astype(dtypes.get_default_dtype())  # chainrule's float32 by default
    return array


def _format_array(a: Array) -> str:
    """Elements as PyTorch prints them: integral floats as ``1.``, others with 4 decimals, or in
    scientific notation when magnitudes span more than 1000x (or pass 1e8 or fall under 1e-4);
    every element padded to one width; more than 1000 elements summarised."""
    if a.dtype.kind == "f" and a.size:
        finite = a[np.isfinite(a)]
        nonzero = np.abs(finite[finite != 0]).astype(np.float64)
        if finite.size and np.all(finite == np.round(finite)):
            spec = "int"
        elif nonzero.size and (
            nonzero.max() / nonzero.min() > 1000 or nonzero.max() > 1e8 or nonzero.min() < 1e-4
        ):
            spec = "{:.4e}"
        else:
            spec = "{:.4f}"

        def element(v: Any) -> str:
            if not np.isfinite(v):
                return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
            return f"{v:.0f}." if spec == "int" else spec.format(v)

        shown = finite if finite.size <= 1000 else np.concatenate([finite[:3], finite[-3:]])
        width = builtins.max((len(element(v)) for v in shown), default=0)
        formatter = {"float_kind": lambda v: element(v).rjust(width)}
        return np.array2string(
            a, separator=", ", prefix="tensor(", formatter=formatter, threshold=1000, edgeitems=3
        )
    return np.array2string(a, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)


def _is_dtype(value: Any) -> builtins.bool:
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return True
    if value in (builtins.float, builtins.int, builtins.bool):
        return True
    if isinstance(value, str):
        try:
            dtypes.as_dtype(value)
            return not value.startswith(("cpu", "cuda", "mps"))
        except TypeError:
            return False
    return False


def _arr(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _dtype_of(x: Any) -> np.dtype[Any]:
    if isinstance(x, Tensor):
        return x.dtype
    return np.asarray(x).dtype


def _requires(x: Any) -> builtins.bool:
    return isinstance(x, Tensor) and x._requires_grad


def _lift(x: Any, like: Tensor) -> Tensor:
    """A constant as a tensor of like's dtype category (for methods called on constants)."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    if array.dtype.kind == "f" or (array.dtype.kind in "iub" and like.dtype.kind == "f"):
        array = array.astype(like.dtype)
    return Tensor._make(array)


def _scaled(other: Any, alpha: Any) -> Any:
    return other * alpha if isinstance(other, Tensor) else np.asarray(_arr(other)) * alpha


def zeros_like_tensor(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return Tensor._make(np.zeros(shape, dtype=t.dtype))


def _sum_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Sums and products of bools and integers are int64, as in PyTorch (NumPy keeps uint8
    as uint64)."""
    return dtypes.int64 if dtype.kind in "biu" else dtype


def _bump(t: Tensor) -> None:
    v = t._version
    if v is not None:
        v.n += 1


def bump_version(t: Tensor) -> None:
    """Record that ``t.array`` was changed in place outside chainrule's ops (an optimiser's
    update), so that backward refuses graphs that saved the old values."""
    _bump(t)


def _write_error(name: str, t: Tensor, error: Exception) -> ChainruleError:
    text = str(error)
    if "read-only" in text:
        return ChainruleError(
            f"{name}: the tensor's memory is read-only (an expand()ed tensor, or one made from a "
            "read-only array); clone() it before writing"
        )
    if "broadcast" in text:
        return ShapeError(f"{name}: {text} (in-place target of shape {t.shape})")
    return ChainruleError(f"{name}: {text} (in-place target of dtype {t.dtype})")


def _check_inplace(t: Tensor, name: str) -> None:
    if t._requires_grad and t._node is None:
        raise TensorError(
            f"{name}: a leaf tensor that requires grad is being used in an in-place operation; "
            "do it under `with chainrule.no_grad():` (as an optimiser update does), or use the "
            "out-of-place op"
        )
    if t._view is not None:
        base = t._view[0]
        if base._requires_grad and base._node is None:
            raise TensorError(
                f"{name}: a view of a leaf tensor that requires grad is being used in an in-place "
                "operation; do it under `with chainrule.no_grad():`, or clone() first"
            )
        if base._requires_grad and not t._requires_grad:
            raise TensorError(
                f"{name}: this view was made under no_grad() from a tensor that requires grad, "
                "and is changed in place with grad mode on: its base's gradient would be wrong; "
                "make the view in grad mode, or clone() it"
            )


def _protect_saved(node: Node, start: int, target: Tensor) -> None:
    """Nodes made by an in-place op's own computation that saved target's memory get private
    copies of those arrays, since the write is about to overwrite it (PyTorch saves the
    original value for such ops)."""
    root = _root(target.array)
    version = target._version
    stack: list[Any] = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if not isinstance(n, Node) or n.serial <= start or id(n) in seen or n.parents is None:
            continue
        seen.add(id(n))
        if version is not None and builtins.any(v is version for v, _ in n.versions):
            n.ctx.saved = tuple(
                s.copy() if isinstance(s, np.ndarray) and _root(s) is root else s
                for s in n.ctx.saved
            )
            n.versions = tuple((v, k) for v, k in n.versions if v is not version)
        stack.extend(n.parents)


def _rebase(t: Tensor, node: Node) -> None:
    """After an in-place write: t's value is now node's output; for a view, so is its base's."""
    if t._view is None:
        _take_history(t, node)
        return
    base, chain = t._view
    value = Tensor._make(t.array, True)
    value._node = node
    _take_history(base, apply(ops.ViewScatter, base, value, chain=chain)._node)
    view = base
    for op, options in chain:
        view = apply(op, view, **options)
    _take_history(t, view._node)
    t._view_version = _version_of(t).n


def _take_history(t: Tensor, node: Node | None) -> None:
    old = t._node
    if old is not None and old.retained is not None and node is not None:
        node.retained, old.retained = old.retained, None
    t._node = node
    t._requires_grad = node is not None


def _refresh_view(t: Tensor) -> None:
    """A view whose base changed in place since its history was made: replay it on the base."""
    base, chain = t._view  # type: ignore[misc]
    if base._requires_grad or t._requires_grad:
        view = base
        for op, options in chain:
            view = apply(op, view, **options)
        _take_history(t, view._node)
    t._view_version = t._version.n  # type: ignore[union-attr]


# ============================================================================ apply
def _result_dtype(inputs: Sequence[Any]) -> np.dtype[Any] | None:
    """PyTorch's promotion over op inputs (see dtypes): dimensioned tensors, then 0-d tensors of
    a higher category, then Python numbers and constants of a higher category."""
    dims: np.dtype[Any] | None = None
    zero: np.dtype[Any] | None = None
    scalar = -1
    for x in inputs:
        if isinstance(x, Tensor):
            a = x.array
            if a.ndim:
                dims = a.dtype if dims is None or dims == a.dtype else dtypes.promote(dims, a.dtype)
            else:
                zero = a.dtype if zero is None or zero == a.dtype else dtypes.promote(zero, a.dtype)
        elif x is not None:
            c = dtypes.scalar_category(x)
            if c is not None and c > scalar:
                scalar = c
    result = dims
    if zero is not None and (result is None or dtypes.category(zero) > dtypes.category(result)):
        result = zero
    if scalar >= 0 and (result is None or scalar > dtypes.category(result)):
        result = dtypes.default_for(scalar)
    return result


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 2}
_SCALAR_CATEGORY = {builtins.bool: 0, builtins.int: 1, builtins.float: 2}


def apply(op: type[ops.Function], *inputs: Any, **options: Any) -> Tensor:
    """Run ``op.forward`` on the inputs' arrays and, in grad mode, record the node for backward.

    Inputs are promoted to one dtype by PyTorch's rules; Python numbers and arrays are
    constants. Options (axes, shapes, index arrays) are passed to forward as they are.
    """
    grad_on = _grad_enabled
    arrays: list[Any] = []
    parents: list[Any] = []
    constants: list[int] = []  # positions of Python numbers and arrays, converted below
    record = False
    first: Tensor | None = None
    dtype = None
    scalar = -1
    general = False  # tensors of several dtypes, or constants that are not Python numbers
    for x in inputs:
        if isinstance(x, Tensor):
            if x._view is not None and grad_on and x._view_version != x._version.n:  # type: ignore[union-attr]
                _refresh_view(x)
            a = x.array
            d = a.dtype
            if dtype is None:
                dtype = d
                first = x
            elif d != dtype:
                general = True
            arrays.append(a)
            if grad_on and x._requires_grad:
                parents.append(x if x._node is None else x._node)
                record = True
            else:
                parents.append(None)
        else:
            if x is not None:
                c = _SCALAR_CATEGORY.get(type(x))
                if c is None:
                    general = True
                elif c > scalar:
                    scalar = c
                constants.append(len(arrays))
            arrays.append(x)
            parents.append(None)
    if general or dtype is None:
        dtype = _result_dtype(inputs)
    elif scalar > _CATEGORY.get(dtype.kind, 2):
        dtype = dtypes.default_for(scalar)
    if op.float_output and (dtype is None or dtype.kind not in "fc"):
        dtype = dtypes.get_default_dtype()
    if general or constants or dtype != first.dtype:  # type: ignore[union-attr]
        for i, a in enumerate(arrays):
            if a is None:
                continue
            if isinstance(inputs[i], Tensor):
                if a.dtype != dtype:
                    arrays[i] = a.astype(dtype)
            else:
                arrays[i] = np.asarray(_arr_deep(a), dtype=dtype)
    ctx = ops.Context(tuple([p is not None for p in parents]) if record else (False,) * len(arrays))
    data = op.forward(ctx, *arrays, **options)
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    for hook in _anomaly_hooks:
        hook(op, data)
    out = Tensor._make(data)
    if first is not None and (data.base is not None or data is arrays[0]):
        _link_view(out, first, arrays[0], op, options)
    if record and op.differentiable and data.dtype.kind in "fc":
        versions = _saved_versions(ctx.saved, inputs, arrays, out) if ctx.saved else ()
        out._node = Node(op, ctx, tuple(parents), data.shape, data.dtype, versions)
        out._requires_grad = True
    return out


def _link_view(out: Tensor, first: Tensor, first_array: Any, op: Any, options: Any) -> None:
    """When an op's output is a view of its first input, the two share memory: they share the
    version counter, and the output remembers how to replay the view on its base."""
    if first.array is not first_array or _root(out.array) is not _root(first.array):
        return
    out._version = _version_of(first)
    if first._view is None:
        out._view = (first, ((op, options),))
    else:
        out._view = (first._view[0], (*first._view[1], (op, options)))
    out._view_version = out._version.n


def _saved_versions(
    saved: tuple[Any, ...], inputs: tuple[Any, ...], arrays: list[Any], out: Tensor
) -> tuple[tuple[_Version, int], ...]:
    """The (counter, value) of each input (and of the output) whose memory a saved array shares:
    what backward checks to refuse an in-place change made since. Ops save inputs themselves
    (found by identity) or fresh arrays; a saved view is traced to the memory it views."""
    pairs: list[tuple[_Version, int]] = []
    out_array = out.array
    for s in saved:
        if type(s) is not np.ndarray:
            continue
        owner: Tensor | None = None
        for i, a in enumerate(arrays):
            if s is a:
                x = inputs[i]
                if isinstance(x, Tensor) and a is x.array:
                    owner = x
                break
        else:
            if s is out_array:
                owner = out
            elif s.base is not None:
                owner = _view_owner(s, inputs, arrays, out)
        if owner is not None:
            v = owner._version
            if v is None:
                v = owner._version = _Version()
            for known, _ in pairs:
                if known is v:
                    break
            else:
                pairs.append((v, v.n))
    return tuple(pairs)


def _view_owner(s: Array, inputs: tuple[Any, ...], arrays: list[Any], out: Tensor) -> Tensor | None:
    root = _root(s)
    for x, a in zip(inputs, arrays, strict=True):
        if isinstance(x, Tensor) and a is x.array and _root(a) is root:
            return x
    return out if _root(out.array) is root else None


def _arr_deep(x: Any) -> Any:
    if isinstance(x, list | tuple) and builtins.any(isinstance(i, Tensor) for i in x):
        return [i.array if isinstance(i, Tensor) else i for i in x]
    return x


# ============================================================================ backward
def _seed(root: Tensor, gradient: Any) -> Array:
    if not root._requires_grad:
        raise TensorError(
            "backward() on a tensor that does not require grad: no parameter or input with "
            "requires_grad=True contributed to it (or it was computed under no_grad())"
        )
    if gradient is None:
        if root.array.size != 1:
            raise ShapeError(
                f"backward() on a non-scalar tensor of shape {root.shape} needs an explicit "
                "gradient of that shape"
            )
        return np.ones(root.shape, dtype=root.dtype)
    seed = np.array(_arr(gradient), dtype=root.dtype)  # a copy: it may become .grad
    if seed.shape != root.shape:
        raise ShapeError(f"gradient has shape {seed.shape}, tensor has {root.shape}")
    return seed


def _topological_order(root: Node) -> list[Node]:
    """Nodes reachable from root, every node before the nodes of its inputs."""
    order: list[Node] = []
    visited: set[int] = set()
    stack: list[tuple[Node, builtins.bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        if node.parents is None:
            raise TensorError(_FREED)
        stack.append((node, True))
        for parent in node.parents:
            if type(parent) is Node and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def _exclusive(
    grad: Array, grad_out: Array, grads: tuple[Any, ...], saved: tuple[Any, ...]
) -> builtins.bool:
    """True when no one but this delivery can hold ``grad``: it is writeable and shares memory
    with neither the incoming gradient, nor a saved array, nor another returned gradient."""
    root = grad.base
    if root is None:  # it owns its memory (NumPy collapses base chains to the owner)
        root = grad
    else:
        root = _root(root)
    if root is grad_out or grad_out.base is root:
        return False
    for s in saved:
        if s is root or (type(s) is np.ndarray and s.base is not None and _root(s) is root):
            return False
    count = 0
    for g in grads:
        if g is grad or (g is not None and (g is root or g.base is root)):
            count += 1
    return count == 1 and grad.flags.writeable


# A gradient on its way to a leaf: [tensor, array, owned], owned when only the engine holds it.
LeafGrads = dict[int, list[Any]]


def _run_backward(
    root: Tensor, seed: Array, retain_graph: builtins.bool, inputs: Sequence[Tensor] | None = None
) -> LeafGrads:
    """Walk the graph from root; return each leaf's (or retained tensor's) total gradient. Leaf
    gradients are summed out of place during the walk and reach ``.grad`` only after it, so an
    error half-way (a version check) leaves every ``.grad`` as it was."""
    leaves: LeafGrads = {}
    wanted = None if inputs is None else {id(t) for t in inputs}

    def deliver(t: Tensor, grad: Array, owned: builtins.bool) -> None:
        if wanted is not None and id(t) not in wanted:
            return
        entry = leaves.get(id(t))
        if entry is None:
            leaves[id(t)] = [t, grad, owned]
        else:
            entry[1], entry[2] = entry[1] + grad, True

    start = root._node
    if start is None:  # backward() on a leaf: d(root)/d(root) = 1
        deliver(root, seed, True)
        return leaves
    captured = {id(t._node): t for t in inputs if t._node is not None} if inputs else None
    pending: dict[int, Array] = {id(start): seed}
    for node in _topological_order(start):
        grad_out = pending.pop(id(node), None)
        if grad_out is None:
            if not retain_graph:
                node.ctx, node.parents = None, None  # type: ignore[assignment]
            continue  # no path from root reaches it through a differentiable input
        if node.hooks:
            grad_out = _run_hooks(node.hooks, grad_out)[0]
        if node.retained is not None:
            kept = node.retained()
            if kept is not None:
                deliver(kept, grad_out, False)
        if captured:
            target = captured.get(id(node))
            if target is not None and (node.retained is None or node.retained() is not target):
                deliver(target, grad_out, False)
        for version, expected in node.versions:
            if version.n != expected:
                _version_error(node, version.n, expected)
        op, ctx, parents = node.op, node.ctx, node.parents
        if _strict:
            grads = _backward_read_only(op, ctx, grad_out)
        else:
            grads = op.backward(ctx, grad_out)
        if type(grads) is not tuple:
            grads = (grads,)
        if len(grads) != len(parents):
            raise AssertionError(
                f"{op.__name__}.backward returned {len(grads)} gradients for {len(parents)} inputs"
            )
        for parent, grad in zip(parents, grads, strict=True):
            if parent is None or grad is None:
                continue
            shape, dtype = parent.shape, parent.dtype
            owned = False
            if grad.shape != shape:
                reduced = _unbroadcast(grad, shape)
                if reduced.shape != shape:
                    raise AssertionError(
                        f"{op.__name__}.backward returned a gradient of shape {grad.shape} for "
                        f"an input of shape {shape}"
                    )
                owned, grad = reduced is not grad, reduced
            if grad.dtype != dtype:
                if grad.dtype != node.dtype or dtype.kind not in "fc":
                    raise AssertionError(
                        f"{op.__name__}.backward returned a gradient of dtype {grad.dtype} for an "
                        f"input of dtype {dtype}"
                    )
                grad, owned = grad.astype(dtype), True  # the input was promoted: cast back
            key = id(parent)
            if type(parent) is Node:
                previous = pending.get(key)
                pending[key] = grad if previous is None else previous + grad
            elif wanted is None or key in wanted:
                entry = leaves.get(key)
                if entry is None:
                    owned = owned or _exclusive(grad, grad_out, grads, ctx.saved)
                    leaves[key] = [parent, grad, owned]
                else:
                    entry[1], entry[2] = entry[1] + grad, True
        if not retain_graph:
            node.ctx, node.parents = None, None  # type: ignore[assignment]  # free saved arrays
    for entry in leaves.values():
        if entry[0]._hooks:
            entry[1], replaced = _run_hooks(entry[0]._hooks, entry[1])
            entry[2] = entry[2] and not replaced
    return leaves


def _backward_read_only(op: type[ops.Function], ctx: ops.Context, grad_out: Array) -> Any:
    """Strict mode: grad_out is read-only while the op's backward runs, so a backward that
    writes into it (and so into every branch that shares it) fails at once."""
    writeable = grad_out.flags.writeable
    if writeable:
        grad_out.flags.writeable = False
    try:
        return op.backward(ctx, grad_out)
    finally:
        if writeable:
            grad_out.flags.writeable = True


def set_strict(enabled: builtins.bool) -> None:
    """Strict mode checks the op contract as backward runs (each incoming gradient read-only).
    The test suite runs in it; set CHAINRULE_STRICT=1 to turn it on at import. It costs about
    0.5 µs a node, so it is off by default."""
    global _strict
    _strict = builtins.bool(enabled)


def _version_error(node: Node, found: int, expected: int) -> None:
    raise TensorError(
        f"one of the tensors needed to compute the gradient of {node.op.__name__} was modified "
        f"by an in-place operation: it is at version {found}, expected version {expected}; make "
        "the change out of place (x = x + 1 instead of x += 1), or clone() the tensor before "
        "changing it"
    )


def _accumulate(grads: LeafGrads) -> None:
    """Add each gradient into its tensor's ``.grad``: in place into an existing one, else as a
    new ``.grad`` that owns its array."""
    for t, g, owned in grads.values():
        existing = t._grad
        if existing is None:
            t._grad = Tensor._make(g if owned else np.array(g, dtype=t.dtype, copy=True))
        elif existing.array.flags.writeable and existing.array.shape == g.shape:
            existing.array += g
            _bump(existing)
        else:
            t._grad = Tensor._make(existing.array + g)


def _unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: builtins.bool | None = None,
    create_graph: builtins.bool = False,
    allow_unused: builtins.bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs) without touching any ``.grad``, as ``torch.autograd.grad``."""
    if create_graph:
        raise ChainruleError("create_graph=True (gradients of gradients) is not supported")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    seeds = (
        [None] * len(outs)
        if grad_outputs is None
        else ([grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs))
    )
    total: dict[int, Array] = {}
    for i, (out, seed) in enumerate(zip(outs, seeds, strict=True)):
        keep = builtins.bool(retain_graph) or i < len(outs) - 1
        found = _run_backward(out, _seed(out, seed), keep, ins)
        for key, (_, array, _) in found.items():
            total[key] = array if key not in total else total[key] + array
    result: list[Tensor | None] = []
    for t in ins:
        g = total.get(id(t))
        if g is None and not allow_unused:
            raise ChainruleError(
                "one of the inputs was not used to compute the outputs (pass allow_unused=True "
                "to get None for it)"
            )
        result.append(None if g is None else Tensor._make(np.array(g, dtype=t.dtype)))
    return tuple(result)


# ============================================================================ constructors
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
        from .device import check_device

        check_device(device)
    out = Tensor._make(np.array(_as_array(data, dtype), copy=True))
    if requires_grad:
        out.requires_grad = True
    return out


def concatenate(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``)."""
    items = list(tensors)
    if not items:
        raise ValueError("cat expects a non-empty sequence of tensors")
    if builtins.any(np.ndim(_arr(t)) > 1 for t in items):
        # PyTorch skips empty 1-d tensors (the legacy ``torch.tensor([])``) beside larger ones.
        items = [t for t in items if np.shape(_arr(t)) != (0,)]
    first = items[0]
    ndim = np.ndim(_arr(first))
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
    items = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not items:
        raise ValueError("stack expects a non-empty sequence of tensors")
    shapes = {t.shape for t in items}
    if len(shapes) > 1:
        raise ShapeError(f"stack expects tensors of one shape, got {sorted(shapes)}")
    d = _dim(dim, items[0].ndim + 1)
    return concatenate([t.unsqueeze(d) for t in items], d)


def where(condition: Any, a: Any = None, b: Any = None) -> Any:
    """Elementwise ``a`` where condition holds, else ``b``; gradients flow to the chosen side.
    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``."""
    cond = np.asarray(_arr(condition))
    if a is None and b is None:
        return tuple(Tensor._make(i) for i in np.nonzero(cond))
    if cond.dtype != bool:
        cond = cond.astype(bool)
    return apply(ops.Where, a, b, condition=cond)


@contextlib.contextmanager
def detect_anomaly(check_nan: builtins.bool = True) -> Iterator[None]:
    """Check every op's output as it is computed; raise naming the first op that made NaN or Inf.

    Off by default because it costs a pass over every intermediate array.
    """
    from .errors import NonFiniteError

    def check(op: type[ops.Function], data: Array) -> None:
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            raise NonFiniteError(f"anomaly: {op.__name__} produced a non-finite value")

    _anomaly_hooks.append(check)
    try:
        yield
    finally:
        _anomaly_hooks.remove(check)
