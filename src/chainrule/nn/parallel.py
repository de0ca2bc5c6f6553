"""torch.nn.parallel's DistributedDataParallel: a replica of a module per process, whose
gradients are averaged over the processes by the time ``backward()`` returns.

The communication lives in ``chainrule.distributed``; this wrapper only decides when it runs:
after backward has accumulated the gradients of a training step (a post-accumulate hook on each
parameter queues one reduction per backward pass).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..distributed import process_group as pg
from ..distributed.reducer import GradientReducer, broadcast_buffers, broadcast_parameters
from ..errors import ConfigError
from ..graph import queue_callback
from .module import Module


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of ``chainrule.distributed``.

    At construction the parameters and buffers of rank 0 are copied to every rank. Each
    ``backward()`` then sets every parameter's gradient to the mean over the ranks (in buckets
    of at most ``bucket_cap_mb`` MB); with ``broadcast_buffers`` each training forward first
    copies rank 0's buffers (BatchNorm's running statistics) to every rank, as PyTorch does.
    BatchNorm normalises with each rank's own batch statistics (no SyncBatchNorm). Without MPI
    this is the module itself, with no communication. ``state_dict`` keys start with
    ``module.``, as PyTorch's.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float = 25.0,
        find_unused_parameters: bool = False,
        **_: Any,
    ) -> None:
        super().__init__()
        if process_group is not None:
            raise ConfigError("only the default process group (all ranks) is available")
        if not pg.is_initialized():
            pg.init()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        broadcast_parameters(module)
        self.reducer = GradientReducer(module.parameters(), bucket_cap_mb)
        self._sync, self._queued = True, False
        self._handles = [
            p.register_post_accumulate_grad_hook(self._on_gradient) for p in self.reducer.parameters
        ]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.training and self.broadcast_buffers:
            broadcast_buffers(self.module)
        return self.module(*args, **kwargs)

    def _on_gradient(self, _: Any) -> None:
        if self._sync and not self._queued and pg.world_size() > 1:
            self._queued = True
            queue_callback(self._reduce)

    def _reduce(self) -> None:
        self._queued = False
        self.reducer.reduce()

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate local gradients only (gradient accumulation); the
        first backward after it averages the sum."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    def extra_repr(self) -> str:
        return f"world_size={pg.world_size()}"
