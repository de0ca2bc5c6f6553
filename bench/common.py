"""Shared pieces of the benchmark: data, thread limits, timing, the machine's matmul ceiling."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"
MEAN, STD = 33.32, 78.57  # MNIST training pixels (0..255): the same normalisation for both


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load_data(flat: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """MNIST normalised to float32 (N, 784) or (N, 1, 28, 28); random stand-ins without it."""
    if (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        from chainrule.data import load_mnist

        (x_tr, y_tr), (x_te, y_te) = load_mnist(MNIST_DIR)
        source = "MNIST"
    else:
        rng = np.random.default_rng(0)
        x_tr = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        y_tr = rng.integers(0, 10, 60000)
        x_te, y_te = x_tr[:10000], y_tr[:10000]
        source = "random stand-in (MNIST not found)"
    shape = (-1, 784) if flat else (-1, 1, 28, 28)

    def prepare(x: np.ndarray) -> np.ndarray:
        out = x.astype(np.float32).reshape(shape)  # (N, 784) or (N, 1, 28, 28)
        out -= MEAN  # in place: one float32 copy of the data, so the data does not set the peak
        out /= STD
        return out

    return prepare(x_tr), y_tr.astype(np.int64), prepare(x_te), y_te.astype(np.int64), source


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Limit NumPy's BLAS and PyTorch to n threads for the block."""
    from threadpoolctl import threadpool_limits

    torch_before = None
    if "torch" in sys.modules:  # never import torch here: the memory runs must not pay for it
        import torch

        torch_before = torch.get_num_threads()
        torch.set_num_threads(n)
    with threadpool_limits(limits=n):
        yield
    if torch_before is not None:
        import torch

        torch.set_num_threads(torch_before)


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def matmul_gflops(n: int = 1024, repeat: int = 7) -> float:
    """float32 n×n×n matrix-product rate: the ceiling for both libraries' dense layers."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # first touch of memory is slow here
    return 2 * n**3 / median_seconds(lambda: a @ b, repeat) / 1e9


def ceiling(label: str) -> dict[str, float]:
    """Matmul GFLOP/s on 1 and 2 threads; a 2-thread rate near or below the 1-thread rate means
    the machine is in one of its degraded periods (threads spinning on each other)."""
    out = {}
    for n in (1, 2):
        with threads(n):
            out[f"{label}_gflops_{n}t"] = matmul_gflops()
    return out


def blas_info() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "architecture")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def kernel_info() -> str:
    """The kernel backend chainrule runs (CHAINRULE_KERNELS chooses it), with numba's version
    and threading layer, as a fresh process (a worker) sees them: PyTorch, loaded here, would
    change numba's choice of layer."""
    import subprocess

    code = "from bench.common import _kernel_info; print(_kernel_info())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    return out.stdout.strip()


def _kernel_info() -> str:
    from chainrule import kernels

    name = kernels.backend()
    if name == "numba":
        import numba

        kernels.relu(np.zeros(1 << 20, dtype=np.float32))  # starts numba's thread pool
        return f"numba {numba.__version__} ({numba.threading_layer()} threading layer)"
    return name


def machine() -> dict[str, Any]:
    import platform

    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "kernels": kernel_info(),
    }
    if has_torch():
        import torch

        info["torch"] = torch.__version__
    return info
