"""Data-parallel training on several processes or machines, over MPI (mpi4py).

``mpiexec -n N python train.py`` starts N replicas; each trains on its shard of every batch and
the gradients are averaged before each step, so all replicas take the same step. fit() and
``chainrule train`` do all of it when started under mpiexec; a PyTorch-style script wraps its
model in ``DistributedDataParallel`` and its dataset in ``DistributedSampler``. Without MPI
every call here is a no-op with world size 1.
"""

from typing import Any

from .process_group import (
    DistributedError,
    ReduceOp,
    agree,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object,
    broadcast_object_list,
    destroy_process_group,
    get_rank,
    get_world_size,
    init,
    init_process_group,
    is_available,
    is_initialized,
    is_main,
    launched_by_mpi,
    local_size,
    rank,
    run_agreed,
    world_size,
)
from .reducer import GradientReducer, broadcast_buffers, broadcast_parameters, broadcast_tensors

__all__ = [
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "GradientReducer",
    "ReduceOp",
    "agree",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_buffers",
    "broadcast_object",
    "broadcast_object_list",
    "broadcast_parameters",
    "broadcast_tensors",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init",
    "init_process_group",
    "is_available",
    "is_initialized",
    "is_main",
    "launched_by_mpi",
    "local_size",
    "rank",
    "run_agreed",
    "world_size",
]


def __getattr__(name: str) -> Any:
    # The wrapper is a Module and the sampler a torch.utils.data sampler: they live with their
    # kind (nn.parallel, utils.data.distributed) and are found here too.
    if name == "DistributedDataParallel":
        from ..nn.parallel import DistributedDataParallel

        return DistributedDataParallel
    if name == "DistributedSampler":
        from ..utils.data import DistributedSampler

        return DistributedSampler
    raise AttributeError(f"module 'chainrule.distributed' has no attribute {name!r}")
