"""A PyTorch-style data-parallel script, only the imports changed: DistributedDataParallel,
DistributedSampler with set_epoch, torch.save of model.module's state_dict on rank 0.

usage: ddp_script.py OUT [--single]   (--single: one process, batches of 2·B over the same order)
"""

import sys

import numpy as np

import chainrule as torch
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.nn.parallel import DistributedDataParallel as DDP  # noqa: N817  (as PyTorch users write)
from chainrule.utils.data import DataLoader, DistributedSampler, TensorDataset

out, single = sys.argv[1], "--single" in sys.argv
dist.init_process_group("gloo")
B = 8 if not single else 16
rng = np.random.default_rng(0)
x = torch.tensor(rng.normal(size=(96, 6)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, 96))
dataset = TensorDataset(x, y)
torch.manual_seed(dist.get_rank())  # different initial weights: DDP must copy rank 0's


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, t):  # type: ignore[no-untyped-def]
        return self.fc2(F.relu(self.fc1(t)))


model = Net()
if not single:
    model = DDP(model)
    assert next(iter(model.state_dict())) == "module.fc1.weight"
sampler = DistributedSampler(
    dataset, num_replicas=1 if single else None, rank=0 if single else None
)
loader = DataLoader(dataset, batch_size=B, sampler=sampler)
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
if dist.get_rank() == 0:
    weights = model.module.state_dict() if not single else model.state_dict()
    torch.save(weights, out)
