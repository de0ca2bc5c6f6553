"""chainrule against PyTorch on W-MLP and W-CNN, side by side in one run.

    python -m bench.run [--quick] [--full] [--out bench/results/latest.json]

Prints one table of chainrule/PyTorch ratios and writes it as JSON. Throughputs are medians of
rounds in which the two libraries alternate; the 1-thread figures are the steady ones on this
machine kind, the 2-thread ones are checked against a matmul probe for degraded periods.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from bench.common import REPO, ceiling, has_torch, load_data, machine, threads
from bench.models import (
    chainrule_cnn,
    chainrule_mlp,
    inference_flops_per_sample,
    torch_twin,
    train_flops_per_sample,
)
from chainrule import functional as F
from chainrule import optim

BATCH = 128


def chainrule_steps(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[Callable, Callable]:
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train(xb: np.ndarray, yb: np.ndarray) -> None:
        loss = F.cross_entropy(model(cr.tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer(xb: np.ndarray) -> None:
        with cr.no_grad():
            model(cr.tensor(xb))

    return train, infer


def torch_steps(net: Any) -> tuple[Callable, Callable]:
    import torch

    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train(xb: Any, yb: Any) -> None:
        loss = torch.nn.functional.cross_entropy(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer(xb: Any) -> None:
        with torch.no_grad():
            net(xb)

    return train, infer


def throughput(
    kind: str, n_threads: int, rounds: int, steps: int, x: np.ndarray, y: np.ndarray
) -> dict[str, float]:
    """Median samples/s of training and inference steps, libraries alternating round by round."""
    cr.manual_seed(0)
    model = chainrule_mlp() if kind == "mlp" else chainrule_cnn()
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, steps * BATCH, BATCH)]
    infer_batch = x[:1000]
    libs: dict[str, tuple[Callable, Callable, list, Any]] = {}
    libs["chainrule"] = (*chainrule_steps(model, x, y), batches, infer_batch)
    if has_torch():
        import torch

        net = torch_twin(model)
        t_batches = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in batches]
        libs["torch"] = (*torch_steps(net), t_batches, torch.from_numpy(infer_batch))
    results: dict[str, dict[str, list[float]]] = {k: {"train": [], "infer": []} for k in libs}
    with threads(n_threads):
        for train, infer, data, xi in libs.values():  # warm-up: first-touch memory
            for xb, yb in data[:3]:
                train(xb, yb)
            infer(xi)
        for _ in range(rounds):
            for lib, (train, infer, data, xi) in libs.items():
                started = time.perf_counter()
                for xb, yb in data:
                    train(xb, yb)
                results[lib]["train"].append(len(data) * BATCH / (time.perf_counter() - started))
                started = time.perf_counter()
                for _ in range(3):
                    infer(xi)
                results[lib]["infer"].append(3 * len(xi) / (time.perf_counter() - started))
    return {
        f"{lib}_{what}": statistics.median(values)
        for lib, parts in results.items()
        for what, values in parts.items()
    }


def peak_memory(lib: str) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", lib],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def time_to_accuracy(
    lib: str, kind: str, target: float, max_epochs: int, data: tuple[np.ndarray, ...]
) -> tuple[float | None, int]:
    """Training seconds (evaluation excluded) until test accuracy reaches target.

    MLP: the CLI's MNIST recipe (SGD, Nesterov momentum 0.9, lr 0.05 × 0.3 every 4 epochs,
    batch 128). CNN: Adam lr 1e-3, batch 128. Same initial weights and batch order for both.
    """
    x, y, x_te, y_te = data
    cr.manual_seed(0)
    model = chainrule_mlp() if kind == "mlp" else chainrule_cnn()
    rng = np.random.default_rng(0)
    if lib == "chainrule":
        if kind == "mlp":
            opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        else:
            opt = optim.Adam(model.parameters(), lr=1e-3)

        def step(xb: np.ndarray, yb: np.ndarray) -> None:
            loss = F.cross_entropy(model(cr.tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

        def accuracy() -> float:
            model.eval()
            with cr.no_grad():
                pred = np.concatenate(
                    [
                        model(cr.tensor(x_te[i : i + 1000])).data.argmax(1)
                        for i in range(0, len(x_te), 1000)
                    ]
                )
            model.train()
            return float((pred == y_te).mean())

        def set_lr(lr: float) -> None:
            opt.param_groups[0]["lr"] = lr
    else:
        import torch

        net = torch_twin(model)
        if kind == "mlp":
            topt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        else:
            topt = torch.optim.Adam(net.parameters(), lr=1e-3)
        xt, yt, xte = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(x_te)

        def step(xb: Any, yb: Any) -> None:
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            topt.zero_grad()
            loss.backward()
            topt.step()

        def accuracy() -> float:
            with torch.no_grad():
                pred = torch.cat(
                    [net(xte[i : i + 1000]).argmax(1) for i in range(0, len(x_te), 1000)]
                )
            return float((pred.numpy() == y_te).mean())

        def set_lr(lr: float) -> None:
            topt.param_groups[0]["lr"] = lr

        x, y = xt, yt
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        if kind == "mlp":
            set_lr(0.05 * 0.3 ** ((epoch - 1) // 4))
        order = rng.permutation(len(y))
        started = time.perf_counter()
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            step(x[index], y[index])
        seconds += time.perf_counter() - started
        if accuracy() >= target:
            return seconds, epoch
    return None, max_epochs


def ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> float | None:
    if not ours or not theirs:
        return None
    return ours / theirs if higher_is_better else theirs / ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test)")
    parser.add_argument("--full", action="store_true", help="also time the CNN to 99%%")
    parser.add_argument("--skip-cnn", action="store_true")
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
    for kind in kinds:
        x = x_flat if kind == "mlp" else x_flat.reshape(-1, 1, 28, 28)  # (N, 1, 28, 28)
        model = chainrule_mlp() if kind == "mlp" else chainrule_cnn()
        shape = x.shape[1:]
        flops_train = train_flops_per_sample(model, shape)
        flops_infer = inference_flops_per_sample(model, shape)
        kind_steps = steps if kind == "mlp" else max(3, steps // 4)
        for n in (1, 2):
            figures = throughput(kind, n, rounds, kind_steps, x, y)
            report[f"{kind}_{n}t"] = figures
            for what, flops in (("train", flops_train), ("infer", flops_infer)):
                ours, theirs = figures[f"chainrule_{what}"], figures.get(f"torch_{what}")
                rows.append([
                    f"W-{kind.upper()} {'training' if what == 'train' else 'inference'} "
                    f"samples/s, {n} thread{'s' if n > 1 else ''}",
                    ours, theirs, ratio(ours, theirs, True),
                    ours * flops / 1e9, None if theirs is None else theirs * flops / 1e9,
                ])  # fmt: skip
    if has_torch():
        memory = {lib: peak_memory(lib) for lib in ("chainrule", "torch")}
        report["peak_memory_mib"] = memory
        rows.append(["MNIST MLP epoch, peak RSS MiB", memory["chainrule"], memory["torch"],
                     ratio(memory["chainrule"], memory["torch"], False), None, None])  # fmt: skip
        data = (x_flat, y, x_flat_te, y_te)
        targets = [("mlp", 0.98, 10)] + ([("cnn", 0.99, 5)] if args.full and "cnn" in kinds else [])
        for kind, target, max_epochs in targets:
            kind_data = (
                data
                if kind == "mlp"
                else tuple(a.reshape(-1, 1, 28, 28) if a.ndim == 2 else a for a in data)
            )
            with threads(2):
                ours = time_to_accuracy("chainrule", kind, target, max_epochs, kind_data)
                theirs = time_to_accuracy("torch", kind, target, max_epochs, kind_data)
            report[f"{kind}_time_to_{target}"] = {"chainrule": ours, "torch": theirs}
            rows.append([f"W-{kind.upper()} seconds to {target:.0%} test acc (epochs), 2 threads",
                         f"{ours[0]:.1f} ({ours[1]})" if ours[0] else f"not in {ours[1]}",
                         f"{theirs[0]:.1f} ({theirs[1]})" if theirs[0] else f"not in {theirs[1]}",
                         ratio(ours[0], theirs[0], False), None, None])  # fmt: skip
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
          f"  BLAS: {blas}  data: {report['data']}")  # fmt: skip
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
