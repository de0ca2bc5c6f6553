"""Indexing: reading (Index), writing (IndexPut, the in-place ``x[i] = v``), and writing through a
view (ViewScatter, how an in-place op on a view changes its base).

An index arrives as ``steps``: NumPy indices applied one after another. One step is NumPy's
indexing; two steps express PyTorch's rule where it differs (ints select first, then advanced
indices apply to what is left), and the first step is always basic, so it is a view.
gather, index_select, masked_select, take_along_dim, max(dim)'s values, sort's and topk's values
are all Index with integer-array steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Array, Context, Function, Grads

Steps = tuple[Any, ...]


def is_basic(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis: such an index never selects an element twice,
    and NumPy returns a view for it."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | np.integer | slice | type(None) | type(Ellipsis)) for i in items)


def select(a: Array, steps: Steps) -> Array:
    for step in steps:
        a = a[step]
    return a


def fit(values: Any, selected: Any) -> Any:
    """values without the leading size-1 dims that the selected slot does not have: PyTorch
    broadcasts ``x[mask] = v`` with v of shape (1, k); NumPy refuses it for masks."""
    values = np.asarray(values)
    ndim = np.ndim(selected)
    while values.ndim > ndim and values.shape[0] == 1:
        values = values[0]
    return values


def _scatter(target: Array, steps: Steps, values: Array, accumulate: bool) -> None:
    """target[steps] = values (or += values, repeated indices adding up), in place."""
    inner = select(target, steps[:-1])  # basic steps: a view of target
    last = steps[-1]
    if np.ndim(values) > 1 and np.shape(values)[0] == 1:
        values = fit(values, inner[last])
    if accumulate and not is_basic(last):
        np.add.at(inner, last, values)
    elif accumulate:
        inner[last] += values
    else:
        inner[last] = values


class Index(Function):
    """z = a[steps];  dz/da = grad scattered back to the selected positions (summed on repeats).

    ``unique=True`` promises that no position is selected twice (max(dim), sort, topk), so the
    backward can assign instead of adding with np.add.at.
    """

    @staticmethod
    def forward(ctx: Context, a: Array, *, steps: Steps, unique: bool = False) -> Array:
        ctx.shape, ctx.dtype, ctx.steps, ctx.unique = a.shape, a.dtype, steps, unique
        out = np.asarray(select(a, steps))
        if not is_basic(steps[-1]) and not out.flags.c_contiguous:
            # NumPy lays some advanced-index results out transposed; PyTorch's are contiguous
            # (so that view() works on them).
            out = np.ascontiguousarray(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        grad = np.zeros(ctx.shape, dtype=grad_out.dtype)
        _scatter(grad, ctx.steps, grad_out, accumulate=not ctx.unique)
        return grad


class IndexPut(Function):
    """z = a with z[steps] = v (or += v with accumulate);  dz/da = grad, zeroed at the written
    positions unless accumulating;  dz/dv = grad[steps]."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, value: Array, *, steps: Steps, accumulate: bool = False
    ) -> Array:
        ctx.steps, ctx.accumulate = steps, accumulate
        out = a.copy()
        _scatter(out, steps, value, accumulate)
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        da, dv = ctx.needs_input_grad
        grad_a = grad_value = None
        if da:
            grad_a = grad_out
            if not ctx.accumulate:
                grad_a = grad_out.copy()
                _scatter(grad_a, ctx.steps, np.zeros((), dtype=grad_out.dtype), False)
        if dv:
            grad_value = np.asarray(select(grad_out, ctx.steps))
        return grad_a, grad_value


def replay(a: Array, chain: tuple[tuple[type[Function], dict[str, Any]], ...]) -> Array:
    """Apply a chain of view ops (op, options) to an array: the same view of another base."""
    for op, options in chain:
        a = op.forward(Context((False,)), a, **options)
    return a


def _writable_view(a: Array, chain: Any) -> Array:
    view = replay(a, chain)
    if view.size and not np.may_share_memory(view, a):
        raise AssertionError("a view chain replayed on a copy of its base gave a copy")
    return view


class ViewScatter(Function):
    """z = base with its view (the chain of view ops) replaced by v;  dz/dbase = grad with the
    view zeroed,  dz/dv = grad seen through the view."""

    @staticmethod
    def forward(ctx: Context, base: Array, value: Array, *, chain: Any) -> Array:
        # Copies keep base's memory layout, so that the chain's views are views of them too.
        ctx.chain, ctx.layout = chain, base
        out = np.empty_like(base, order="K")
        np.copyto(out, base)
        _writable_view(out, chain)[...] = value
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        db, dv = ctx.needs_input_grad
        grad_base = grad_value = None
        if db:
            grad_base = np.empty_like(ctx.layout, order="K")
            np.copyto(grad_base, grad_out)
            _writable_view(grad_base, ctx.chain)[...] = 0
        if dv:
            grad_value = np.array(replay(grad_out, ctx.chain))
        return grad_base, grad_value
