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


class ScatterReduce(Function):
    """z = a with src reduced into the positions index selects (sum, prod, mean, amax, amin),
    a's own value taking part unless include_self is False;  the gradients are PyTorch's: sum
    and mean pass grad (divided by the count), prod the product of the other contributors
    (exact with zeros), amax/amin share grad among the contributors equal to the result."""

    @staticmethod
    def forward(
        ctx: Context, a: Array, src: Array, *, index: Any, reduce: str, include_self: bool
    ) -> Array:
        mask = np.zeros(a.shape, dtype=bool)
        mask[index] = True  # the positions something is scattered into
        out = a.copy()
        counts = np.zeros(a.shape, dtype=a.dtype)
        np.add.at(counts, index, 1)
        if include_self:
            counts[mask] += 1
        if reduce in ("sum", "mean"):
            if not include_self:
                out[mask] = 0
            np.add.at(out, index, src)
            if reduce == "mean":
                out[mask] /= counts[mask]
        elif reduce == "prod":
            if not include_self:
                out[mask] = 1
            np.multiply.at(out, index, src)
        elif reduce in ("amax", "amin"):
            extreme = np.maximum if reduce == "amax" else np.minimum
            if not include_self:
                start = -np.inf if reduce == "amax" else np.inf
                out[mask] = start if a.dtype.kind == "f" else _integer_limit(a.dtype, reduce)
            extreme.at(out, index, src)
        else:
            raise ValueError(
                f"scatter_reduce: reduce must be sum, prod, mean, amax or amin, got {reduce!r}"
            )
        ctx.save_for_backward(a, src, out, mask, counts)
        ctx.index, ctx.reduce, ctx.include_self = index, reduce, include_self
        return out

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        a, src, out, mask, counts = ctx.saved
        index, reduce, keep_self = ctx.index, ctx.reduce, ctx.include_self
        da, dsrc = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad_out.dtype)
        if reduce == "sum":
            share_self, share_src = np.ones_like(a), np.ones_like(src)
        elif reduce == "mean":
            per = np.where(mask, 1 / np.maximum(counts, 1), 1).astype(grad_out.dtype)
            share_self, share_src = per, per[index]
        elif reduce == "prod":
            # Per position: how many contributors are 0, and the product of the others.
            zeros = np.zeros(a.shape, dtype=np.int64)
            np.add.at(zeros, index, src == 0)
            nonzero = np.ones_like(a)
            np.multiply.at(nonzero, index, np.where(src == 0, 1, src))
            if keep_self:
                zeros += mask & (a == 0)
                nonzero *= np.where(mask & (a != 0), a, 1)

            def others(x: Array, z: Array, p: Array) -> Array:
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(
                        x == 0, (z == 1) * p, np.where(z == 0, p / np.where(x == 0, 1, x), 0)
                    )

            share_self = others(a, zeros, nonzero)
            share_src = others(src, zeros[index], nonzero[index])
        else:  # amax, amin: the contributors equal to the result share it
            won_src = src == out[index]
            won_self = (a == out) & mask if keep_self else np.zeros(a.shape, dtype=bool)
            winners = won_self.astype(grad_out.dtype)
            np.add.at(winners, index, won_src)
            with np.errstate(divide="ignore", invalid="ignore"):
                share_self = np.where(winners > 0, won_self / winners, 0)
                share_src = np.where(won_src, 1 / winners[index], 0)
        grad_a = grad_src = None
        if da:
            inside = grad_out * share_self if keep_self else zero
            grad_a = np.where(mask, inside, grad_out)
        if dsrc:
            grad_src = (grad_out[index] * share_src).astype(grad_out.dtype)
        return grad_a, grad_src


def _integer_limit(dtype: Any, reduce: str) -> Any:
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max
