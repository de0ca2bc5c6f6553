"""Random computation graphs that reuse leaves and intermediates, checked two ways.

Hypothesis draws a graph as a list of steps over a pool of tensors. The pool starts with 2-4
float64 leaves (now and then one is a constant, requires_grad=False); each step applies one op
of the table SPECS to tensors picked anywhere in the pool, so leaves and intermediates are
reused many times: residual connections, tied weights, a tensor used twice in one op (x * x,
cat([x, x]), y.mul_(y)), views of views, and in-place ops in grad mode (y += z, y[idx] = v,
y[1:].mul_(z), y[idx] += z, copy_, clamp_, tanh_) and under no_grad. The loss is
Σ (w * t).sum() over every sink of the graph or over a few pool tensors, with random weights w
(a random projection, so that a transposed gradient cannot cancel out).

Every leaf's gradient is checked

- against float64 central differences of the same steps replayed by chainrule itself
  (test_random_graph_finite_differences; it always runs), and
- against PyTorch replaying the same steps (test_random_graph_matches_pytorch; skipped when
  torch is not installed): every pool tensor's value and whether it is a view of the step's
  inputs, the loss, every gradient (relative 1e-7) and retained gradient, and whether backward
  raises ("modified by an in-place operation" on both sides, or neither).

Both then run backward a second time (the gradients must double) and check that no .grad shares
memory with another tensor (a.grad += 1 changes no other .grad).

Values stay in safe ranges: logs and powers take x * x + 0.5, exp is drawn only on small
inputs, clamp bounds, max ties and maximum/minimum keep a margin, and a tensor whose values grow
past LIMIT is not used again. CHAINRULE_FUZZ_EXAMPLES=2000 runs a long fuzz instead of the
default 60 graphs per test. A failing graph is printed as a program, one step a line; the bugs
the fuzz found are kept as plain regression tests at the end of the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

EXAMPLES = int(os.environ.get("CHAINRULE_FUZZ_EXAMPLES", "60"))
LEAF_SHAPES = [(3, 4), (4,), (1, 4), (2, 3, 4), (), (3, 1), (2, 1, 3)]
LIMIT = 20.0  # a tensor with a value past this is not used again (keeps differences accurate)
MAX_NUMEL = 48  # no op makes a tensor with more elements
MARGIN = 0.02  # clamp bounds and max/amax runners-up stay this far from every value
EPS = 1e-6  # central-difference step
SCALARS = [-2.0, -1.5, -0.5, 0.5, 1.5, 2.0, 3.0]
VERSION_ERROR = "modified by an in-place operation"  # chainrule's words
TORCH_VERSION_ERROR = "modified by an inplace operation"  # PyTorch's


# ============================================================================ steps and specs
@dataclass
class Step:
    """One op applied to pool tensors ``inputs`` (indices); its outputs join the pool."""

    op: str
    inputs: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)
    n_out: int = 1


@dataclass(frozen=True)
class Spec:
    """An op the generator can draw.

    draw(d) picks the inputs and parameters (or returns None when the pool has nothing that
    fits); run(L, *tensors, **params) applies it with L = chainrule or torch (one function for
    both where the two APIs agree; ``torch`` overrides it where they differ). ``writes`` is the
    input that an in-place op changes; ``fd_safe`` is False for a no_grad change that autograd
    does not see, after which finite differences no longer measure the recorded gradient;
    ``torch_saves`` names what PyTorch saves for backward and chainrule does not need (see
    KNOWN_STRICTER), as "in0" (the first input) or "out".
    """

    name: str
    draw: Callable[[Draw], tuple[tuple[int, ...], dict[str, Any]] | None]
    run: Callable[..., Any]
    torch: Callable[..., Any] | None = None
    writes: int | None = None
    fd_safe: bool = True
    torch_saves: tuple[str, ...] | Callable[[Step], tuple[str, ...]] = ()
    saves_out: bool = False  # its backward reads its result (see KNOWN_STRICTER, 0-d)


# PyTorch raises "modified by an inplace operation" in a few graphs where chainrule legitimately
# does not, because chainrule's backward does not read the changed memory (its gradient is still
# right, which the finite differences confirm):
# - clamp saves masks of its input, amax saves the winners' shares: PyTorch saves the input
#   (and amax its result);
# - prod saves its input only: PyTorch also saves the result;
# - cumprod of a 0-d tensor is a copy, which saves nothing: PyTorch's saves its input;
# - pow with a tensor exponent saves its result only when the exponent needs a gradient:
#   PyTorch always saves it;
# - std (a composite here) does not save its input: PyTorch's std saves it;
# - gather is an index op that saves no data: PyTorch's gather saves its input;
# - tanh_/sigmoid_/exp_ save a private copy of the new value: PyTorch saves the tensor itself,
#   so a later in-place change of it is refused;
# - y.mul_(y) (or a view of y): chainrule copies what the op saved before the write, PyTorch
#   refuses the graph.
# - an op that saves its result (exp, tanh, sigmoid, pow, std's sqrt) saves a 0-d result as a
#   NumPy scalar, a copy whose version the engine does not track: a later in-place change of
#   the 0-d result is not refused, and backward uses the saved (right) value;
# A graph in which an in-place op writes memory of that kind is marked; for such a graph only,
# "PyTorch raises, chainrule does not" is accepted, and then chainrule's gradients must pass the
# finite-difference check.
KNOWN_STRICTER = "PyTorch saves memory that chainrule's backward does not need"

# Whether reshape/flatten return a view or a copy depends on the input's strides, and so does
# whether view() works; PyTorch leaves the strides of a computed (non-view) result unspecified.
# The generator tracks which tensors have strides both libraries agree on (leaves, views of
# them, and C-contiguous results of ops on C-contiguous inputs) and reshapes only those.


# ============================================================================ the generator's view
class Draw:
    """What a spec's draw sees: hypothesis's draw and the chainrule pool built so far."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any], graph: Graph) -> None:
        self.draw, self.graph = draw, graph

    # ---------------------------------------------------------------- plain values
    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def flag(self, p_true: float = 0.5) -> bool:
        return self.draw(st.integers(0, 99)) < 100 * p_true

    def data_permutation(self, n: int) -> list[int]:
        """A permutation of range(n), every one as likely (st.permutations favours the
        identity, which hides transposed gradients)."""
        order = list(range(n))
        for i in range(n - 1, 0, -1):  # Fisher-Yates
            j = self.int(0, i)
            order[i], order[j] = order[j], order[i]
        return order

    def scalar(self) -> float:
        return self.pick(SCALARS)

    def bools(self, shape: tuple[int, ...], *, some: bool = True) -> np.ndarray:
        n = math.prod(shape)
        mask = np.array(self.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
        if some and n and not mask.any():
            mask[self.int(0, n - 1)] = True
        return mask.reshape(shape)

    def dim(self, ndim: int, *, extra: int = 0) -> int:
        """A dim of a tensor with ndim dims (ndim + extra for unsqueeze/stack), spelled
        negatively half of the time; 0-d tensors take 0 and -1."""
        n = max(ndim + extra, 1)
        return self.int(-n, n - 1)

    def dims(self, ndim: int, *, allow_none: bool = True, allow_tuple: bool = True) -> Any:
        """None, one dim, or a tuple of distinct dims (in any order and spelling)."""
        kinds = ["int"] + (["none"] if allow_none else []) + (["tuple"] if allow_tuple else [])
        kind = self.pick(kinds)
        if kind == "none":
            return None
        if kind == "int" or ndim == 0:
            return self.dim(ndim)
        chosen = self.data_permutation(ndim)[: self.int(1, ndim)]
        return tuple(d - ndim if self.flag() else d for d in chosen)

    # ---------------------------------------------------------------- the pool
    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(self.graph.pool[i].shape)

    def value(self, i: int) -> np.ndarray:
        return self.graph.pool[i].numpy()

    def bound(self, i: int) -> float:
        v = self.value(i)
        return float(np.abs(v).max()) if v.size else 0.0

    def tensor(self, ok: Callable[[int], bool] = lambda i: True) -> int | None:
        """A pool tensor that fits ``ok``: a recent one half of the time, else any earlier one
        (leaves and old intermediates get reused)."""
        fits = [i for i in range(len(self.graph.pool)) if i not in self.graph.big and ok(i)]
        if not fits:
            return None
        return self.pick(fits[-3:] if self.flag() else fits)

    def apart(self, i: int, j: int) -> bool:
        """i and j share no memory (PyTorch refuses an in-place op whose other operand
        overlaps the written tensor, unless it is that very tensor)."""
        return not np.shares_memory(self.value(i), self.value(j))

    def reshapable(self, i: int) -> bool:
        return i in self.graph.known_strides

    def target(self, *, grad_mode: bool) -> int | None:
        """A tensor an in-place op may change: writeable, no broadcast (zero-stride) dims; in
        grad mode also no leaf and no view of one (PyTorch refuses those, and so does chainrule)."""
        return self.tensor(lambda i: self.graph.writable(i, grad_mode=grad_mode))


def broadcastable(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def fits_into(value: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """``target_view[...] = value`` works: value broadcasts to target (leading 1s dropped)."""
    while len(value) > len(target) and value[0] == 1:
        value = value[1:]
    return broadcastable(value, target) == target


def gap_ok(values: np.ndarray, axes: Any) -> bool:
    """The maximum over ``axes`` is unique in every row, by at least MARGIN (no ties)."""
    if values.size == 0:
        return False
    if values.ndim == 0:
        return True
    axes = tuple(range(values.ndim)) if axes is None else axes
    axes = (axes,) if isinstance(axes, int) else axes
    axes = tuple(a % values.ndim for a in axes)
    kept = [a for a in range(values.ndim) if a not in axes]
    rows = np.transpose(values, kept + list(axes)).reshape(*[values.shape[a] for a in kept], -1)
    if rows.shape[-1] < 2:
        return True
    top2 = np.sort(rows, axis=-1)[..., -2:]
    return bool((top2[..., 1] - top2[..., 0] >= MARGIN).all())


def count_of(shape: tuple[int, ...], dims: Any) -> int:
    if dims is None or not shape:
        return math.prod(shape)
    dims = (dims,) if isinstance(dims, int) else dims
    return math.prod(shape[d] for d in dims)


def margin_bounds(d: Draw, values: np.ndarray) -> tuple[float | None, float | None] | None:
    """clamp bounds, each None or at least MARGIN away from every value (so no kink is hit)."""
    low = d.pick([None, -1.0, -0.5, -0.25, 0.0, 0.3])
    high = d.pick([None, 1.0, 0.5, 0.25, 0.7, 2.0])
    if low is None and high is None:
        high = 0.5
    if low is not None and high is not None and high < low:
        low, high = high, low
    for bound in (low, high):
        if bound is not None and values.size and np.abs(values - bound).min() < MARGIN:
            return None
    return low, high


# ============================================================================ indices
def draw_index(
    d: Draw, shape: tuple[int, ...], *, repeats: bool = True, basic: bool = False
) -> tuple[Any, ...]:
    """A PyTorch index for ``shape`` that selects at least one element: slices (positive steps),
    ints (negative too), integer lists (repeats allowed unless told), a bool mask, None and
    Ellipsis, in PyTorch's combinations (``x[0, :, [0, 1]]`` included)."""
    n = len(shape)
    if n == 0:
        return d.pick([(Ellipsis,), (None,), (), (Ellipsis, None)])
    if not basic and d.flag(0.2):  # a bool mask over the first k dims, then maybe a slice
        k = d.int(1, n)
        items: list[Any] = [d.bools(shape[:k])]
        if k < n and d.flag():
            items.append(slice(0, shape[k]))
        return tuple(items)
    k = d.int(1, n)
    ellipsis = k < n and d.flag(0.25)
    sizes = shape[n - k :] if ellipsis else shape[:k]
    items = []
    list_len = None
    for size in sizes:
        lists = not basic and (list_len is None or d.flag())
        kinds = ["slice", "int"] + (["list"] if lists else [])
        kind = d.pick(kinds)
        if kind == "slice":
            start = d.int(0, size - 1)
            stop = d.int(start + 1, size)
            step = d.int(1, 2)
            items.append(
                slice(start - size if d.flag() else start, None if stop == size else stop, step)
            )
        elif kind == "int":
            items.append(d.int(-size, size - 1))
        else:
            length = d.int(1, 3) if list_len is None else d.pick([list_len, 1])
            if not repeats and length > size:  # distinct positions: at most size of them
                length = size if list_len is None else 1
            list_len = list_len or length
            if repeats:
                items.append([d.int(-size, size - 1) for _ in range(length)])
            else:
                picks = d.data_permutation(size)[:length]
                items.append([p - size if d.flag() else p for p in picks])
    if d.flag(0.15):
        items.insert(d.int(0, len(items)), None)
    return (Ellipsis, *items) if ellipsis else tuple(items)


def to_index(L: Any, index: tuple[Any, ...]) -> tuple[Any, ...]:
    """The index for library L: bool masks become its tensors; ints, slices and lists stay."""
    return tuple(L.tensor(i) if isinstance(i, np.ndarray) else i for i in index)


def indexed_shape(d: Draw, i: int, index: tuple[Any, ...]) -> tuple[int, ...]:
    with cr.no_grad():
        return tuple(d.graph.pool[i].detach()[to_index(cr, index)].shape)


def const(L: Any, a: Any) -> Any:
    a = np.asarray(a)
    return L.tensor(a, dtype=L.float64) if a.dtype.kind == "f" else L.tensor(a)


# ============================================================================ draws
Drawn = tuple[tuple[int, ...], dict[str, Any]] | None


def draw_unary(ok: Callable[[Draw, int], bool] = lambda d, i: True) -> Callable[[Draw], Drawn]:
    def draw(d: Draw) -> Drawn:
        i = d.tensor(lambda i: ok(d, i))
        return None if i is None else ((i,), {})

    return draw


def draw_binary(grow: Callable[[float, float], float] = lambda a, b: max(a, b)):
    """Two tensors that broadcast together (the same one half of the time it fits: x * x)."""

    def draw(d: Draw) -> Drawn:
        i = d.tensor()
        if i is None:
            return None

        def ok(j: int) -> bool:
            out = broadcastable(d.shape(i), d.shape(j))
            return (
                out is not None
                and math.prod(out) <= MAX_NUMEL
                and grow(d.bound(i), d.bound(j)) <= LIMIT
            )

        j = i if d.flag(0.3) and ok(i) else d.tensor(ok)
        return None if j is None else ((i, j), {})

    return draw


SCALAR_FORMS: dict[str, Callable[[Any, float], Any]] = {
    "x + s": lambda x, s: x + s,
    "s - x": lambda x, s: s - x,
    "s * x": lambda x, s: s * x,
    "x / s": lambda x, s: x / s,
    "s / (x * x + 0.5)": lambda x, s: s / (x * x + 0.5),
    "x - s": lambda x, s: x - s,
}


def draw_scalar_arith(d: Draw) -> Drawn:
    i = d.tensor(lambda i: d.bound(i) <= LIMIT / 3)
    if i is None:
        return None
    return (i,), {"form": d.pick(sorted(SCALAR_FORMS)), "s": d.scalar()}


POW_FORMS: dict[str, Callable[[Any, Any, float], Any]] = {
    "(x * x + 0.5) ** p": lambda x, y, p: (x * x + 0.5) ** p,
    "(x * x + 0.5) ** y": lambda x, y, p: (x * x + 0.5) ** y,
    "p ** y": lambda x, y, p: p**y,
    "(x * x + 0.5).pow(y)": lambda x, y, p: (x * x + 0.5).pow(y),
}


def draw_pow(d: Draw) -> Drawn:
    form = d.pick(sorted(POW_FORMS))
    if form == "p ** y":
        p = d.pick([0.5, 2.0, 3.0])
        j = d.tensor(lambda j: p ** d.bound(j) <= LIMIT and (1 / p) ** d.bound(j) <= LIMIT)
        return None if j is None else ((j, j), {"form": form, "p": p})
    p = d.pick([-1.5, -0.5, 0.5, 2.0, 3.0])
    i = d.tensor(lambda i: (d.bound(i) ** 2 + 0.5) ** max(p, 2.0) <= LIMIT)
    if i is None:
        return None
    if form == "(x * x + 0.5) ** p":
        return (i, i), {"form": form, "p": p}

    def ok(j: int) -> bool:
        out = broadcastable(d.shape(i), d.shape(j))
        return out is not None and math.prod(out) <= MAX_NUMEL and d.bound(j) <= 2.0

    j = d.tensor(ok)
    return None if j is None else ((i, j), {"form": form, "p": p})


def draw_reshape(*, view: bool) -> Callable[[Draw], Drawn]:
    def draw(d: Draw) -> Drawn:
        i = d.tensor(d.reshapable)
        if i is None:
            return None
        shape = d.shape(i)
        size = math.prod(shape)
        if size == 0:
            return None
        factors = [f for f in range(1, size + 1) if size % f == 0]
        new: list[int] = []
        rest = size
        for _ in range(d.int(0 if size == 1 else 1, 3)):
            f = d.pick([f for f in factors if rest % f == 0])
            new.append(f)
            rest //= f
        if rest != 1:
            new.append(rest)
        if new and d.flag(0.4):
            new[d.int(0, len(new) - 1)] = -1
        if view:  # PyTorch's view works only without a copy; keep to those shapes
            try:
                np.reshape(d.value(i), new, copy=False)
            except ValueError:
                return None
        return (i,), {"shape": tuple(new)}

    return draw


def draw_flatten(d: Draw) -> Drawn:
    i = d.tensor(d.reshapable)
    if i is None:
        return None
    n = len(d.shape(i))
    if n == 0:
        return (i,), {"start": d.pick([0, -1]), "end": d.pick([0, -1])}
    start, end = sorted([d.int(0, n - 1), d.int(0, n - 1)])
    return (i,), {"start": start - n if d.flag() else start, "end": end - n if d.flag() else end}


def draw_dim_op(extra: int = 0) -> Callable[[Draw], Drawn]:
    def draw(d: Draw) -> Drawn:
        i = d.tensor()
        return None if i is None else ((i,), {"dim": d.dim(len(d.shape(i)), extra=extra)})

    return draw


def draw_squeeze(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    n = len(d.shape(i))
    kind = d.pick(["all", "dim", "dims"])
    if kind == "all":
        return (i,), {}
    return (i,), {"dim": d.dim(n) if kind == "dim" or n == 0 else d.dims(n, allow_none=False)}


def draw_transpose(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    n = len(d.shape(i))
    return (i,), {"d0": d.dim(n), "d1": d.dim(n)}


def draw_permute(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    n = len(d.shape(i))
    order = d.data_permutation(n)
    return (i,), {"dims": tuple(a - n if d.flag() else a for a in order)}


def draw_expand(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) <= 3)
    if i is None:
        return None
    shape = d.shape(i)
    lead = tuple(d.int(1, 3) for _ in range(d.int(0, 1)))
    body = tuple(d.int(2, 3) if n == 1 and d.flag() else (-1 if d.flag() else n) for n in shape)
    full = lead + body  # -1 keeps a dim's size
    out = [m if n == -1 else n for n, m in zip(full, lead + shape, strict=True)]
    return None if math.prod(out) > MAX_NUMEL else ((i,), {"sizes": full})


def draw_flip(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1)
    if i is None:
        return None
    n = len(d.shape(i))
    dims = d.dims(n, allow_none=False)
    return (i,), {"dims": dims if isinstance(dims, tuple) else (dims,)}


def draw_roll(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1)
    if i is None:
        return None
    n = len(d.shape(i))
    return (i,), {"shifts": d.int(-3, 3), "dim": d.dim(n)}


def draw_movedim(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1)
    if i is None:
        return None
    n = len(d.shape(i))
    return (i,), {"src": d.dim(n), "dst": d.dim(n)}


def draw_mt(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 2)
    return None if i is None else ((i,), {})


def draw_reduce(
    *, tuples: bool = True, none: bool = True, ok: Callable[[Draw, int, Any], bool] | None = None
) -> Callable[[Draw], Drawn]:
    """A tensor and reduction dims (None, one dim, or several; 0-d tensors take 0 and -1)."""

    def draw(d: Draw) -> Drawn:
        i = d.tensor(lambda i: math.prod(d.shape(i)) > 0)
        if i is None:
            return None
        dims = d.dims(len(d.shape(i)), allow_none=none, allow_tuple=tuples)
        if ok is not None and not ok(d, i, dims):
            return None
        return (i,), {"dim": dims, "keepdim": d.flag()}

    return draw


def sum_ok(d: Draw, i: int, dims: Any) -> bool:
    return d.bound(i) * count_of(d.shape(i), dims) <= LIMIT


def prod_ok(d: Draw, i: int, dims: Any) -> bool:
    return d.bound(i) ** count_of(d.shape(i), dims) <= LIMIT


def amax_ok(d: Draw, i: int, dims: Any) -> bool:
    return gap_ok(d.value(i), dims)


def std_ok(d: Draw, i: int, dims: Any) -> bool:
    v = d.value(i)
    if v.ndim == 0 or count_of(v.shape, dims) < 2:
        return False
    axes = None if dims is None else dims
    return bool(np.std(v, axis=axes, ddof=1).min() >= 0.1)


def draw_getitem(d: Draw) -> Drawn:
    i = d.tensor(lambda i: math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    index = draw_index(d, d.shape(i))
    if math.prod(indexed_shape(d, i, index)) == 0:
        return None
    return (i,), {"index": index}


def draw_index_select(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    size = shape[dim]
    return (i,), {"dim": dim, "index": [d.int(0, size - 1) for _ in range(d.int(1, 4))]}


def draw_gather(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    index_shape = tuple(
        d.int(1, 3) if k == dim % len(shape) else d.int(1, n) for k, n in enumerate(shape)
    )
    size = shape[dim]
    flat = [d.int(0, size - 1) for _ in range(math.prod(index_shape))]
    return (i,), {"dim": dim, "index": np.array(flat, np.int64).reshape(index_shape)}


def draw_cat(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    axis = dim % len(shape)

    def ok(j: int) -> bool:
        other = d.shape(j)
        return len(other) == len(shape) and all(
            a == b for k, (a, b) in enumerate(zip(other, shape, strict=True)) if k != axis
        )

    picks = [i] + [d.tensor(ok) for _ in range(d.int(1, 2))]
    picks = [j for j in picks if j is not None]
    if len(picks) == 1:
        picks.append(i)  # cat([x, x])
    total = sum(math.prod(d.shape(j)) for j in picks)
    return None if total > MAX_NUMEL else (tuple(picks), {"dim": dim})


def draw_stack(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    shape = d.shape(i)
    picks = [i] + [d.tensor(lambda j: d.shape(j) == shape) for _ in range(d.int(1, 2))]
    picks = [j for j in picks if j is not None]
    if math.prod(shape) * len(picks) > MAX_NUMEL:
        return None
    return tuple(picks), {"dim": d.dim(len(shape), extra=1)}


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    if not a or not b:
        return None
    inner_b = b[0] if len(b) == 1 else b[-2]
    if a[-1] != inner_b:
        return None
    batch = broadcastable(a[:-2], b[:-2])
    if batch is None:
        return None
    return batch + (a[-2:-1] if len(a) > 1 else ()) + (b[-1:] if len(b) > 1 else ())


def draw_matmul(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1)
    if i is None:
        return None
    transpose = d.flag()

    def rhs(j: int) -> tuple[int, ...]:
        s = d.shape(j)
        return (*s[:-2], s[-1], s[-2]) if transpose and len(s) >= 2 else s

    def ok(j: int) -> bool:
        if transpose and len(d.shape(j)) < 2:
            return False
        out = matmul_shape(d.shape(i), rhs(j))
        inner = d.shape(i)[-1]
        return (
            out is not None
            and math.prod(out) <= MAX_NUMEL
            and inner * d.bound(i) * d.bound(j) <= LIMIT
        )

    j = d.tensor(ok)
    return None if j is None else ((i, j), {"transpose_b": transpose})


EINSUMS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "ij,jk->ik": lambda a, b: len(a) == 2 and len(b) == 2 and a[1] == b[0],
    "ij,kj->ik": lambda a, b: len(a) == 2 and len(b) == 2 and a[1] == b[1],
    "...i,...i->...": lambda a, b: len(a) >= 1 and a == b,
    "bij,bkj->bik": lambda a, b: len(a) == 3 and len(b) == 3 and a[0] == b[0] and a[2] == b[2],
    "i,j->ij": lambda a, b: len(a) == 1 and len(b) == 1,
    "ij,i->j": lambda a, b: len(a) == 2 and len(b) == 1 and a[0] == b[0],
}


def draw_einsum(d: Draw) -> Drawn:
    equation = d.pick(sorted(EINSUMS))
    fits = EINSUMS[equation]
    i = d.tensor(lambda i: any(fits(d.shape(i), d.shape(j)) for j in range(len(d.graph.pool))))
    if i is None:
        return None
    j = d.tensor(lambda j: fits(d.shape(i), d.shape(j)) and d.bound(i) * d.bound(j) * 4 <= LIMIT)
    return None if j is None else ((i, j), {"equation": equation})


def draw_where(d: Draw) -> Drawn:
    drawn = draw_binary()(d)
    if drawn is None:
        return None
    (i, j), _ = drawn
    out = broadcastable(d.shape(i), d.shape(j))
    assert out is not None
    mask_shape = out[d.int(0, len(out)) :] if out else ()
    if d.flag(0.25):
        return (i,), {"mask": d.bools(mask_shape, some=False), "other": d.scalar()}
    return (i, j), {"mask": d.bools(mask_shape, some=False)}


def draw_clamp(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    bounds = margin_bounds(d, d.value(i))
    return None if bounds is None else ((i,), {"low": bounds[0], "high": bounds[1]})


def draw_max_dim(d: Draw) -> Drawn:
    i = d.tensor(lambda i: math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    dim = d.dim(len(d.shape(i)))
    if not gap_ok(d.value(i), dim if d.shape(i) else None):
        return None
    return (i,), {"dim": dim, "keepdim": d.flag()}


def norm_ok(d: Draw, i: int, dims: Any) -> bool:
    v = d.value(i)
    axes = None if dims is None or v.ndim == 0 else dims
    return bool(np.sqrt((v * v).sum(axis=axes)).min() >= 0.1)  # away from norm 0


def cumprod_ok(d: Draw, i: int, dims: Any) -> bool:
    shape = d.shape(i)
    return d.bound(i) ** (shape[dims] if shape else 1) <= LIMIT


def draw_dim_only(ok: Callable[[Draw, int, Any], bool] | None = None) -> Callable[[Draw], Drawn]:
    def draw(d: Draw) -> Drawn:
        i = d.tensor(lambda i: math.prod(d.shape(i)) > 0)
        if i is None:
            return None
        dim = d.dim(len(d.shape(i)))
        return None if ok is not None and not ok(d, i, dim) else ((i,), {"dim": dim})

    return draw


def draw_apart_pair(d: Draw) -> Drawn:
    """maximum/minimum: two tensors that broadcast, MARGIN apart everywhere (no ties)."""
    drawn = draw_binary()(d)
    if drawn is None:
        return None
    (i, j), _ = drawn
    return None if np.abs(d.value(i) - d.value(j)).min() < MARGIN else drawn


def draw_narrow(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    size = shape[dim]
    start = d.int(0, size - 1)
    return (i,), {"dim": dim, "start": start, "length": d.int(1, size - start)}


def draw_select(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    return (i,), {"dim": dim, "index": d.int(-shape[dim], shape[dim] - 1)}


def draw_diagonal(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 2 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    n = len(d.shape(i))
    d1, d2 = d.data_permutation(n)[:2]
    shape = d.shape(i)
    offset = d.int(-shape[d1] + 1, shape[d2] - 1)
    return (i,), {"offset": offset, "dim1": d1 - n if d.flag() else d1, "dim2": d2}


def draw_multi_view(d: Draw) -> Drawn:
    """One output of chunk/split/unbind (PyTorch refuses in-place changes of such views and of
    their base once they exist, so the generator makes none: see Graph.no_write)."""
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    dim = d.dim(len(shape))
    size = shape[dim]
    how = d.pick(["chunk", "split", "unbind"])
    if how == "unbind":
        return (i,), {"how": how, "n": 0, "dim": dim, "k": d.int(0, size - 1)}
    n = d.int(1, 3) if how == "chunk" else d.int(1, size)  # chunks, or the size of a split
    piece = -(-size // n) if how == "chunk" else n
    count = -(-size // piece)  # how many pieces there are
    return (i,), {"how": how, "n": n, "dim": dim, "k": d.int(0, count - 1)}


def run_multi_view(L: Any, x: Any, *, how: str, n: int, dim: int, k: int) -> Any:
    if how == "chunk":
        return x.chunk(n, dim)[k]
    if how == "split":
        return x.split(n, dim)[k]
    return x.unbind(dim)[k]


def draw_masked_fill(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    shape = d.shape(i)
    return (i,), {"mask": d.bools(shape[d.int(0, len(shape)) :], some=False), "s": d.scalar()}


def draw_repeat(d: Draw) -> Drawn:
    i = d.tensor()
    if i is None:
        return None
    shape = d.shape(i)
    reps = tuple(d.int(1, 2) for _ in range(len(shape) + d.int(0, 1)))
    return None if math.prod(shape) * math.prod(reps) > MAX_NUMEL else ((i,), {"reps": reps})


def draw_triangle(d: Draw) -> Drawn:
    i = d.tensor(lambda i: len(d.shape(i)) >= 2)
    if i is None:
        return None
    return (i,), {"upper": d.flag(), "diagonal": d.int(-2, 2)}


def draw_index_add(d: Draw) -> Drawn:
    """x.index_add(dim, index, z.index_select(dim, index2)) with repeats in index (they add up),
    or x.scatter_add(dim, index, z); z has x's shape (x itself half of the time)."""
    i = d.tensor(lambda i: len(d.shape(i)) >= 1 and math.prod(d.shape(i)) > 0)
    if i is None:
        return None
    shape = d.shape(i)
    j = i if d.flag() else d.tensor(lambda j: d.shape(j) == shape)
    if j is None:
        return None
    dim = d.dim(len(shape))
    size = shape[dim]
    if d.flag():
        n = d.int(1, 3)
        index = [d.int(0, size - 1) for _ in range(n)]
        source = [d.int(0, size - 1) for _ in range(n)]
        return (i, j), {"how": "index_add", "dim": dim, "index": index, "source": source}
    flat = [d.int(0, size - 1) for _ in range(math.prod(shape))]
    index = np.array(flat, np.int64).reshape(shape)
    return (i, j), {"how": "scatter_add", "dim": dim, "index": index, "source": None}


def run_index_add(L: Any, x: Any, z: Any, *, how: str, dim: int, index: Any, source: Any) -> Any:
    if how == "index_add":
        return x.index_add(dim, L.tensor(index), z.index_select(dim, L.tensor(source)))
    return x.scatter_add(dim, L.tensor(index), z)


# ---------------------------------------------------------------- in-place draws
def draw_target(d: Draw, *, grad_mode: bool = True, zero_d: bool = True) -> tuple[int, bool] | None:
    """(pool index, fresh): change a copy made in the same step (``y = t.clone()``), or an
    existing pool tensor (which backward may need: then both libraries must refuse)."""
    ok = (lambda i: True) if zero_d else (lambda i: len(d.shape(i)) > 0)
    if d.flag(0.5):
        i = d.tensor(lambda i: math.prod(d.shape(i)) > 0 and ok(i))
        return None if i is None else (i, True)
    i = d.tensor(lambda i: d.graph.writable(i, grad_mode=grad_mode) and ok(i))
    return None if i is None else (i, False)


INPLACE_OPS = [
    "add_",
    "sub_",
    "mul_",
    "+=",
    "-=",
    "*=",
    "add_(alpha=0.5)",
    "div_",
    "addcmul_",
    "lerp_",
]


def draw_inplace_binary(d: Draw) -> Drawn:
    target = draw_target(d)
    if target is None:
        return None
    t, fresh = target
    op = d.pick(INPLACE_OPS)
    shape = d.shape(t)
    if d.flag(0.25) and op not in ("addcmul_", "lerp_"):  # those take tensors only
        return (t,), {"fresh": fresh, "op": op, "scalar": d.scalar()}

    def ok(j: int) -> bool:
        if broadcastable(shape, d.shape(j)) != shape or not (fresh or j == t or d.apart(t, j)):
            return False
        if op == "addcmul_":
            return d.bound(t) + d.bound(j) ** 2 <= LIMIT
        return op not in ("mul_", "*=") or d.bound(t) * d.bound(j) <= LIMIT

    if op in ("addcmul_", "lerp_"):
        j = d.tensor(ok)
        return None if j is None else ((t, j), {"fresh": fresh, "op": op})
    j = t if d.flag(0.3) and ok(t) else d.tensor(ok)  # y += y, y.mul_(y)
    return None if j is None else ((t, j), {"fresh": fresh, "op": op})


def apply_inplace(L: Any, y: Any, op: str, other: Any) -> Any:
    if op == "add_":
        return y.add_(other)
    if op == "sub_":
        return y.sub_(other)
    if op == "mul_":
        return y.mul_(other)
    if op == "add_(alpha=0.5)":
        return y.add_(other, alpha=0.5)
    if op == "div_":
        return y.div_(other * other + 0.5)
    if op == "addcmul_":
        return y.addcmul_(other, other, value=0.5)
    if op == "lerp_":
        return y.lerp_(other, 0.25)
    if op == "+=":
        y += other
    elif op == "-=":
        y -= other
    elif op == "*=":
        y *= other
    else:
        raise AssertionError(op)
    return y


def run_inplace_binary(L: Any, t: Any, *other: Any, fresh: bool, op: str, scalar: float = 0.0):
    y = t.clone() if fresh else t
    out = apply_inplace(L, y, op, other[0] if other else scalar)
    return out


VIEWS: dict[str, Callable[[tuple[int, ...]], bool]] = {
    "basic index": lambda s: len(s) >= 1,
    "transpose(-1, -2)": lambda s: len(s) >= 2,
    "unsqueeze(0)": lambda s: True,
    "view(-1)": lambda s: True,
    "[1:].transpose(0, -1)": lambda s: len(s) >= 2 and s[0] >= 2,
}


def make_view(L: Any, y: Any, view: str, index: tuple[Any, ...]) -> Any:
    if view == "basic index":
        return y[to_index(L, index)]
    if view == "transpose(-1, -2)":
        return y.transpose(-1, -2)
    if view == "unsqueeze(0)":
        return y.unsqueeze(0)
    if view == "view(-1)":
        return y.view(-1)
    return y[1:].transpose(0, -1)


def draw_inplace_view(d: Draw) -> Drawn:
    """An in-place op through a view: ``y[1:].mul_(z)``, ``y.transpose(-1, -2).add_(z)``."""
    target = draw_target(d)
    if target is None:
        return None
    t, fresh = target
    shape = d.shape(t)
    view = d.pick([v for v, fits in VIEWS.items() if fits(shape)])
    index: tuple[Any, ...] = ()
    if view == "view(-1)":
        if not d.reshapable(t):
            return None
        try:
            np.reshape(d.value(t), -1, copy=False)
        except ValueError:
            return None
    if view == "basic index":
        index = draw_index(d, shape, basic=True)
    with cr.no_grad():
        view_shape = tuple(make_view(cr, d.graph.pool[t].detach(), view, index).shape)
    if math.prod(view_shape) == 0:
        return None
    op = d.pick(["add_", "mul_", "sub_", "+=", "*="])
    params = {"fresh": fresh, "view": view, "index": index, "op": op}
    if d.flag(0.3):
        return (t,), {**params, "scalar": d.scalar()}

    def ok(j: int) -> bool:
        if broadcastable(view_shape, d.shape(j)) != view_shape or not (fresh or d.apart(t, j)):
            return False
        return op not in ("mul_", "*=") or d.bound(t) * d.bound(j) <= LIMIT

    j = d.tensor(ok)
    return None if j is None else ((t, j), params)


def run_inplace_view(
    L: Any, t: Any, *other: Any, fresh: bool, view: str, index: Any, op: str, scalar: float = 0.0
):
    y = t.clone() if fresh else t
    v = make_view(L, y, view, index)
    out = apply_inplace(L, v, op, other[0] if other else scalar)
    return (y, out)


def draw_setitem(d: Draw) -> Drawn:
    """``y[index] = value`` with a number, a pool tensor that broadcasts, or a 0-d tensor."""
    target = draw_target(d, zero_d=True)
    if target is None:
        return None
    t, fresh = target
    index = draw_index(d, d.shape(t), repeats=False)
    shape = indexed_shape(d, t, index)
    kind = d.pick(["scalar", "tensor", "mean"])
    if kind == "scalar":
        return (t,), {"fresh": fresh, "index": index, "scalar": d.scalar()}
    if kind == "mean":
        j = d.tensor(lambda j: math.prod(d.shape(j)) > 0)
        return None if j is None else ((t, j), {"fresh": fresh, "index": index, "mean": True})
    j = d.tensor(lambda j: fits_into(d.shape(j), shape) and (fresh or d.apart(t, j)))
    return None if j is None else ((t, j), {"fresh": fresh, "index": index})


def run_setitem(
    L: Any, t: Any, *value: Any, fresh: bool, index: Any, scalar: float = 0.0, mean: bool = False
):
    y = t.clone() if fresh else t
    v = (value[0].mean() if mean else value[0]) if value else scalar
    y[to_index(L, index)] = v
    return y


def draw_index_iadd(d: Draw) -> Drawn:
    """``y[index] += v``: Python reads y[index], adds in place, and writes the result back."""
    target = draw_target(d, zero_d=True)
    if target is None:
        return None
    t, fresh = target
    index = draw_index(d, d.shape(t), repeats=False)
    shape = indexed_shape(d, t, index)
    j = d.tensor(lambda j: broadcastable(shape, d.shape(j)) == shape and (fresh or d.apart(t, j)))
    return None if j is None else ((t, j), {"fresh": fresh, "index": index})


def run_index_iadd(L: Any, t: Any, v: Any, *, fresh: bool, index: Any):
    y = t.clone() if fresh else t
    y[to_index(L, index)] += v
    return y


def draw_copy(d: Draw) -> Drawn:
    target = draw_target(d)
    if target is None:
        return None
    t, fresh = target
    kind = d.pick(["copy_", "fill_", "zero_", "masked_fill_"])
    if kind == "masked_fill_":
        shape = d.shape(t)
        mask = d.bools(shape[d.int(0, len(shape)) :], some=False)
        return (t,), {"fresh": fresh, "kind": kind, "scalar": d.scalar(), "mask": mask}
    if kind != "copy_":
        return (t,), {"fresh": fresh, "kind": kind, "scalar": d.scalar()}
    j = d.tensor(
        lambda j: broadcastable(d.shape(t), d.shape(j)) == d.shape(t) and (fresh or d.apart(t, j))
    )
    return None if j is None else ((t, j), {"fresh": fresh, "kind": kind})


def run_copy(
    L: Any, t: Any, *src: Any, fresh: bool, kind: str, scalar: float = 0.0, mask: Any = None
):
    y = t.clone() if fresh else t
    if kind == "copy_":
        return y.copy_(src[0])
    if kind == "masked_fill_":
        return y.masked_fill_(L.tensor(mask), scalar)
    return y.fill_(scalar) if kind == "fill_" else y.zero_()


def draw_clamp_(d: Draw) -> Drawn:
    target = draw_target(d)
    if target is None:
        return None
    t, fresh = target
    bounds = margin_bounds(d, d.value(t))
    return None if bounds is None else ((t,), {"fresh": fresh, "low": bounds[0], "high": bounds[1]})


def run_clamp_(L: Any, t: Any, *, fresh: bool, low: Any, high: Any):
    y = t.clone() if fresh else t
    out = y.clamp_(low, high)
    return out


def draw_unary_(names: list[str]) -> Callable[[Draw], Drawn]:
    def draw(d: Draw) -> Drawn:
        target = draw_target(d)
        if target is None:
            return None
        t, fresh = target
        name = d.pick(names)
        if name == "exp_" and d.value(t).max() > 3:
            return None
        return (t,), {"fresh": fresh, "name": name}

    return draw


def run_unary_(L: Any, t: Any, *, fresh: bool, name: str):
    y = t.clone() if fresh else t
    out = getattr(y, name)()
    return out


def draw_no_grad_shift(d: Draw) -> Drawn:
    """``with no_grad(): t += s`` (a leaf too, as an optimiser step): additive, so autograd's
    gradient is still the derivative that finite differences measure."""
    i = d.target(grad_mode=False)
    if i is None:
        return None
    shape = d.shape(i)
    index = draw_index(d, shape, repeats=False) if shape and d.flag() else None
    return (i,), {"s": d.scalar(), "index": index}


def run_no_grad_shift(L: Any, t: Any, *, s: float, index: Any):
    with L.no_grad():
        if index is None:
            t.add_(s)
        else:
            t[to_index(L, index)] += s
    return t


def draw_no_grad_change(d: Draw) -> Drawn:
    """A no_grad change that autograd does not see (mul_, copy_ from another tensor, setitem):
    compared with PyTorch only."""
    target = draw_target(d, grad_mode=False)
    if target is None:
        return None
    t, fresh = target
    kind = d.pick(["mul_", "add_ tensor", "setitem", "detach().mul_"])
    if kind == "add_ tensor":
        j = d.tensor(
            lambda j: (
                broadcastable(d.shape(t), d.shape(j)) == d.shape(t) and (fresh or d.apart(t, j))
            )
        )
        return None if j is None else ((t, j), {"fresh": fresh, "kind": kind})
    index = draw_index(d, d.shape(t), repeats=False) if kind == "setitem" else None
    return (t,), {"fresh": fresh, "kind": kind, "s": d.scalar(), "index": index}


def run_no_grad_change(
    L: Any, t: Any, *other: Any, fresh: bool, kind: str, s: float = 0.0, index: Any = None
):
    y = t.clone() if fresh else t
    if kind == "detach().mul_":  # in grad mode: the detached tensor shares y's memory
        y.detach().mul_(s)
        return y
    with L.no_grad():
        if kind == "mul_":
            y.mul_(s)
        elif kind == "add_ tensor":
            y.add_(other[0])
        else:
            y[to_index(L, index)] = s
    return y


def retainable(d: Draw, i: int) -> bool:
    t = d.graph.pool[i]
    return t.grad_fn is not None


def retain(L: Any, x: Any) -> Any:
    if x.requires_grad:  # not in the no_grad replays of the finite differences
        x.retain_grad()
    return x


# ============================================================================ the table
def _bounded(limit: float) -> Callable[[Draw, int], bool]:
    return lambda d, i: bool(d.value(i).max(initial=-np.inf) <= limit)


SPECS_LIST: list[Spec] = [
    # ---- arithmetic, with broadcasting, reuse (x + x) and Python numbers
    Spec("add", draw_binary(lambda a, b: a + b), lambda L, a, b: a + b),
    Spec("sub", draw_binary(lambda a, b: a + b), lambda L, a, b: a - b),
    Spec("mul", draw_binary(lambda a, b: a * b), lambda L, a, b: a * b),
    Spec("div", draw_binary(lambda a, b: 2 * a), lambda L, a, b: a / (b * b + 0.5)),
    Spec("scalar", draw_scalar_arith, lambda L, x, form, s: SCALAR_FORMS[form](x, s)),
    Spec(
        "pow",
        draw_pow,
        lambda L, x, y, form, p: POW_FORMS[form](x, y, p),
        saves_out=True,
        torch_saves=lambda step: () if step.params["form"] == "(x * x + 0.5) ** p" else ("out",),
    ),
    # ---- smooth functions; logs of x * x + 0.5 (always positive)
    Spec("exp", draw_unary(_bounded(3.0)), lambda L, x: x.exp(), saves_out=True),
    Spec("tanh", draw_unary(), lambda L, x: x.tanh(), saves_out=True),
    Spec("sigmoid", draw_unary(), lambda L, x: x.sigmoid(), saves_out=True),
    Spec("sin", draw_unary(), lambda L, x: L.sin(x)),
    Spec("log", draw_unary(), lambda L, x: (x * x + 0.5).log()),
    Spec("softplus", draw_unary(_bounded(5.0)), lambda L, x: (x.exp() + 1).log()),
    # ---- views and copies of the shape (negative dims everywhere)
    Spec("reshape", draw_reshape(view=False), lambda L, x, shape: x.reshape(shape)),
    Spec("view", draw_reshape(view=True), lambda L, x, shape: x.view(shape)),
    Spec("flatten", draw_flatten, lambda L, x, start, end: x.flatten(start, end)),
    Spec("unsqueeze", draw_dim_op(extra=1), lambda L, x, dim: x.unsqueeze(dim)),
    Spec("squeeze", draw_squeeze, lambda L, x, **p: x.squeeze(*p.values())),
    Spec("transpose", draw_transpose, lambda L, x, d0, d1: x.transpose(d0, d1)),
    Spec("permute", draw_permute, lambda L, x, dims: x.permute(dims)),
    Spec("expand", draw_expand, lambda L, x, sizes: x.expand(sizes)),
    Spec("flip", draw_flip, lambda L, x, dims: x.flip(dims)),
    Spec("roll", draw_roll, lambda L, x, shifts, dim: x.roll(shifts, dim)),
    Spec("movedim", draw_movedim, lambda L, x, src, dst: x.movedim(src, dst)),
    Spec("mT", draw_mt, lambda L, x: x.mT),
    # ---- reductions (dims None, negative, several; keepdim both ways; 0-d with dim 0 or -1)
    Spec("sum", draw_reduce(ok=sum_ok), lambda L, x, **p: x.sum(**p)),
    Spec("mean", draw_reduce(), lambda L, x, **p: x.mean(**p)),
    Spec(
        "amax", draw_reduce(ok=amax_ok), lambda L, x, **p: x.amax(**p), torch_saves=("in0", "out")
    ),
    Spec(
        "prod",
        draw_reduce(tuples=False, ok=prod_ok),
        lambda L, x, dim, keepdim: x.prod() if dim is None else x.prod(dim, keepdim),
        torch_saves=("out",),
    ),
    Spec("logsumexp", draw_reduce(none=False), lambda L, x, **p: x.logsumexp(**p), saves_out=True),
    Spec(
        "std",
        draw_reduce(ok=std_ok),
        lambda L, x, **p: x.std(**p),
        torch_saves=("in0",),
        saves_out=True,
    ),
    Spec("max(dim)", draw_max_dim, lambda L, x, dim, keepdim: x.max(dim, keepdim).values),
    Spec(
        "norm",
        draw_reduce(ok=norm_ok),
        lambda L, x, dim, keepdim: x.norm(2, dim, keepdim),
        saves_out=True,
    ),
    Spec("softmax", draw_dim_only(), lambda L, x, dim: x.softmax(dim), saves_out=True),
    Spec("log_softmax", draw_dim_only(), lambda L, x, dim: x.log_softmax(dim), saves_out=True),
    Spec("cumsum", draw_dim_only(sum_ok), lambda L, x, dim: x.cumsum(dim)),
    Spec(
        "cumprod",
        draw_dim_only(cumprod_ok),
        lambda L, x, dim: x.cumprod(dim),
        saves_out=True,
        torch_saves=("in0",),
    ),
    Spec("maximum", draw_apart_pair, lambda L, a, b: L.maximum(a, b)),
    Spec("minimum", draw_apart_pair, lambda L, a, b: L.minimum(a, b)),
    # ---- indexing and joining
    Spec("getitem", draw_getitem, lambda L, x, index: x[to_index(L, index)]),
    Spec(
        "index_select",
        draw_index_select,
        lambda L, x, dim, index: x.index_select(dim, L.tensor(index)),
    ),
    Spec(
        "gather",
        draw_gather,
        lambda L, x, dim, index: x.gather(dim, L.tensor(index)),
        torch_saves=("in0",),
    ),
    Spec("narrow", draw_narrow, lambda L, x, dim, start, length: x.narrow(dim, start, length)),
    Spec("select", draw_select, lambda L, x, dim, index: x.select(dim, index)),
    Spec("diagonal", draw_diagonal, lambda L, x, **p: x.diagonal(**p)),
    Spec("chunk/split/unbind", draw_multi_view, run_multi_view),
    Spec("masked_fill", draw_masked_fill, lambda L, x, mask, s: x.masked_fill(L.tensor(mask), s)),
    Spec("repeat", draw_repeat, lambda L, x, reps: x.repeat(reps)),
    Spec(
        "tril/triu",
        draw_triangle,
        lambda L, x, upper, diagonal: x.triu(diagonal) if upper else x.tril(diagonal),
    ),
    Spec("index_add/scatter_add", draw_index_add, run_index_add),
    Spec("cat", draw_cat, lambda L, *xs, dim: L.cat(list(xs), dim)),
    Spec("stack", draw_stack, lambda L, *xs, dim: L.stack(list(xs), dim)),
    Spec("matmul", draw_matmul, lambda L, a, b, transpose_b: a @ (b.mT if transpose_b else b)),
    Spec("einsum", draw_einsum, lambda L, a, b, equation: L.einsum(equation, a, b)),
    Spec(
        "where",
        draw_where,
        lambda L, a, *b, mask, other=0.0: L.where(L.tensor(mask), a, b[0] if b else other),
    ),
    Spec("clamp", draw_clamp, lambda L, x, low, high: x.clamp(low, high), torch_saves=("in0",)),
    Spec("clone", draw_unary(), lambda L, x: x.clone()),
    Spec("retain_grad", draw_unary(retainable), retain),
    Spec("x * 1", draw_unary(), lambda L, x: x * 1),
    # ---- in-place ops in grad mode
    Spec("inplace", draw_inplace_binary, run_inplace_binary, writes=0),
    Spec("inplace view", draw_inplace_view, run_inplace_view, writes=0),
    Spec("setitem", draw_setitem, run_setitem, writes=0),
    Spec("index +=", draw_index_iadd, run_index_iadd, writes=0),
    Spec("copy_", draw_copy, run_copy, writes=0),
    Spec("clamp_", draw_clamp_, run_clamp_, writes=0),
    Spec("sin_", draw_unary_(["sin_"]), run_unary_, writes=0),
    Spec(
        "unary_",
        draw_unary_(["tanh_", "sigmoid_", "exp_"]),
        run_unary_,
        writes=0,
        torch_saves=("out",),
    ),
    # ---- in-place ops under no_grad
    Spec("no_grad +=", draw_no_grad_shift, run_no_grad_shift, writes=0),
    Spec("no_grad change", draw_no_grad_change, run_no_grad_change, writes=0, fd_safe=False),
]
SPECS = {spec.name: spec for spec in SPECS_LIST}
assert len(SPECS) == len(SPECS_LIST)


# ============================================================================ replaying a graph
class Graph:
    """The pool of one library's replay: leaves first, then each step's outputs."""

    def __init__(self, L: Any, leaves: list[np.ndarray], requires: list[bool]) -> None:
        self.L, self.is_torch = L, L.__name__ == "torch"
        self.leaves = [
            L.tensor(a.copy(), dtype=L.float64, requires_grad=r)
            for a, r in zip(leaves, requires, strict=True)
        ]
        self.retained: list[int] = []  # tensors whose .grad backward keeps (retain_grad)
        self.pool: list[Any] = list(self.leaves)
        self.big: set[int] = set()
        self.hazards: list[tuple[np.ndarray, str]] = []  # memory PyTorch saves, chainrule not
        self.hazard: str | None = None  # set when an in-place op writes such memory
        self.known_strides: set[int] = set(range(len(leaves)))  # the same in both libraries
        self.no_write: list[np.ndarray] = []  # memory the generator keeps off (known bugs)
        self.views: list[tuple[bool, ...]] = []  # per output: shares memory with each input?

    def run(self, step: Step) -> int:
        spec = SPECS[step.op]
        fn = spec.torch if self.is_torch and spec.torch is not None else spec.run
        xs = [self.pool[i] for i in step.inputs]
        if self.is_torch:
            # PyTorch rebuilds a view's grad_fn lazily, when it is read; its in-place check reads
            # the stale one, so a view whose base an in-place op through another view changed
            # counts as a leaf and ``view.clamp_()`` is refused, unless grad_fn was read first.
            for x in xs:
                _ = x.grad_fn
        else:
            self._note_hazards(spec, step, xs)
        out = fn(self.L, *xs, **step.params)
        outs = out if isinstance(out, tuple) else (out,)
        first = len(self.pool)
        self.pool.extend(outs)
        if step.op == "retain_grad":
            self.retained.append(step.inputs[0])
        self.views.extend(tuple(self.shares(o, x) for x in xs) for o in outs)
        if not self.is_torch:
            self._track_strides(step, xs, outs, first)
            if step.op == "chunk/split/unbind":  # PyTorch refuses in-place ops on the family
                self.no_write.append(root(outs[0].numpy()))
        if not self.is_torch:
            saves = spec.torch_saves(step) if callable(spec.torch_saves) else spec.torch_saves
            for name in saves:
                t = xs[0] if name == "in0" else outs[-1]
                self.hazards.append((t.numpy(), f"{step.op}: {KNOWN_STRICTER}"))
            if spec.saves_out and outs[-1].ndim == 0:
                self.hazards.append((outs[-1].numpy(), f"0-d {step.op}: {KNOWN_STRICTER}"))
            self._mark_big()
        return len(outs)

    def shares(self, a: Any, b: Any) -> bool:
        """a and b are views of one storage (the same memory block)."""
        if self.is_torch:
            return bool(a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())
        return root(a.numpy()) is root(b.numpy())

    def _track_strides(self, step: Step, xs: list[Any], outs: tuple[Any, ...], first: int) -> None:
        """A view has known strides when its base has; a new array when it is C-contiguous and
        made from C-contiguous inputs with known strides."""
        dense = all(
            i in self.known_strides and x.numpy().flags.c_contiguous
            for i, x in zip(step.inputs, xs, strict=True)
        )
        for k, o in enumerate(outs):
            bases = [i for i, x in zip(step.inputs, xs, strict=True) if self.shares(o, x)]
            if bases:
                known = all(i in self.known_strides for i in bases)
            else:
                known = dense and o.numpy().flags.c_contiguous
            if known:
                self.known_strides.add(first + k)

    def _note_hazards(self, spec: Spec, step: Step, xs: list[Any]) -> None:
        if spec.writes is None or self.hazard is not None:
            return
        memory = xs[spec.writes].numpy()
        for saved, reason in self.hazards:
            if np.shares_memory(memory, saved):
                self.hazard = reason
                return
        if (
            step.params.get("op") in ("mul_", "*=", "addcmul_")
            and len(xs) > 1
            and not step.params["fresh"]
        ):
            if np.shares_memory(memory, xs[1].numpy()):
                self.hazard = f"{step.op}: y.mul_(y) - {KNOWN_STRICTER}"

    def _mark_big(self) -> None:
        for i, t in enumerate(self.pool):
            v = t.numpy()
            if v.size and not (np.isfinite(v).all() and np.abs(v).max() <= LIMIT):
                self.big.add(i)

    def writable(self, i: int, *, grad_mode: bool) -> bool:
        t = self.pool[i]
        a = t.numpy()
        if a.size == 0 or not a.flags.writeable:
            return False
        if any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape, strict=True)):
            return False
        if any(np.shares_memory(a, m) for m in self.no_write):
            return False
        if not grad_mode:
            return True
        if t.requires_grad and t.grad_fn is None:
            return False  # a leaf that requires grad
        return not any(
            np.shares_memory(a, leaf.numpy())
            for leaf in self.leaves
            if leaf.requires_grad and leaf.grad_fn is None
        )

    def loss(self, terms: list[tuple[int, np.ndarray]]) -> Any:
        total = None
        for i, w in terms:
            term = (self.pool[i] * const(self.L, w)).sum()
            total = term if total is None else total + term
        return total


def root(a: Any) -> Any:
    """The object that owns an array's memory (as_strided views reach it through a wrapper)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def replay(L: Any, leaves: list[np.ndarray], steps: list[Step], requires: list[bool]) -> Graph:
    graph = Graph(L, leaves, requires)
    for step in steps:
        graph.run(step)
    return graph


def program(
    leaves: list[np.ndarray],
    requires: list[bool],
    steps: list[Step],
    terms: list[tuple[int, Any]],
) -> str:
    """The graph as readable lines: ``t5 = mul(t2, t2)``; ``t7, t8 = setitem(t3, ...)``."""
    lines = [
        f"t{k} = {'leaf' if r else 'constant'}{tuple(a.shape)}"
        for k, (a, r) in enumerate(zip(leaves, requires, strict=True))
    ]
    n = len(leaves)
    for step in steps:
        outs = ", ".join(f"t{n + k}" for k in range(step.n_out))
        args = [f"t{i}" for i in step.inputs] + [f"{k}={v!r}" for k, v in step.params.items()]
        lines.append(f"{outs} = {step.op}({', '.join(args)})")
        n += step.n_out
    lines.append("loss = " + " + ".join(f"(w{tuple(w.shape)} * t{i}).sum()" for i, w in terms))
    return "\n".join(lines)


# ============================================================================ drawing a graph
class Drawing:
    """A drawn graph: its leaves, steps and loss terms, and chainrule's pool built while
    drawing. Its repr is the program (what hypothesis prints for a failing example)."""

    def __init__(
        self,
        seed: int,
        leaves: list[np.ndarray],
        requires: list[bool],
        steps: list[Step],
        terms: list[tuple[int, np.ndarray]],
        graph: Graph,
        op_error: Exception | None,  # raised by chainrule at the last step
        draw_error: Exception | None,  # raised by chainrule while a draw probed the pool
    ) -> None:
        self.seed, self.leaves, self.steps, self.terms = seed, leaves, steps, terms
        self.requires = requires
        self.graph, self.op_error, self.draw_error = graph, op_error, draw_error

    def __repr__(self) -> str:
        return f"\n# leaves from np.random.default_rng({self.seed})\n" + program(
            self.leaves, self.requires, self.steps, self.terms
        )


@st.composite
def graphs(draw: Callable[[st.SearchStrategy[Any]], Any], *, fd_safe_only: bool) -> Drawing:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shapes = draw(st.lists(st.sampled_from(LEAF_SHAPES), min_size=2, max_size=4))
    leaves = [rng.standard_normal(s) for s in shapes]
    # a leaf that does not require grad now and then: a constant (in-place ops may change it)
    requires = [draw(st.integers(0, 5)) > 0 for _ in shapes]
    requires[0] = True
    graph = Graph(cr, leaves, requires)
    d = Draw(draw, graph)
    names = [s.name for s in SPECS_LIST if s.fd_safe or not fd_safe_only]
    steps: list[Step] = []
    op_error = draw_error = None
    length = draw(st.integers(5, 25))
    for _ in range(3 * length):  # draws that find nothing that fits are retried
        if len(steps) == length:
            break
        spec = SPECS[d.pick(names)]
        try:
            drawn = spec.draw(d)
        except Exception as error:  # a probe of the pool (an index, a view) failed
            draw_error = error
            break
        if drawn is None:
            continue
        step = Step(spec.name, *drawn)
        steps.append(step)
        try:
            step.n_out = graph.run(step)
        except Exception as error:  # chainrule refused a step: PyTorch must refuse it too
            op_error = error
            break
    # The loss reads every sink (a tensor no later step used: so every op is on a path to the
    # loss) or, half of the time, the last tensor and a few random ones.
    usable = [i for i in range(len(graph.pool)) if i not in graph.big]
    used = {i for step in steps for i in step.inputs}
    sinks = {i for i in usable if i not in used and i >= len(leaves)}
    chosen = {usable[-1]} | set(draw(st.lists(st.sampled_from(usable), max_size=3)))
    if draw(st.booleans()):
        chosen |= sinks
    if not any(graph.pool[i].requires_grad for i in chosen):
        chosen.add(0)  # backward needs a loss that requires grad
    terms = [(i, rng.standard_normal(graph.pool[i].shape)) for i in sorted(chosen)]
    return Drawing(seed, leaves, requires, steps, terms, graph, op_error, draw_error)


def backward(graph: Graph, terms: list[tuple[int, np.ndarray]]) -> tuple[Any, Exception | None]:
    """The loss and backward's error (None when it ran); the graph is kept for a second pass."""
    loss = graph.loss(terms)
    try:
        loss.backward(retain_graph=True)
    except Exception as error:
        return loss, error
    return loss, None


def check_second_backward(graph: Graph, loss: Any) -> None:
    """A second backward through the retained graph adds the same gradients again."""
    first = grads(graph)
    loss.backward()
    for k, (once, twice) in enumerate(zip(first, grads(graph), strict=True)):
        assert (once is None) == (twice is None), f"t{k}.grad after a second backward"
        if once is not None:
            np.testing.assert_allclose(twice, 2 * once, 1e-12, 0, err_msg=f"t{k}.grad", strict=True)


def grads(graph: Graph) -> list[np.ndarray | None]:
    out = []
    for leaf in graph.leaves:
        # PyTorch warns on .grad of a non-leaf (a constant that an in-place op gave a history)
        g = leaf.grad if not graph.is_torch or leaf.is_leaf or leaf.retains_grad else None
        out.append(
            None if g is None else np.array(g.detach().numpy() if graph.is_torch else g.numpy())
        )
    return out


# ============================================================================ checks
def loss_value(leaves: list[np.ndarray], g: Drawing) -> float:
    with cr.no_grad():
        graph = replay(cr, leaves, g.steps, [False] * len(leaves))
        return float(graph.loss(g.terms).item())


def check_finite_differences(g: Drawing, loss: Any, rng: np.random.Generator) -> None:
    """Each leaf's gradient against central differences along two random directions (float64,
    the same steps replayed by chainrule under no_grad)."""
    base = loss_value(g.leaves, g)
    assert base == pytest.approx(float(loss.item()), rel=1e-12, abs=1e-12), "no_grad replay"
    graph = replay(cr, g.leaves, g.steps, [False] * len(g.leaves))
    scale = 1.0 + sum(float(np.abs(w * graph.pool[i].numpy()).sum()) for i, w in g.terms)
    for k, (leaf, grad) in enumerate(zip(g.leaves, grads(g.graph), strict=True)):
        if not g.requires[k]:
            if g.graph.leaves[k].grad_fn is None:  # else an in-place op gave it a history
                assert grad is None, f"t{k} is a constant, yet has a .grad"
            continue
        grad = np.zeros_like(leaf) if grad is None else grad
        assert grad.shape == leaf.shape, f"t{k}.grad has shape {grad.shape}, not {leaf.shape}"
        for _ in range(2):
            v = rng.standard_normal(leaf.shape)
            plus, minus = list(g.leaves), list(g.leaves)
            plus[k], minus[k] = leaf + EPS * v, leaf - EPS * v
            numeric = (loss_value(plus, g) - loss_value(minus, g)) / (2 * EPS)
            analytic = float(np.sum(grad * v))
            tolerance = 1e-6 * (abs(numeric) + np.linalg.norm(grad) * np.linalg.norm(v))
            assert abs(numeric - analytic) <= tolerance + 1e-8 * scale, (
                f"t{k}: gradient · v = {analytic!r}, central differences {numeric!r}"
            )


def check_grads_are_private(graph: Graph) -> None:
    """After backward, no .grad shares memory with another .grad or with any tensor of the
    graph, and ``a.grad += 1`` on one leaf changes no other leaf's .grad."""
    leaves = [t for t in graph.leaves if t.grad is not None]
    for k, t in enumerate(leaves):
        g = t.grad.numpy()
        others = [u.grad.numpy() for u in leaves[k + 1 :]] + [p.numpy() for p in graph.pool]
        assert not any(np.shares_memory(g, o) for o in others), "a .grad shares memory"
    for t in leaves:
        assert isinstance(t.grad.numpy(), np.ndarray), type(t.grad.numpy())
    for t in leaves:
        before = [u.grad.numpy().copy() for u in leaves]
        t.grad += 1
        for u, b in zip(leaves, before, strict=True):
            expected = b + 1 if u is t else b
            np.testing.assert_array_equal(u.grad.numpy(), expected)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(g=graphs(fd_safe_only=True))
def test_random_graph_finite_differences(g: Drawing) -> None:
    if g.draw_error is not None:
        raise g.draw_error
    if g.op_error is not None:
        raise g.op_error
    loss, error = backward(g.graph, g.terms)
    if error is not None:
        # Without PyTorch nothing says whether backward should refuse; it may only refuse with
        # the version error (an in-place op changed what backward needs).
        assert isinstance(error, cr.ChainruleError) and VERSION_ERROR in str(error), error
        return
    check_finite_differences(g, loss, np.random.default_rng(len(g.steps)))
    check_second_backward(g.graph, loss)
    check_grads_are_private(g.graph)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(g=graphs(fd_safe_only=False))
def test_random_graph_matches_pytorch(g: Drawing) -> None:
    torch = pytest.importorskip("torch")
    if g.draw_error is not None:
        raise g.draw_error
    ref = Graph(torch, g.leaves, g.requires)
    for k, step in enumerate(g.steps):
        try:
            ref.run(step)
        except Exception as error:
            if g.op_error is not None and k == len(g.steps) - 1:
                return  # both refused this step
            raise AssertionError(
                f"PyTorch refused step {k} ({step.op}), chainrule did not"
            ) from error
    if g.op_error is not None:
        raise AssertionError(f"chainrule refused step {len(g.steps) - 1}, PyTorch did not") from (
            g.op_error
        )
    n = len(g.leaves)
    for k, (mine, theirs) in enumerate(zip(g.graph.views, ref.views, strict=True)):
        assert mine == theirs, (
            f"t{n + k} shares memory with the step's inputs {theirs} in PyTorch, {mine} in "
            "chainrule (a view in one library, a copy in the other)"
        )
    for k, (mine, theirs) in enumerate(zip(g.graph.pool, ref.pool, strict=True)):
        np.testing.assert_allclose(
            mine.numpy(), theirs.detach().numpy(), 1e-10, 1e-12, err_msg=f"t{k}", strict=True
        )
        assert mine.requires_grad == theirs.requires_grad, f"t{k}.requires_grad"
    loss, error = backward(g.graph, g.terms)
    ref_loss, ref_error = backward(ref, g.terms)
    if ref_error is not None:
        assert TORCH_VERSION_ERROR in str(ref_error), ref_error  # the generator's only refusal
        if error is None:
            assert g.graph.hazard is not None, (
                f"PyTorch refused backward, chainrule did not: {ref_error}"
            )
            if all(SPECS[s.op].fd_safe for s in g.steps):
                check_finite_differences(g, loss, np.random.default_rng(0))
            return
        assert isinstance(error, cr.ChainruleError) and VERSION_ERROR in str(error), error
        return
    if error is not None:
        raise AssertionError("chainrule refused backward, PyTorch did not") from error
    assert float(loss.item()) == pytest.approx(float(ref_loss.item()), rel=1e-10, abs=1e-10)
    mine_all, theirs_all = grads(g.graph), grads(ref)
    scale = max([1.0] + [float(np.abs(t).max()) for t in theirs_all if t is not None and t.size])
    for k, (mine, theirs) in enumerate(zip(mine_all, theirs_all, strict=True)):
        assert (mine is None) == (theirs is None), f"t{k}.grad: {mine} vs PyTorch's {theirs}"
        if mine is not None:
            np.testing.assert_allclose(
                mine, theirs, rtol=1e-7, atol=1e-10 * scale, err_msg=f"t{k}.grad", strict=True
            )
    for i in g.graph.retained:
        mine, theirs = g.graph.pool[i].grad, ref.pool[i].grad
        assert (mine is None) == (theirs is None), f"t{i}.grad (retain_grad): {mine} vs {theirs}"
        if mine is not None:
            np.testing.assert_allclose(
                mine.numpy(), theirs.numpy(), 1e-7, 1e-10 * scale, err_msg=f"t{i}.grad", strict=True
            )
    check_second_backward(g.graph, loss)
    check_second_backward(ref, ref_loss)
    check_grads_are_private(g.graph)


# ============================================================================ regressions
def leaf(values: Any) -> cr.Tensor:
    return cr.tensor(values, requires_grad=True, dtype=cr.float64)


def test_leaf_reused_across_nested_adds() -> None:
    a, c = leaf([1.0]), leaf([3.0])
    (((c + a) + c) * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    np.testing.assert_array_equal(c.grad.numpy(), [4.0])


def test_tensor_added_to_itself_through_several_paths() -> None:
    x = leaf([1.0, -2.0, 0.5])
    y = x + x  # 2x
    z = y + x + y  # 5x
    w = z + z + y  # 12x
    (w * leaf([1.0, 2.0, 3.0]).detach()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 24.0, 36.0])


def test_leaf_as_both_inputs_of_several_adds() -> None:
    x, y = leaf([1.0, 2.0]), leaf(3.0)
    out = (x + x) + (y + y) * (x + x)  # d/dx = 2 + 4y = 14, d/dy = 2 * 2 * Σx = 12
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [14.0, 14.0])
    assert float(y.grad.item()) == 12.0


def test_grad_of_one_leaf_is_not_shared_with_another() -> None:
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf(5.0)
    s = a + b  # Add's backward returns the same incoming gradient to both inputs
    (s + c + a * 0).sum().backward()
    grads_before = {name: t.grad.numpy().copy() for name, t in (("a", a), ("b", b), ("c", c))}
    a.grad += 1
    np.testing.assert_array_equal(b.grad.numpy(), grads_before["b"])
    np.testing.assert_array_equal(c.grad.numpy(), grads_before["c"])
    b.grad.mul_(3)
    np.testing.assert_array_equal(a.grad.numpy(), grads_before["a"] + 1)


# ============================================================================ found bugs
# Each test below reproduces a bug that the random graphs found (since fixed): 0-d gradients
# summed into NumPy scalars, setitem values with extra leading size-1 dims, a saved keepdim
# result whose view was changed in place, stale views, view() copying, 0-d gaps.
def test_0d_leaf_used_twice_has_a_0d_array_grad() -> None:
    a = leaf(1.5)
    (a + a).backward()
    assert isinstance(a.grad.numpy(), np.ndarray)
    a.grad += 1
    assert float(a.grad.item()) == 3.0


def test_0d_tensor_written_by_setitem_and_used_twice() -> None:
    a = leaf(1.5)
    y = a * 1
    y[...] = 2.0 * a
    (y + y).backward()
    assert float(a.grad.item()) == 4.0


def test_setitem_value_with_an_extra_leading_dim() -> None:
    x, v = leaf(np.zeros((3, 4))), leaf([[5.0]])
    y = x * 1
    y[:, 0] = v  # PyTorch drops v's leading 1, as NumPy does
    y.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [[3.0]])
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [0.0, 0.0, 0.0])


def test_bool_mask_setitem_value_with_an_extra_leading_dim() -> None:
    y = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64)
    y[cr.tensor([[True, False], [False, True]])] = cr.tensor([[5.0, 6.0]], dtype=cr.float64)
    np.testing.assert_array_equal(y.numpy(), [[5.0, 2.0], [3.0, 6.0]])


@pytest.mark.parametrize("reduce", ["logsumexp", "norm"])
def test_reduction_result_changed_in_place_is_refused(reduce: str) -> None:
    x = leaf([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]])
    c = x.logsumexp(1) if reduce == "logsumexp" else x.norm(dim=1)
    c.add_(1)  # PyTorch: "modified by an inplace operation" at backward
    with pytest.raises(cr.ChainruleError, match=VERSION_ERROR):
        (c * c).sum().backward()


def test_view_of_an_advanced_index_result() -> None:
    x = cr.tensor(np.arange(12.0).reshape(3, 4), dtype=cr.float64)
    y = x[:, [0, 1]]
    y.view(-1).add_(100)  # PyTorch: y.is_contiguous(), so the view shares y's memory
    np.testing.assert_array_equal(y.numpy(), [[100, 101], [104, 105], [108, 109]])


def test_view_of_a_constant_that_an_in_place_op_gave_a_history() -> None:
    x = leaf([1.0, 2.0, 3.0, 4.0])
    c = cr.zeros(2, 4, dtype=cr.float64)  # requires no grad
    v = c.view(8)
    c.add_(x)  # PyTorch: c and its view v now require grad
    assert v.requires_grad
    v.mul_(2)
    v.backward(cr.ones(8, dtype=cr.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0, 4.0])


@pytest.mark.parametrize(
    ("loss", "expected"),
    [("own", [1.0, 1.0, 1.0, 1.0]), ("child", None), ("both", [1.0, 1.0, 1.0, 1.0])],
)
def test_retained_grad_of_a_view_changed_through_a_view_of_it(
    loss: str, expected: list[float] | None
) -> None:
    """A retained view's .grad comes from its own uses after the change, as PyTorch's (which
    regenerates the view's grad_fn): none when only the changed child is used afterwards."""
    x = leaf([1.0, 2.0, 3.0, 4.0])
    y = (x * 3).reshape(1, 4)  # a view of x * 3
    y.retain_grad()
    child = y[..., None, 0]
    child.add_(-2.0)
    if loss == "own":
        y.sum().backward()
    elif loss == "child":
        (child.sum() * 10).backward()
    else:
        (y.sum() + 10 * child.sum()).backward()
    if expected is None:
        assert y.grad is None
    else:
        np.testing.assert_array_equal(y.grad.numpy(), [expected])


def test_retained_grad_of_a_view_whose_base_changed_under_no_grad() -> None:
    """The view is not used after the change, so its history (and what it retains) stays the
    one its earlier uses were built on, as PyTorch's grad_fn is regenerated only on access."""
    x = leaf(np.arange(12.0).reshape(3, 4) / 10)
    d = x.diagonal()
    d.retain_grad()
    y = d.exp()
    with cr.no_grad():
        x.mul_(-2)
    y.sum().backward()
    np.testing.assert_allclose(
        d.grad.numpy(), np.exp(np.diagonal(np.arange(12.0).reshape(3, 4) / 10))
    )


def test_retained_grad_of_a_view_used_before_a_change_through_a_view_of_it() -> None:
    """Only the use made before the change reaches the view's retained grad: the in-place op on
    the child reads its base's region afresh (PyTorch's CopySlices), not through the view."""
    x = leaf([1.0, 2.0, 3.0, 4.0])
    y = (x * 3).reshape(1, 4)
    y.retain_grad()
    early = (y * 5).sum()
    child = y[..., None, 0]
    child.add_(-2.0)
    (early + 10 * child.sum()).backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[5.0, 5.0, 5.0, 5.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [45.0, 15.0, 15.0, 15.0])


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.flip(0),
        lambda x: x.movedim(0, -1),
        lambda x: x.index_select(0, cr.tensor([0])),
    ],
    ids=["flip(0)", "movedim(0, -1)", "index_select(0, [0])"],
)
def test_0d_ops_that_pytorch_supports(op: Callable[[cr.Tensor], cr.Tensor]) -> None:
    x = leaf(2.0)
    (op(x) * 3).backward()  # PyTorch: each returns x's value as a 0-d tensor
    assert float(x.grad.item()) == 3.0
