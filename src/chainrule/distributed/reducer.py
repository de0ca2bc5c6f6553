"""Gradient averaging over the ranks, in a few flat buckets; parameters broadcast from rank 0.

Every rank holds a full replica and computes the gradient g_r of its shard of the batch. The
step all replicas then take uses

    g = Σ_r w_r · g_r / Σ_r d_r

with w_r = d_r = 1 by default (the mean over ranks, as PyTorch's DistributedDataParallel). fit()
passes w_r = d_r = n_r, the rows of rank r's shard, so that for a mean-reduced loss g is exactly
the gradient of the whole batch even when the shards differ in size (the last batch of an
epoch). Gradients are packed into flat buffers of at most ``bucket_cap_mb`` (one message per
bucket, not per tensor); a float64 trailer holding Σd and any extra per-step sums (the loss,
correct counts, an interrupt flag) travels with them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..graph import bump_version, make_tensor
from . import process_group as pg


def _buckets(tensors: list[Any], cap_bytes: float) -> list[list[Any]]:
    """Consecutive tensors of one dtype, grouped while a group stays under cap_bytes."""
    groups: list[list[Any]] = []
    size = 0.0
    for t in tensors:
        nbytes = t.array.nbytes
        if groups and groups[-1][0].dtype == t.dtype and size + nbytes <= cap_bytes:
            groups[-1].append(t)
            size += nbytes
        else:
            groups.append([t])
            size = nbytes
    return groups


class _Bucket:
    def __init__(self, tensors: list[Any]) -> None:
        self.tensors = tensors
        self.offsets = np.cumsum([0] + [t.array.size for t in tensors])
        self.buffer = np.empty(int(self.offsets[-1]), dtype=tensors[0].dtype)

    def pack_values(self) -> None:
        for t, start, stop in zip(self.tensors, self.offsets[:-1], self.offsets[1:], strict=True):
            self.buffer[start:stop] = t.array.reshape(-1)

    def unpack_values(self) -> None:
        for t, start, stop in zip(self.tensors, self.offsets[:-1], self.offsets[1:], strict=True):
            t.array[...] = self.buffer[start:stop].reshape(t.shape)
            bump_version(t)


def broadcast_tensors(tensors: Iterable[Any], src: int = 0) -> None:
    """Every rank's tensors become rank src's, in place: one message per dtype (and 64 MB)."""
    if pg.world_size() == 1:
        return
    for group in _buckets([t for t in tensors if t is not None], 64 * 2**20):
        bucket = _Bucket(group)
        bucket.pack_values()
        pg.broadcast_array(bucket.buffer, src)
        bucket.unpack_values()


def broadcast_parameters(model: Any, src: int = 0, buffers: bool = True) -> None:
    """Every rank's parameters (and buffers) become rank src's: all replicas start equal."""
    broadcast_tensors([*model.parameters(), *(model.buffers() if buffers else ())], src)


def broadcast_buffers(model: Any, src: int = 0) -> None:
    """Rank src's buffers (BatchNorm's running statistics) on every rank."""
    broadcast_tensors(model.buffers(), src)


class GradientReducer:
    """Averages the ``.grad`` of parameters over all ranks when :meth:`reduce` is called.

    Args:
        parameters: the replica's parameters (those that do not require grad are left out).
        bucket_cap_mb: the most megabytes of gradients in one message (PyTorch's default 25).

    ``seconds`` and ``calls`` add up the time spent in :meth:`reduce` (packing, messages and
    unpacking), for the benchmark's communication figures.
    """

    def __init__(self, parameters: Iterable[Any], bucket_cap_mb: float = 25.0) -> None:
        if not (isinstance(bucket_cap_mb, int | float) and bucket_cap_mb > 0):
            raise ConfigError(f"bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        self.parameters = [p for p in parameters if p.requires_grad]
        self.buckets = [_Bucket(g) for g in _buckets(self.parameters, bucket_cap_mb * 2**20)]
        self.seconds, self.calls = 0.0, 0

    def reduce(self, weight: float = 1.0, normalizer: float = 1.0, extras: Any = ()) -> np.ndarray:
        """Set every parameter's gradient to Σ_r weight_r · g_r / Σ_r normalizer_r; return
        Σ_r extras_r (float64). A parameter without a gradient on a rank counts as zeros there
        (and gets the reduced gradient, so the replicas stay equal)."""
        trailer = np.concatenate([[normalizer], np.asarray(extras, dtype=np.float64).ravel()])
        if pg.world_size() == 1:
            if weight != normalizer:
                self._scale(weight / normalizer if normalizer else 0.0)
            return trailer[1:]
        started = time.perf_counter()
        requests = []
        mpi, comm = pg._group.mpi, pg._group.comm
        for bucket in self.buckets:
            self._pack(bucket, weight)
            requests.append(comm.Iallreduce(mpi.IN_PLACE, bucket.buffer, op=mpi.SUM))
        requests.append(comm.Iallreduce(mpi.IN_PLACE, trailer, op=mpi.SUM))
        for request in requests:
            pg.wait(request, "the gradient all_reduce")
        total = trailer[0]
        for bucket in self.buckets:
            self._unpack(bucket, 1.0 / total if total else 0.0)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return trailer[1:]

    @staticmethod
    def _pack(bucket: _Bucket, weight: float) -> None:
        buffer = bucket.buffer
        scale = buffer.dtype.type(weight)
        for p, start, stop in zip(
            bucket.tensors, bucket.offsets[:-1], bucket.offsets[1:], strict=True
        ):
            grad = p.grad
            if grad is None:
                buffer[start:stop] = 0
            elif weight == 1.0:
                buffer[start:stop] = grad.array.reshape(-1)
            else:
                np.multiply(grad.array.reshape(-1), scale, out=buffer[start:stop])

    @staticmethod
    def _unpack(bucket: _Bucket, scale: float) -> None:
        factor = bucket.buffer.dtype.type(scale)
        for p, start, stop in zip(
            bucket.tensors, bucket.offsets[:-1], bucket.offsets[1:], strict=True
        ):
            reduced = bucket.buffer[start:stop].reshape(p.shape)
            grad = p.grad
            if grad is not None and grad.array.flags.writeable and grad.shape == p.shape:
                np.multiply(reduced, factor, out=grad.array)
                bump_version(grad)
            else:
                p.grad = make_tensor(reduced * factor)

    def _scale(self, scale: float) -> None:
        factor_of = {}
        for p in self.parameters:
            if p.grad is not None:
                factor = factor_of.setdefault(p.dtype, p.dtype.type(scale))
                p.grad.array *= factor
                bump_version(p.grad)
