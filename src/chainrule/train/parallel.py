"""fit() on several processes: what changes when ``mpiexec -n N`` starts it (world size > 1).

- Every rank draws the same global batch (the loader's order is the same everywhere) and works
  on its part of it: rows [lo_r, hi_r) of each batch of ``batch_size``, so N processes see the
  same batches as one process would, split N ways.
- After backward, the gradients are averaged weighted by each part's rows (reducer.py), so for
  a mean-reduced loss every replica steps with the gradient of the whole batch. The same message
  sums the batch's loss, correct counts and a Ctrl-C flag, so every rank reports the same
  figures and stops at the same step.
- A non-finite value on any rank is non-finite in the sums on every rank: all apply the same
  ``on_nonfinite`` policy at the same step.
- Validation is split across the ranks too, and BatchNorm's running statistics (which only the
  eval forward uses) are rank 0's, as with PyTorch's DistributedDataParallel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..distributed import process_group as pg
from ..distributed.reducer import GradientReducer, broadcast_buffers, broadcast_parameters
from ..nn import Module
from ..tensor import Tensor, no_grad
from .metrics import predict_classes


def shard_bounds(rows: int, rank: int, world: int) -> tuple[int, int]:
    """Rows [lo, hi) of a batch of ``rows`` that rank takes: parts differ by at most one row."""
    base, extra = divmod(rows, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class DataParallel:
    """The per-step communication of fit() for one model (world size > 1)."""

    def __init__(self, model: Module, loss_fn: Module) -> None:
        self.model = model
        self.rank, self.world = pg.rank(), pg.world_size()
        broadcast_parameters(model)
        self.reducer = GradientReducer(model.parameters())
        self.mean = getattr(loss_fn, "reduction", "mean") == "mean"

    def shard(self, xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = shard_bounds(len(xb), self.rank, self.world)
        return xb[lo:hi], yb[lo:hi]

    def step(
        self, rows: int, loss: float, predicted: np.ndarray | None, yb: np.ndarray, stop: bool
    ) -> tuple[int, float, int, int, bool]:
        """Average the gradients; return the whole batch's (rows, mean loss, correct, counted,
        whether any rank asked to stop)."""
        correct = int((predicted == yb).sum()) if predicted is not None else 0
        counted = rows if predicted is not None else 0
        extras = [rows, rows * loss if rows else 0.0, correct, counted, float(stop)]
        if self.mean:
            total = self.reducer.reduce(rows, rows, extras)
        else:  # a summed loss: the whole batch's gradient is the plain sum of the parts'
            total = self.reducer.reduce(1.0, 1.0 / self.world, extras)
        all_rows = int(total[0])
        mean_loss = float(total[1] / all_rows) if all_rows else 0.0
        return all_rows, mean_loss, int(total[2]), int(total[3]), bool(total[4])

    def sync_buffers(self) -> None:
        """Rank 0's buffers (running statistics) on every rank."""
        broadcast_buffers(self.model)

    def evaluate(
        self, loss_fn: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 1000
    ) -> dict[str, Any]:
        """fit()'s validation, each rank on its slice of the data, summed over the ranks."""
        from .fit import loss_target

        self.sync_buffers()
        lo, hi = shard_bounds(len(x), self.rank, self.world)
        model = self.model
        was_training = model.training
        model.eval()
        sums = np.zeros(3)  # loss · rows, correct, counted
        classified = False
        with no_grad():
            for start in range(lo, hi, batch_size):
                stop = min(start + batch_size, hi)
                xb = np.asarray(x[start:stop], dtype=np.float32)
                yb = y[start:stop]
                out = model(Tensor(xb))
                sums[0] += loss_fn(out, loss_target(yb, out, loss_fn)).item() * len(xb)
                predicted = predict_classes(out.array, loss_fn)
                if predicted is not None:
                    classified = True
                    sums[1] += int((predicted == yb).sum())
                    sums[2] += len(xb)
        model.train(was_training)
        flags = np.array([float(classified)])
        pg.all_reduce_array(sums)
        pg.all_reduce_array(flags)
        return {
            "loss": float(sums[0] / len(x)),
            "accuracy": float(sums[1] / sums[2]) if flags[0] and sums[2] else None,
        }
