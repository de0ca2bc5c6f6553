"""One library in its own process: the benchmark drives a chainrule worker and a PyTorch worker
in turn, so neither library's idle threads spin against the other's (they would, in one process,
and PyTorch's 2-thread figures collapsed 5x when we tried)."""

from __future__ import annotations

import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

BATCH = 128


def build(lib: str, kind: str, optimizer: str) -> tuple[Callable, Callable, Callable]:
    """train_step(x, y), predict(x) -> labels, set_lr(lr) for one library; same initial weights."""
    import chainrule as cr
    from bench.models import chainrule_model, torch_twin

    cr.manual_seed(0)
    model = chainrule_model(kind)
    if lib == "chainrule":
        from chainrule import functional as F
        from chainrule import optim

        if optimizer == "adam":
            opt: Any = optim.Adam(model.parameters(), lr=1e-3)
        else:
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)

        def train(xb: np.ndarray, yb: np.ndarray) -> None:
            loss = F.cross_entropy(model(cr.from_numpy(xb)), cr.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()

        def predict(xb: np.ndarray) -> np.ndarray:
            with cr.no_grad():
                return model(cr.from_numpy(xb)).argmax(1).numpy()

    else:
        import torch

        net = torch_twin(model, kind)
        if optimizer == "adam":
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        else:
            opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)

        def train(xb: np.ndarray, yb: np.ndarray) -> None:
            loss = torch.nn.functional.cross_entropy(
                net(torch.from_numpy(xb)), torch.from_numpy(yb)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()

        def predict(xb: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return net(torch.from_numpy(xb)).argmax(1).numpy()

    def set_lr(lr: float) -> None:
        opt.param_groups[0]["lr"] = lr

    return train, predict, set_lr


def serve(conn: Connection, lib: str, kind: str, n_threads: int, optimizer: str) -> None:
    """Answer commands until 'quit': ('train', batches) -> samples/s of one round;
    ('infer', x, repeats) -> samples/s; ('time_to', data, target, max_epochs, lr_schedule)."""
    import contextlib

    from threadpoolctl import threadpool_limits

    limits: Any = contextlib.nullcontext()
    if n_threads:  # 0: the library's own default, as a new user gets it
        if lib == "torch":
            import torch

            torch.set_num_threads(n_threads)
        else:
            import chainrule as cr

            cr.set_num_threads(n_threads)  # BLAS's threads and the kernels' together
        limits = threadpool_limits(limits=n_threads)
    with limits:
        train, predict, set_lr = build(lib, kind, optimizer)
        conn.send("ready")
        while True:
            command, *args = conn.recv()
            if command == "quit":
                break
            if command == "train":
                (batches,) = args
                started = time.perf_counter()
                for xb, yb in batches:
                    train(xb, yb)
                conn.send(len(batches) * BATCH / (time.perf_counter() - started))
            elif command == "infer":
                x, repeats = args
                started = time.perf_counter()
                for _ in range(repeats):
                    predict(x)
                conn.send(repeats * len(x) / (time.perf_counter() - started))
            elif command == "time_to":
                conn.send(time_to(train, predict, set_lr, *args))


def time_to(
    train: Callable,
    predict: Callable,
    set_lr: Callable,
    data: tuple[np.ndarray, ...],
    target: float,
    max_epochs: int,
    step_lr: bool,
) -> tuple[float | None, int, list[float]]:
    """Training seconds (evaluation excluded) until test accuracy reaches target; the batch order
    comes from a fixed seed, so both libraries see the same batches."""
    x, y, x_test, y_test = data
    rng = np.random.default_rng(0)
    seconds, accuracies = 0.0, []
    for epoch in range(1, max_epochs + 1):
        if step_lr:  # the CLI's MNIST MLP recipe: lr 0.05, × 0.3 every 4 epochs
            set_lr(0.05 * 0.3 ** ((epoch - 1) // 4))
        order = rng.permutation(len(y))
        started = time.perf_counter()
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            train(x[index], y[index])
        seconds += time.perf_counter() - started
        predicted = np.concatenate(
            [predict(x_test[i : i + 1000]) for i in range(0, len(x_test), 1000)]
        )
        accuracies.append(float((predicted == y_test).mean()))
        if accuracies[-1] >= target:
            return seconds, epoch, accuracies
    return None, max_epochs, accuracies
