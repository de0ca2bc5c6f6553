"""fit() on a small classification set; rank 0 writes the final weights and history to OUT.

usage: fit_run.py OPTIMIZER OUT [--batch B] [--epochs E] [--nan-target-row R]

With --nan-target-row the task is a regression (MSE) whose target R is NaN: every batch that
holds row R has a NaN loss and gradient, and is skipped (on_nonfinite='skip').
"""

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.distributed import process_group as pg
from chainrule.train import fit

parser = argparse.ArgumentParser()
parser.add_argument("optimizer", choices=("sgd", "adam"))
parser.add_argument("out")
parser.add_argument("--batch", type=int, default=24)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--nan-target-row", type=int, default=None)
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.normal(size=(203, 12)).astype(np.float32)  # 203 = 8 batches of 24 and one of 11
y = rng.integers(0, 4, size=203)
loss_fn = nn.CrossEntropyLoss()
if args.nan_target_row is not None:
    y = (x[:, :4] * 2 - x[:, 4:8]).astype(np.float32)
    y[args.nan_target_row, 0] = np.nan
    loss_fn = nn.MSELoss()
cr.manual_seed(1)
model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 4))
if args.optimizer == "sgd":
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
else:
    optimizer = optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
history = fit(
    model, loss_fn, optimizer, x, y, epochs=args.epochs, batch_size=args.batch,
    seed=7, validation_data=(x[100:150], y[100:150]), verbose=int(args.nan_target_row is not None),
    on_nonfinite="skip" if args.nan_target_row is not None else "stop",
)  # fmt: skip
if pg.is_main():
    arrays = {k: v.numpy() for k, v in model.state_dict().items()}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if history[key][0] is not None:
            arrays[f"history.{key}"] = np.array(history[key], dtype=np.float64)
    np.savez(args.out, **arrays)
