"""The process group's collectives on every rank; rank 0 prints OK when all hold."""

import numpy as np

import chainrule as cr
from chainrule import distributed as dist

world = dist.init()
rank = dist.rank()
assert dist.world_size() == world and dist.is_initialized() and dist.is_main() == (rank == 0)

t = cr.tensor([float(rank + 1), 2.0 * rank])
dist.all_reduce(t)
assert t.tolist() == [sum(r + 1 for r in range(world)), sum(2.0 * r for r in range(world))]
m = cr.tensor([float(rank)])
dist.all_reduce(m, op=dist.ReduceOp.MAX)
assert m.item() == world - 1
a = np.full(3, float(rank))
dist.all_reduce(a, op="avg")
assert np.allclose(a, (world - 1) / 2)

b = cr.tensor([float(rank)] * 4)
dist.broadcast(b, src=world - 1)
assert b.tolist() == [float(world - 1)] * 4
assert dist.all_gather_object({"rank": rank}) == [{"rank": r} for r in range(world)]
assert dist.broadcast_object(["from", rank], src=0) == ["from", 0]
filled: list = [None] * world
dist.all_gather_object(filled, rank * 10)
assert filled == [r * 10 for r in range(world)]
shared = [rank, "x"]
dist.broadcast_object_list(shared, src=1)
assert shared == [1, "x"]
dist.barrier()

# agree: an error on one rank becomes the same DistributedError, naming it, on every rank
try:
    dist.agree(ValueError("disk on fire") if rank == world - 1 else None, "setup")
except dist.DistributedError as exc:
    assert str(exc) == f"rank {world - 1} (setup): ValueError: disk on fire", str(exc)
    assert exc.rank == world - 1
else:
    raise AssertionError("agree let an error pass")

# parameters start equal: every rank's are rank 0's
cr.manual_seed(rank)
model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4))
dist.broadcast_parameters(model)
gathered = dist.all_gather_object([p.tolist() for p in model.parameters()])
assert all(g == gathered[0] for g in gathered)
if rank == 0:
    print(f"OK {world}")
