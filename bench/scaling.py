"""Data-parallel scaling: one MNIST epoch of W-MLP and W-CNN on 1 and 2 processes, and what a
model of communication predicts for 8 and 64 processes on a 10 Gbit/s network.

    python -m bench.scaling [--fraction F] [--out bench/results/scaling.json]

Measured (side by side, alternating; the MLP's medians of 5, the CNN's of 1): the epoch's
seconds with fit() for 1 process × 1 thread, 1 process × 2 threads and ``mpiexec -n 2`` ×
1 thread, the global batch 128 in all three, after a warm-up; the reducer's milliseconds per
step in fit (packing, the all_reduce and unpacking, and the wait for the slower rank) and the
gradient's all_reduce alone (the ranks lined up first).

Modelled: a step on P processes takes T(B/P) + C(P), where T(b) is the measured 1-thread time
of a step on b samples (so per-op overhead, which does not shrink with the batch, is kept) and
C(P) is a ring all_reduce of the gradient's n bytes, 2(P-1)/P · n / bandwidth + 2(P-1) · α,
with 1.25 GB/s (10 Gbit/s) and α = 25 µs per message over TCP (assumptions, not measurements).
Speed-up = T(B) / (T(B/P) + C(P)); efficiency = speed-up / P. Weak scaling keeps B per process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPO

BATCH = 128
BANDWIDTH = 1.25e9  # bytes/s: 10 Gbit/s
LATENCY = 25e-6  # s per message hop over TCP
KINDS = {"mlp": "W-MLP 784-512-256-10", "cnn": "W-CNN", "mlp10": "MLP 784-2560-1280-10 (10x)"}


def _model(kind: str) -> Any:
    from bench.models import chainrule_model
    from chainrule import nn

    if kind == "mlp10":
        return nn.Sequential(
            nn.Linear(784, 2560), nn.ReLU(), nn.Linear(2560, 1280), nn.ReLU(), nn.Linear(1280, 10)
        )
    return chainrule_model(kind)


def worker(kind: str, fraction: float) -> None:
    """One epoch (a fraction of it) with fit(); rank 0 prints a JSON line."""
    import chainrule as cr
    from bench.common import load_data
    from chainrule import nn, optim
    from chainrule.distributed import process_group as pg
    from chainrule.train import fit

    pg.init()
    x, y, _, _, source = load_data(flat=kind != "cnn")
    n = int(len(x) * fraction) // BATCH * BATCH
    x, y = x[:n], y[:n]
    cr.manual_seed(0)
    model = _model(kind)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    warm = BATCH * 4 * pg.world_size()  # loads the compiled kernels before the clock starts
    fit(model, nn.CrossEntropyLoss(), optimizer, x[:warm], y[:warm], epochs=1, batch_size=BATCH,
        seed=1, verbose=0)  # fmt: skip
    history = fit(model, nn.CrossEntropyLoss(), optimizer, x, y, epochs=1, batch_size=BATCH,
                  seed=0, verbose=0)  # fmt: skip
    epoch = history.last
    pure = _pure_allreduce_ms(model) if pg.world_size() > 1 else 0.0
    if pg.is_main():
        print(json.dumps({
            "seconds": epoch["seconds"], "samples": n, "source": source,
            "reduce_ms_per_step": 1e3 * epoch.get("allreduce_seconds", 0.0) / (n // BATCH),
            "allreduce_ms_alone": pure,
        }))  # fmt: skip


def _pure_allreduce_ms(model: Any, repeat: int = 30) -> float:
    """The gradient's all_reduce alone, the ranks lined up by a barrier first: fit()'s figure
    also holds the wait for the slower rank."""
    from chainrule.distributed import process_group as pg
    from chainrule.distributed.reducer import GradientReducer

    reducer = GradientReducer(model.parameters())
    times = []
    for _ in range(repeat):
        pg.barrier()
        started = time.perf_counter()
        reducer.reduce()
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def step_seconds(kind: str, batch: int, repeat: int = 15) -> float:
    """Median 1-thread seconds of a training step on `batch` samples (forward, backward, SGD)."""
    import chainrule as cr
    from bench.common import load_data
    from chainrule import nn, optim

    x, y, _, _, _ = load_data(flat=kind != "cnn")
    cr.manual_seed(0)
    model = _model(kind)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(repeat + 3):
        xb, yb = (
            cr.tensor(x[i * batch : (i + 1) * batch]),
            cr.tensor(y[i * batch : (i + 1) * batch]),
        )
        started = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
        if i >= 3:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def allreduce_seconds(nbytes: float, processes: int) -> float:
    if processes == 1:
        return 0.0
    return 2 * (processes - 1) / processes * nbytes / BANDWIDTH + 2 * (processes - 1) * LATENCY


def _run(command: list[str], threads: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_"))}
    env.update(CHAINRULE_NUM_THREADS=str(threads), PYTHONPATH=str(REPO))
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="of the epoch to run")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "scaling.json"))
    parser.add_argument("--worker", choices=sorted(KINDS))
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.fraction)
        return
    me = [sys.executable, "-m", "bench.scaling", "--fraction", str(args.fraction), "--worker"]
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    report: dict[str, Any] = {"batch": BATCH, "measured": {}, "model": {}}
    for kind, repeat in (("mlp", 5), ("cnn", 1)):
        runs: dict[str, list[dict[str, Any]]] = {"1x1": [], "1x2": [], "2x1": []}
        for _ in range(repeat):  # the three alternate, so a slow period hits all of them
            runs["1x1"].append(_run([*me, kind], 1))
            runs["1x2"].append(_run([*me, kind], 2))
            runs["2x1"].append(_run([mpiexec, "-n", "2", *me, kind], 1))
        one, two_threads, two = (_median(runs[k]) for k in ("1x1", "1x2", "2x1"))
        report["measured"][kind] = {
            "1x1_s": one["seconds"], "1x2_s": two_threads["seconds"], "2x1_s": two["seconds"],
            "efficiency_vs_1x1": one["seconds"] / (2 * two["seconds"]),
            "speedup_vs_1x2": two_threads["seconds"] / two["seconds"],
            "reduce_ms_per_step": two["reduce_ms_per_step"],
            "allreduce_ms_alone": two["allreduce_ms_alone"], "samples": one["samples"],
            "source": one["source"],
        }  # fmt: skip
        print(f"{KINDS[kind]}: {report['measured'][kind]}", flush=True)
    for kind in ("mlp", "cnn", "mlp10"):
        nbytes = 4 * _params(kind)
        full = step_seconds(kind, BATCH)
        rows = {"params": _params(kind), "step_ms_at_128": 1e3 * full}
        for processes in (8, 64):
            local = step_seconds(kind, max(1, BATCH // processes))
            comm = allreduce_seconds(nbytes, processes)
            strong = full / (local + comm)
            weak = full / (full + comm)
            rows[f"P{processes}"] = {
                "allreduce_ms": 1e3 * comm, "step_ms_per_rank_batch": 1e3 * local,
                "strong_speedup": strong, "strong_efficiency": strong / processes,
                "weak_efficiency": weak,
            }  # fmt: skip
        report["model"][kind] = rows
        print(f"{KINDS[kind]}: {rows}", flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median seconds (its own communication figures with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def _params(kind: str) -> int:
    return int(sum(np.prod(p.shape) for p in _model(kind).parameters()))


if __name__ == "__main__":
    main()
