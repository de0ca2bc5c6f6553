"""A data-parallel fit() in which one rank fails: usage: faults.py raise|hang RANK."""

import sys
import time

import numpy as np

from chainrule import nn, optim
from chainrule.distributed import process_group as pg
from chainrule.train import Callback, fit

mode, bad_rank = sys.argv[1], int(sys.argv[2])


class Fail(Callback):
    def on_batch_end(self, state):  # type: ignore[no-untyped-def]
        if state.step == 3 and pg.rank() == bad_rank:
            if mode == "raise":
                raise RuntimeError(f"rank {bad_rank} broke on purpose")
            time.sleep(60)


x = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int64)
model = nn.Sequential(nn.Linear(4, 2))
fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=50,
    batch_size=8, callbacks=[Fail()], verbose=0)  # fmt: skip
print("finished, which it should not have")
