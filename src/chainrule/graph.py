"""The graph and the chain rule: Node, apply(), backward(), and how in-place changes stay safe.

A tensor wraps a NumPy array. When an op runs on tensors that require gradients, ``apply`` records
a Node (PyTorch's ``grad_fn``): the op, its Context, and an edge to each input's own Node (or to
the input itself when it is a leaf). ``backward`` walks the Nodes in reverse topological order
(found with an explicit stack, so depth is not bounded by Python's recursion limit), calls each
op's backward, sums each gradient back to its input's shape, accumulates, and frees the Node, so
no graph outlives its backward pass.

Three rules keep every gradient right on every graph, however often tensors are reused:

- Ownership. Pending gradients are summed out of place; an array becomes a leaf's ``.grad`` only
  when the engine can prove no other place holds it (not the incoming gradient, not a view, not
  saved, not returned twice), otherwise it is copied. In strict mode (the test suite) an op's
  incoming gradient is read-only while its backward runs. So an in-place ``+=`` on one ``.grad``
  never changes another.
- Versions. Every in-place change bumps a counter that a tensor shares with its views; a Node
  records the versions of the inputs (and output) whose memory it saved, and backward refuses to
  use a changed one: a clear error, never a silently wrong gradient.
- In-place ops in grad mode are recorded as PyTorch records them: the new value's history becomes
  the tensor's (and, for a view, its base's), while Nodes made earlier keep the old history.

``TensorBase`` holds what the engine needs of a tensor; ``tensor.py`` builds the public
``Tensor`` on it and registers it, and ``apply`` makes its outputs of that class (as PyTorch's
C++ core makes ``torch.Tensor``).
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from . import dtypes, grad_mode, ops
from .arguments import _shape_args
from .errors import ChainruleError, ShapeError, TensorError

if TYPE_CHECKING:
    from .tensor import Tensor

Array = npt.NDArray[Any]

_anomaly_hooks: list[Callable[[type[ops.Function], Array], None]] = []
# Post-accumulate-grad hooks by id of their leaf (few tensors have them: none, unless training
# data-parallel), and the callbacks queued by hooks of each running backward pass.
_post_accumulate: dict[int, list[Callable[[Any], Any]]] = {}
_queued: list[list[Callable[[], Any]]] = []
_serials = itertools.count(1)
_strict = os.environ.get("CHAINRULE_STRICT", "") not in ("", "0")


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
        result = hook(make_tensor(view))
        if result is not None:
            new = result.array if isinstance(result, TensorBase) else np.asarray(result)
            if new.shape != grad.shape:
                raise ShapeError(
                    f"a gradient hook returned shape {new.shape}, the gradient has {grad.shape}"
                )
            grad, replaced = new.astype(grad.dtype, copy=False), True
    return grad, replaced


class TensorBase:
    """An array, its gradient and its place in the graph: what the engine reads and writes.
    ``chainrule.Tensor`` adds the rest of PyTorch's tensor API on top."""

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
        # (base, the chain of view ops from it, whether grad mode was on), for views only.
        self._view: tuple[Tensor, tuple[Any, ...], builtins.bool] | None = None
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

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor outside the graph (PyTorch's ``.data``: changes made
        through it are not tracked; prefer ``detach()`` or ``no_grad()``)."""
        return make_tensor(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        self.array = value.array if isinstance(value, TensorBase) else _as_array(value, None)

    @property
    def grad(self) -> Tensor | None:
        """d(loss)/d(self) after ``backward()``: a Tensor of this tensor's shape and dtype."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        grad = value if isinstance(value, TensorBase) else make_tensor(np.asarray(value))
        if grad.shape != self.shape:
            raise ShapeError(f"assigned grad has shape {grad.shape}, the tensor has {self.shape}")
        if grad.dtype != self.dtype:
            raise TypeError(f"assigned grad has dtype {grad.dtype}, the tensor has {self.dtype}")
        self._grad = grad

    @property
    def requires_grad(self) -> builtins.bool:
        # A view made in grad mode requires grad once its base does (its history is brought up
        # to date when it is next used: reading this is not a use, as in PyTorch).
        if self._requires_grad:
            return True
        view = self._view
        return view is not None and view[2] and view[0]._requires_grad

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
        _sync(self)
        return self._node is None

    @property
    def grad_fn(self) -> Node | None:
        _sync(self)
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

    def detach(self) -> Tensor:
        """The same memory, cut from the graph (changes through it are seen by backward's
        version checks, as in PyTorch)."""
        out = make_tensor(self.array)
        out._version = _version_of(self)
        return out

    def detach_(self) -> Tensor:
        self._node, self._requires_grad = None, False
        return self

    def _cast(self, dtype: np.dtype[Any]) -> Tensor:
        if dtype == self.array.dtype:
            return self
        if self._requires_grad and dtype.kind == "f":
            return apply(ops.Cast, self, dtype=dtype)
        return make_tensor(self.array.astype(dtype))

    def _inplace(self, compute: Callable[[Tensor], Tensor], name: str) -> Tensor:
        """Write ``compute(self)`` into this tensor's memory; in grad mode the new value's history
        becomes this tensor's (and its base's, for a view), as PyTorch records in-place ops."""
        start = 0
        held = None
        if grad_mode.enabled:
            _check_inplace(self, name)
            if self._view is not None and self._node is not None:
                # PyTorch's CopySlices: the op reads the view's region of its base's history,
                # so the view's own (older) history, and tensors retained on it, are not on
                # the path of the new value's gradient.
                held = self._node
                self._node = _replay_view(self)._node
            start = next(_serials)
        try:
            new = compute(self)
        finally:
            if held is not None:
                self._node = held
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
        if grad_mode.enabled:
            _check_inplace(self, name)
        if not (grad_mode.enabled and (self._requires_grad or _requires(other))):
            try:
                ufunc(self.array, _arr(other), out=self.array, casting="same_kind")
            except (TypeError, ValueError) as error:
                raise _write_error(name, self, error) from None
            _bump(self)
            return self
        return self._inplace(lambda t: apply(op, t, other), name)

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
        _sync(self)
        seed = _seed(self, gradient)
        grads = _run_backward(self, seed, builtins.bool(retain_graph), inputs)
        _queued.append([])
        try:
            _accumulate(grads)
            callbacks = _queued[-1]
            while callbacks:  # a callback may queue another
                callbacks.pop(0)()
        finally:
            _queued.pop()

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspection tables)."""
        _sync(self)
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

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], Any]) -> _HookHandle:
        """Call ``hook(tensor)`` after backward has added this leaf's gradient to ``.grad``
        (as PyTorch's; data-parallel training uses it to know which gradients are ready)."""
        _sync(self)
        if not self._requires_grad or self._node is not None:
            raise TensorError("post-accumulate-grad hooks are for leaf tensors that require grad")
        entry = _post_accumulate.get(id(self))
        if entry is None:
            entry = _post_accumulate[id(self)] = []
            weakref.finalize(self, _post_accumulate.pop, id(self), None)
        entry.append(hook)
        return _HookHandle(entry, hook)

    def register_hook(self, hook: Callable[[Tensor], Any]) -> _HookHandle:
        """Call ``hook(grad)`` each time this tensor's gradient is computed (for a leaf: the total,
        before it is added to ``.grad``); a tensor it returns replaces the gradient. The hook
        must not change its argument (it is read-only). ``.remove()`` on the handle undoes it."""
        _sync(self)
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


_tensor_class: type[TensorBase] = TensorBase


def register_tensor_class(cls: type[TensorBase]) -> None:
    """The class of every tensor ops return (``chainrule.Tensor``, registered by tensor.py)."""
    global _tensor_class
    _tensor_class = cls


def make_tensor(array: Array, requires_grad: builtins.bool = False) -> Tensor:
    """A new tensor around ``array`` (shared, not copied), outside any graph."""
    out = object.__new__(_tensor_class)
    out.array, out._requires_grad, out._grad = array, requires_grad, None
    out._node = out._version = out._view = out._hooks = None
    out._view_version = 0
    return out  # type: ignore[return-value]


def _as_array(data: Any, dtype: Any) -> Array:
    """float32 (the default float type) unless asked otherwise: Python floats and float64 data
    become float32; integers stay integers, bools stay bool."""
    if isinstance(data, TensorBase):
        array = data.array
    elif (
        isinstance(data, list | tuple)
        and data
        and builtins.any(isinstance(d, TensorBase) for d in data)
    ):
        array = np.asarray([d.array if isinstance(d, TensorBase) else d for d in data])
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


def _arr(x: Any) -> Any:
    return x.array if isinstance(x, TensorBase) else x


def _dtype_of(x: Any) -> np.dtype[Any]:
    if isinstance(x, TensorBase):
        return x.dtype
    return np.asarray(x).dtype


def _requires(x: Any) -> builtins.bool:
    """Whether x is a tensor that requires grad, with a stale view's history brought up to date
    first (its base may have gained a history since)."""
    if not isinstance(x, TensorBase):
        return False
    _sync(x)
    return x._requires_grad


def _lift(x: Any, like: Tensor) -> Tensor:
    """A constant as a tensor of like's dtype category (for methods called on constants)."""
    if isinstance(x, TensorBase):
        return x
    array = np.asarray(x)
    if array.dtype.kind == "f" or (array.dtype.kind in "iub" and like.dtype.kind == "f"):
        array = array.astype(like.dtype)
    return make_tensor(array)


def _scaled(other: Any, alpha: Any) -> Any:
    return other * alpha if isinstance(other, TensorBase) else np.asarray(_arr(other)) * alpha


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


def _sync(t: Tensor) -> None:
    """Bring a view's history up to date when its memory changed through its base or another
    view since its history was made (PyTorch regenerates a view's grad_fn the same way)."""
    if t._view is not None and grad_mode.enabled and t._view_version != t._version.n:  # type: ignore[union-attr]
        _refresh_view(t)


def _check_inplace(t: Tensor, name: str) -> None:
    _sync(t)
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
        if not t._view[2] and base._requires_grad and not t._requires_grad:
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
    base, chain, _ = t._view
    value = make_tensor(t.array, True)
    value._node = node
    _take_history(base, apply(ops.ViewScatter, base, value, chain=chain)._node)
    # Other views of this memory are now stale; each takes the new history when next used.
    _take_history(t, _replay_view(t)._node)
    t._view_version = _version_of(t).n


def _replay_view(t: Tensor) -> Tensor:
    """t's view ops applied afresh to its base's current history."""
    view, chain, _ = t._view  # type: ignore[misc]
    for op, options in chain:
        view = apply(op, view, **options)
    return view


def _take_history(t: Tensor, node: Node | None) -> None:
    old = t._node
    if old is not None and old.retained is not None and node is not None:
        node.retained, old.retained = old.retained, None
    t._node = node
    t._requires_grad = node is not None


def _refresh_view(t: Tensor) -> None:
    """A view whose base changed in place since its history was made: replay it on the base."""
    base = t._view[0]  # type: ignore[index]
    if base._requires_grad or t._requires_grad:
        _take_history(t, _replay_view(t)._node)
    t._view_version = t._version.n  # type: ignore[union-attr]


# ============================================================================ apply


def _result_dtype(inputs: Sequence[Any]) -> np.dtype[Any] | None:
    """PyTorch's promotion over op inputs (see dtypes): dimensioned tensors, then 0-d tensors of
    a higher category, then Python numbers and constants of a higher category."""
    dims: np.dtype[Any] | None = None
    zero: np.dtype[Any] | None = None
    scalar = -1
    for x in inputs:
        if isinstance(x, TensorBase):
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
    grad_on = grad_mode.enabled
    arrays: list[Any] = []
    parents: list[Any] = []
    constants: list[int] = []  # positions of Python numbers and arrays, converted below
    record = False
    first: Tensor | None = None
    dtype = None
    scalar = -1
    general = False  # tensors of several dtypes, or constants that are not Python numbers
    for x in inputs:
        if isinstance(x, TensorBase):
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
    if not op.promotes:
        general = False
    elif general or dtype is None:
        dtype = _result_dtype(inputs)
    elif scalar > _CATEGORY.get(dtype.kind, 2):
        dtype = dtypes.default_for(scalar)
    if op.float_output and (dtype is None or dtype.kind not in "fc"):
        dtype = dtypes.get_default_dtype()
    if op.promotes and (general or constants or dtype != first.dtype):  # type: ignore[union-attr]
        for i, a in enumerate(arrays):
            if a is None:
                continue
            if isinstance(inputs[i], TensorBase):
                if a.dtype != dtype:
                    arrays[i] = a.astype(dtype)
            else:
                arrays[i] = np.asarray(_arr_deep(a), dtype=dtype)
    ctx = ops.Context(tuple([p is not None for p in parents]) if record else (False,) * len(arrays))
    try:
        data = op.forward(ctx, *arrays, **options)
    except ValueError as error:
        if "broadcast" not in str(error):
            raise
        shapes = " and ".join(str(np.shape(a)) for a in arrays if a is not None)
        raise ShapeError(f"{op.__name__}: shapes {shapes} cannot be broadcast together") from None
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    for hook in _anomaly_hooks:
        hook(op, data)
    out = make_tensor(data)
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
        out._view = (first, ((op, options),), grad_mode.enabled)
    else:
        out._view = (first._view[0], (*first._view[1], (op, options)), grad_mode.enabled)
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
                if isinstance(x, TensorBase) and a is x.array:
                    owner = x
                break
        else:
            if s is out_array:
                owner = out
            elif s.base is not None or _any_view(arrays, out_array):
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


def _any_view(arrays: list[Any], out_array: Array) -> builtins.bool:
    """Whether the output or an input is a view: then a saved array may own its memory."""
    if out_array.base is not None:
        return True
    return builtins.any(type(a) is np.ndarray and a.base is not None for a in arrays)


def _view_owner(s: Array, inputs: tuple[Any, ...], arrays: list[Any], out: Tensor) -> Tensor | None:
    """The input or output whose memory s shares (a view of it, or the memory it views)."""
    root = _root(s)
    for x, a in zip(inputs, arrays, strict=True):
        if isinstance(x, TensorBase) and a is x.array and _root(a) is root:
            return x
    return out if _root(out.array) is root else None


def _arr_deep(x: Any) -> Any:
    if isinstance(x, list | tuple) and builtins.any(isinstance(i, TensorBase) for i in x):
        return [i.array if isinstance(i, TensorBase) else i for i in x]
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
            entry[1], entry[2] = np.asarray(entry[1] + grad), True

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
        if not retain_graph:
            ctx.last_use = True
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
            if type(grad) is not np.ndarray:
                grad = np.asarray(grad)  # NumPy's arithmetic on 0-d arrays returns scalars
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
                pending[key] = grad if previous is None else np.asarray(previous + grad)
            elif wanted is None or key in wanted:
                entry = leaves.get(key)
                if entry is None:
                    owned = owned or _exclusive(grad, grad_out, grads, ctx.saved)
                    leaves[key] = [parent, grad, owned]
                else:
                    entry[1], entry[2] = np.asarray(entry[1] + grad), True
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
    new ``.grad`` that owns its array; then run the post-accumulate hooks."""
    for t, g, owned in grads.values():
        existing = t._grad
        if existing is None:
            t._grad = make_tensor(g if owned else np.array(g, dtype=t.dtype, copy=True))
        elif existing.array.flags.writeable and existing.array.shape == g.shape:
            existing.array += g
            _bump(existing)
        else:
            t._grad = make_tensor(np.asarray(existing.array + g))
    if _post_accumulate:
        for t, _, _ in grads.values():
            for hook in list(_post_accumulate.get(id(t), ())):
                hook(t)


def queue_callback(callback: Callable[[], Any]) -> None:
    """Run callback once the current backward pass has accumulated every gradient (PyTorch's
    ``Variable._execution_engine.queue_callback``); only from a hook during backward."""
    if not _queued:
        raise ChainruleError("queue_callback is for hooks that run during backward()")
    _queued[-1].append(callback)


def _unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    elif extra < 0:  # the input had leading size-1 dims that the op dropped (x[i] = v)
        grad = grad.reshape((1,) * -extra + grad.shape)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.asarray(grad)


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
    outs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    ins = [inputs] if isinstance(inputs, TensorBase) else list(inputs)
    seeds = (
        [None] * len(outs)
        if grad_outputs is None
        else ([grad_outputs] if isinstance(grad_outputs, TensorBase) else list(grad_outputs))
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
        result.append(None if g is None else make_tensor(np.array(g, dtype=t.dtype)))
    return tuple(result)


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
