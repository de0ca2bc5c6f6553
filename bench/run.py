"""chainrule against PyTorch on W-MLP, W-CNN and the CLI's ResNet and LSTM, side by side in one run.

    python -m bench.run [--quick] [--full] [--out bench/results/latest.json]

Prints one table of chainrule/PyTorch ratios and writes it as JSON. Throughputs are medians of
rounds in which the two libraries alternate; the 1-thread figures are the steady ones on this
machine kind, the 2-thread ones are checked against a matmul probe for degraded periods.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from bench.common import REPO, ceiling, has_torch, load_data, machine
from bench.models import (
    chainrule_model,
    inference_flops_per_sample,
    train_flops_per_sample,
)
from bench.worker import serve

BATCH = 128


class Worker:
    """A library in its own process (see worker.py), driven over a pipe."""

    def __init__(self, lib: str, kind: str, n_threads: int, optimizer: str = "sgd") -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(child, lib, kind, n_threads, optimizer), daemon=True
        )
        self.process.start()
        self.conn.recv()  # 'ready'

    def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("quit",))
        self.process.join()


def throughput(
    kind: str, n_threads: int, rounds: int, steps: int, x: np.ndarray, y: np.ndarray
) -> dict[str, float]:
    """Median samples/s of training and inference, the libraries alternating round by round."""
    libs = ["chainrule", "torch"] if has_torch() else ["chainrule"]
    workers = {lib: Worker(lib, kind, n_threads) for lib in libs}
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, steps * BATCH, BATCH)]
    results: dict[str, list[float]] = {f"{lib}_{w}": [] for lib in libs for w in ("train", "infer")}
    try:
        for worker in workers.values():  # warm-up: memory touched the first time is slow here
            worker.ask("train", batches[:3])
            worker.ask("infer", x[:1000], 1)
        for _ in range(rounds):
            for lib, worker in workers.items():
                time.sleep(0.5)  # let the other worker's BLAS/OpenMP threads stop spinning
                results[f"{lib}_train"].append(worker.ask("train", batches))
                results[f"{lib}_infer"].append(worker.ask("infer", x[:1000], 3))
    finally:
        for worker in workers.values():
            worker.close()
    return {key: statistics.median(values) for key, values in results.items()}


def contention(
    kind: str, rounds: int, steps: int, x: np.ndarray, y: np.ndarray
) -> dict[str, float]:
    """Training samples/s at each library's default threads, alone and then beside a CPU-bound
    process (a Python busy loop) started before the workers, as a user's other job would be."""
    alone = throughput(kind, 0, rounds, steps, x, y)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        busy = throughput(kind, 0, rounds, steps, x, y)
    finally:
        burner.kill()
        burner.wait()
    return {f"{key}_alone": value for key, value in alone.items()} | {
        f"{key}_busy": value for key, value in busy.items()
    }


def first_run() -> tuple[float, float]:
    """Seconds of `chainrule train` on the shipped digits in a fresh process: with an empty
    kernel cache (a new install compiles what it uses), then with the cache it left."""
    import os
    import tempfile

    seconds = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "chainrule.cli", "train", "--quiet"],
                env=env, cwd=REPO, check=True, capture_output=True,
            )  # fmt: skip
            seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]


def peak_memory(lib: str, kind: str = "mlp") -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", lib, kind],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def time_to_accuracy(
    lib: str, kind: str, target: float, max_epochs: int, data: tuple[np.ndarray, ...]
) -> tuple[float | None, int, list[float]]:
    """MLP: the CLI's MNIST recipe (SGD, Nesterov momentum 0.9, lr 0.05 × 0.3 every 4 epochs,
    batch 128). CNN: Adam lr 1e-3, batch 128. Same initial weights and batch order for both."""
    worker = Worker(lib, kind, 2, "sgd" if kind == "mlp" else "adam")
    try:
        return worker.ask("time_to", data, target, max_epochs, kind == "mlp")
    finally:
        worker.close()


def ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> float | None:
    if not ours or not theirs:
        return None
    return ours / theirs if higher_is_better else theirs / ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test)")
    parser.add_argument("--full", action="store_true", help="also time the CNN to 99%%")
    parser.add_argument("--skip-cnn", action="store_true", help="the MLP only")
    parser.add_argument(
        "--skip-arch", action="store_true", help="without the CLI's ResNet and LSTM"
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "latest.json"))
    args = parser.parse_args()
    rounds, steps = (3, 5) if args.quick else (7, 20)
    if not has_torch():
        print("PyTorch not installed (pip install -e '.[bench]'): chainrule figures only")

    report: dict[str, Any] = {"machine": machine(), "ceiling_before": ceiling("before")}
    rows: list[list[Any]] = []
    x_flat, y, x_flat_te, y_te, source = load_data(flat=True)
    report["data"] = source
    kinds = ["mlp"] if args.skip_cnn or not hasattr(cr.nn, "Conv2d") else ["mlp", "cnn"]
    if not args.skip_cnn and not args.skip_arch:
        kinds += ["resnet", "lstm"]
    for kind in kinds:
        x = x_flat.reshape(-1, 1, 28, 28) if kind == "cnn" else x_flat  # resnet, lstm: rows
        model = chainrule_model(kind)
        shape = x.shape[1:]
        # FLOPs are counted for the plain stacks only (a block's convolutions are inside it).
        flat = kind in ("mlp", "cnn")
        flops_train = train_flops_per_sample(model, shape) if flat else None
        flops_infer = inference_flops_per_sample(model, shape) if flat else None
        kind_steps = {"mlp": steps, "lstm": max(3, steps // 2)}.get(kind, max(3, steps // 4))
        for n in (1, 2):
            figures = throughput(kind, n, rounds, kind_steps, x, y)
            report[f"{kind}_{n}t"] = figures
            for what, flops in (("train", flops_train), ("infer", flops_infer)):
                ours, theirs = figures[f"chainrule_{what}"], figures.get(f"torch_{what}")
                name = f"W-{kind.upper()}" if flat else {"resnet": "ResNet", "lstm": "LSTM"}[kind]
                rows.append([
                    f"{name} {'training' if what == 'train' else 'inference'} "
                    f"samples/s, {n} thread{'s' if n > 1 else ''}",
                    ours, theirs, ratio(ours, theirs, True),
                    None if flops is None else ours * flops / 1e9,
                    None if theirs is None or flops is None else theirs * flops / 1e9,
                ])  # fmt: skip
    if has_torch():
        figures = contention("mlp", rounds, steps, x_flat, y)
        report["contention_mlp"] = figures
        slowdown = {
            lib: figures[f"{lib}_train_alone"] / figures[f"{lib}_train_busy"]
            for lib in ("chainrule", "torch")
        }
        ours, theirs = slowdown["chainrule"], slowdown["torch"]
        rows.append(["W-MLP training, default threads, slowdown beside a busy process",
                     ours, theirs, ratio(ours, theirs, False), None, None])  # fmt: skip
        for kind in [k for k in kinds if k in ("mlp", "cnn")]:
            memory = {lib: peak_memory(lib, kind) for lib in ("chainrule", "torch")}
            report[f"peak_memory_mib_{kind}"] = memory
            rows.append([f"MNIST {kind.upper()} epoch, peak RSS MiB", memory["chainrule"],
                         memory["torch"], ratio(memory["chainrule"], memory["torch"], False),
                         None, None])  # fmt: skip
        data = (x_flat, y, x_flat_te, y_te)
        targets = [("mlp", 0.98, 10)] + ([("cnn", 0.99, 5)] if args.full and "cnn" in kinds else [])
        for kind, target, max_epochs in targets:
            kind_data = (
                data
                if kind == "mlp"
                else tuple(a.reshape(-1, 1, 28, 28) if a.ndim == 2 else a for a in data)
            )
            ours = time_to_accuracy("chainrule", kind, target, max_epochs, kind_data)
            theirs = time_to_accuracy("torch", kind, target, max_epochs, kind_data)
            report[f"{kind}_time_to_{target}"] = {"chainrule": ours, "torch": theirs}
            rows.append([f"W-{kind.upper()} seconds to {target:.0%} test acc (epochs), 2 threads",
                         f"{ours[0]:.1f} ({ours[1]})" if ours[0] else f"not in {ours[1]}",
                         f"{theirs[0]:.1f} ({theirs[1]})" if theirs[0] else f"not in {theirs[1]}",
                         ratio(ours[0], theirs[0], False), None, None])  # fmt: skip
    cold, warm = first_run()
    report["first_run_seconds"] = {"cold_cache": cold, "warm_cache": warm}
    rows.append(["first `chainrule train` (digits), s: empty kernel cache / warm",
                 f"{cold:.1f} / {warm:.1f}", None, None, None, None])  # fmt: skip
    report["ceiling_after"] = ceiling("after")
    before, after = report["ceiling_before"], report["ceiling_after"]
    degraded = (
        any(
            period[f"{p}_gflops_2t"] < 1.25 * period[f"{p}_gflops_1t"]
            for p, period in (("before", before), ("after", after))
        )
        or after["after_gflops_2t"] < 0.7 * before["before_gflops_2t"]
    )
    report["degraded_2_threads"] = degraded
    report["rows"] = rows
    print_table(report, rows, degraded)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out}")


def print_table(report: dict[str, Any], rows: list[list[Any]], degraded: bool) -> None:
    from tabulate import tabulate

    m = report["machine"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['num_threads']} threads)"
                     for b in m["blas"])  # fmt: skip
    print(f"\n{m['date']}  {m['cores']} cores  numpy {m['numpy']}  torch {m.get('torch', '-')}"
          f"  BLAS: {blas}  kernels: {m['kernels']}  data: {report['data']}")  # fmt: skip
    b, a = report["ceiling_before"], report["ceiling_after"]
    print(f"matmul ceiling GFLOP/s (1t / 2t): before {b['before_gflops_1t']:.0f} / "
          f"{b['before_gflops_2t']:.0f}, after {a['after_gflops_1t']:.0f} / "
          f"{a['after_gflops_2t']:.0f}")  # fmt: skip
    headers = ["", "chainrule", "PyTorch", "ratio", "chainrule GFLOP/s", "PyTorch GFLOP/s"]
    print(tabulate(rows, headers=headers, floatfmt=".2f", missingval="-"))
    print("ratio: chainrule ÷ PyTorch for rates, PyTorch ÷ chainrule for seconds and memory; "
          ">= 1 means chainrule is as good or better.")  # fmt: skip
    if degraded:
        print(
            "WARNING: the matmul probe saw a degraded period (2 threads barely faster than 1, "
            "or slower after than before): trust the 1-thread ratios, not the 2-thread ones."
        )


if __name__ == "__main__":
    main()
