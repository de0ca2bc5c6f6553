"""Tensor, apply() and backward(): the graph and the chain rule live here and nowhere else.

A Tensor wraps a NumPy array. When an op runs on tensors that require gradients, ``apply`` records
a node: the op, its Context, its input tensors. ``Tensor.backward`` walks those nodes in reverse
topological order (found with an explicit stack, so depth is not bounded by Python's recursion
limit), calls each op's backward, sums each gradient back to its input's shape, accumulates it, and
frees the node, so no graph outlives its backward pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import ops
from .errors import ChainruleError, ShapeError

Array = npt.NDArray[Any]

_grad_enabled = True
_anomaly_hooks: list[Callable[[type[ops.Function], Array], None]] = []


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous = _grad_enabled
        _grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous


def no_grad() -> _GradMode:
    """Context manager (or decorator) inside which ops record no graph, as ``torch.no_grad``."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    return _GradMode(True)


def _as_array(data: Any, dtype: npt.DTypeLike | None) -> Array:
    """float32 unless asked otherwise: Python floats and float64 arrays become float32."""
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    array = np.asarray(data)
    if array.dtype.kind == "O":
        raise ChainruleError(f"cannot make a tensor from objects of type {type(data).__name__}")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        return array.astype(np.float32)
    return array


class Tensor:
    """An array with an optional gradient and a record of the op that made it.

    Args:
        data: array-like. Floats become float32 unless ``dtype`` says otherwise; integers stay
            integers (class labels).
        requires_grad: accumulate ``.grad`` for this tensor during ``backward()``.
        dtype: e.g. ``np.float64`` for gradient checks.
    """

    __slots__ = ("__weakref__", "_leaf", "_node", "_retain", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data: Array = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise ChainruleError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        self.requires_grad = requires_grad
        self.grad: Array | None = None
        self._node: tuple[type[ops.Function], ops.Context, tuple[Tensor | None, ...]] | None = None
        self._leaf = True
        self._retain = False

    @classmethod
    def _from_op(cls, data: Array, requires_grad: bool) -> Tensor:
        out = cls.__new__(cls)
        out.data, out.requires_grad, out.grad = data, requires_grad, None
        out._node, out._leaf, out._retain = None, not requires_grad, False
        return out

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._leaf

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch and NumPy name)
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> Array:
        """The underlying array (shared, not copied), as ``Tensor.numpy()`` in PyTorch."""
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ShapeError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._from_op(self.data, False)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspection tables)."""
        self._retain = True

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extra = "" if self.dtype == np.float32 else f", dtype={self.dtype}"
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{extra}{grad})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __hash__(self) -> int:
        return id(self)

    # ----------------------------------------------------------------- arithmetic
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

    def __neg__(self) -> Tensor:
        return apply(ops.Neg, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return apply(ops.Pow, self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return apply(ops.Pow, base, self)

    def __matmul__(self, other: Any) -> Tensor:
        return apply(ops.MatMul, self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply(ops.MatMul, other, self)

    # Comparisons give plain boolean tensors with no graph, as in PyTorch.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _data(other))

    # ----------------------------------------------------------------- functions
    def exp(self) -> Tensor:
        return apply(ops.Exp, self)

    def log(self) -> Tensor:
        return apply(ops.Log, self)

    def sqrt(self) -> Tensor:
        return apply(ops.Sqrt, self)

    def abs(self) -> Tensor:
        return apply(ops.Abs, self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return apply(ops.Clip, self, low=min, high=max)

    clamp = clip

    def relu(self) -> Tensor:
        return apply(ops.ReLU, self)

    def sigmoid(self) -> Tensor:
        return apply(ops.Sigmoid, self)

    def tanh(self) -> Tensor:
        return apply(ops.Tanh, self)

    def softmax(self, dim: int = -1) -> Tensor:
        return apply(ops.Softmax, self, axis=dim)

    def log_softmax(self, dim: int = -1) -> Tensor:
        return apply(ops.LogSoftmax, self, axis=dim)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return apply(ops.Sum, self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return apply(ops.Mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return apply(ops.Max, self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return apply(ops.Reshape, self, shape=target)

    view = reshape

    def flatten(self, start_dim: int = 0) -> Tensor:
        return self.reshape(*self.shape[:start_dim], -1)

    def transpose(self, *axes: int) -> Tensor:
        return apply(ops.Transpose, self, axes=axes or None)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return apply(ops.Index, self, index=index)

    def argmax(self, axis: int | None = None) -> Array:
        return self.data.argmax(axis=axis)

    # ----------------------------------------------------------------- backward
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: d(loss)/d(self), needed when self is not a scalar.
            retain_graph: keep the graph so that backward can run through it again.
        """
        if not self.requires_grad:
            raise ChainruleError(
                "backward() on a tensor that does not require grad: no parameter or input with "
                "requires_grad=True contributed to it (or it was computed under no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise ShapeError(
                    f"backward() on a non-scalar tensor of shape {self.shape} needs an explicit "
                    "gradient of that shape"
                )
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = np.array(_data(gradient), dtype=self.dtype)  # a copy: it may become .grad
            if seed.shape != self.shape:
                raise ShapeError(f"gradient has shape {seed.shape}, tensor has {self.shape}")
        if not self._leaf and self._node is None:
            raise ChainruleError(_FREED)
        _run_backward(self, seed, retain_graph)


_FREED = (
    "the graph behind this tensor was already freed by an earlier backward(); "
    "call backward(retain_graph=True) the first time to go through it twice"
)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _topological_order(root: Tensor) -> list[Tensor]:
    """Non-leaf tensors reachable from root, every tensor before the tensors it was made from."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, children_done = stack.pop()
        if children_done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if t._node is not None:
            for parent in t._node[2]:
                if parent is not None and parent._node is not None and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def _accumulate_leaf(t: Tensor, grad: Array, adopted: set[int]) -> None:
    if t.grad is not None:
        t.grad += grad
    elif grad.base is None and grad.flags.writeable and id(grad) not in adopted:
        t.grad = grad  # a fresh array no one else holds: adopt it instead of copying
        adopted.add(id(grad))
    else:
        t.grad = np.array(grad, dtype=t.dtype, copy=True)  # a view or shared: own a copy


def _run_backward(root: Tensor, seed: Array, retain_graph: bool) -> None:
    adopted: set[int] = set()  # arrays now owned as some leaf's .grad: never adopt twice
    if root._node is None:  # backward() on a leaf: d(root)/d(root) = 1
        _accumulate_leaf(root, seed, adopted)
        return
    pending: dict[int, Array] = {id(root): seed}
    for t in _topological_order(root):
        grad_out = pending.pop(id(t), None)
        if grad_out is None:
            continue  # no path from root reaches t through a differentiable input
        if t._retain:
            _accumulate_leaf(t, grad_out, adopted)
        node = t._node
        if node is None:
            raise ChainruleError(_FREED)
        op, ctx, inputs = node
        grads = op.backward(ctx, grad_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        for parent, grad, needed in zip(inputs, grads, ctx.needs_input_grad, strict=False):
            if not needed or grad is None or parent is None:
                continue
            grad = _unbroadcast(grad, parent.shape)
            if grad.shape != parent.shape or grad.dtype != parent.dtype:
                raise AssertionError(
                    f"{op.__name__}.backward returned a gradient of shape {grad.shape} and dtype "
                    f"{grad.dtype} for an input of shape {parent.shape} and dtype {parent.dtype}"
                )
            if parent._leaf:
                _accumulate_leaf(parent, grad, adopted)
            elif id(parent) in pending:
                pending[id(parent)] = pending[id(parent)] + grad
            else:
                pending[id(parent)] = grad
        if not retain_graph:
            t._node = None  # free the saved arrays now: memory does not grow across steps


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


def apply(op: type[ops.Function], *inputs: Any, **options: Any) -> Tensor:
    """Run ``op.forward`` on the inputs' arrays and, in grad mode, record the node for backward.

    Inputs that are not tensors (Python numbers, arrays) are constants; floating ones take the
    dtype of the first floating tensor input so that a float32 graph stays float32.
    """
    dtype = None
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            if dtype is None:
                dtype = x.data.dtype
            elif x.data.dtype != dtype:
                raise ChainruleError(
                    f"{op.__name__}: inputs mix {dtype} and {x.data.dtype}; convert one "
                    "explicitly (chainrule never upcasts silently)"
                )
    arrays: list[Any] = []
    needs: list[bool] = []
    for x in inputs:
        if isinstance(x, Tensor):
            data = x.data
            if dtype is not None and data.dtype.kind in "iu":
                data = data.astype(dtype)  # int tensors in float arithmetic: never via float64
            arrays.append(data)
            needs.append(x.requires_grad)
        elif x is None:
            arrays.append(None)
            needs.append(False)
        else:
            array = np.asarray(x)
            if dtype is not None and array.dtype.kind in "fiu":
                array = array.astype(dtype, copy=False)
            arrays.append(array)
            needs.append(False)
    record = _grad_enabled and any(needs)
    ctx = ops.Context(tuple(needs) if record else (False,) * len(needs))
    data = op.forward(ctx, *arrays, **options)
    for hook in _anomaly_hooks:
        hook(op, data)
    out = Tensor._from_op(data, record)
    if record:
        out._node = (op, ctx, tuple(x if isinstance(x, Tensor) else None for x in inputs))
    return out


def tensor(data: Any, requires_grad: bool = False, dtype: npt.DTypeLike | None = None) -> Tensor:
    """Make a Tensor, as ``torch.tensor``: floats become float32 unless ``dtype`` is given."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``)."""
    return apply(ops.Concatenate, *tensors, axis=axis)


cat = concatenate


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where condition holds, else ``b``; gradients flow to the chosen side."""
    return apply(ops.Where, a, b, condition=np.asarray(_data(condition), dtype=bool))


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
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
