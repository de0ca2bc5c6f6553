"""``torch.utils.data.distributed.DistributedSampler``: each replica's shard of a dataset.

Every replica draws the same order of the whole dataset (the same (seed, epoch) gives the same
permutation on every rank), pads it by repeating its start up to a multiple of num_replicas
(or cuts its tail with drop_last), and keeps every num_replicas-th index from its rank on. The
shards are therefore disjoint and, padding aside, cover the dataset; the i-th batches of all
ranks together are the i-th global batch of that order.

PyTorch shuffles with ``torch.randperm`` under a ``torch.Generator`` seeded with seed + epoch;
chainrule cannot reproduce torch's stream and permutes with ``np.random.default_rng(seed +
epoch)`` instead, so only the shuffled order differs from PyTorch's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Restricts loading to this replica's shard of ``dataset``, as PyTorch's.

    Args:
        dataset: a map-style dataset (``len(dataset)`` is used).
        num_replicas: processes in the job (default: the process group's world size).
        rank: this process's rank in [0, num_replicas - 1] (default: the group's rank).
        shuffle: permute the dataset, identically on every rank, before sharding.
        seed: the shuffle's seed; it must be the same on every rank.
        drop_last: drop the tail so the dataset splits evenly, rather than pad it with
            indices repeated from the start.

    Call :meth:`set_epoch` before each epoch's iteration for a new order each epoch.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            # Lazily: the process group may start MPI, which a sampler given both need not do.
            from ...distributed import process_group

            if num_replicas is None:
                num_replicas = process_group.world_size()
            if rank is None:
                rank = process_group.rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # The largest per-replica count that n covers without padding: floor(n / r).
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:
            # Pad with the order's start, cycled when the padding is longer than the order.
            order = np.resize(order, self.total_size)
        else:
            order = order[: self.total_size]
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which with the seed fixes the shuffled order of the next iteration."""
        self.epoch = epoch
