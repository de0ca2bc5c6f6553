"""CPU threads, as ``torch.set_num_threads``: one count for BLAS's pool (the matrix products,
set through threadpoolctl) and for chainrule's compiled kernels (numba's pool) together.

The default is the CPUs this process may use less those other processes keep busy when
chainrule is imported (``/proc/loadavg``'s runnable tasks, ourselves excluded), at least 1: on
a 2-core machine that another job keeps busy, two threads would wait on each other through
every product (a matmul measured 4.4 GFLOP/s so, against 119 on one thread).
``CHAINRULE_NUM_THREADS`` (or ``OMP_NUM_THREADS``) overrides the guess; so does a call.
"""

from __future__ import annotations

import os
import time
import warnings

from .errors import ConfigError

_deterministic = False
_threads: int | None = None  # chosen by the user or by default_num_threads(), once


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_elsewhere(samples: int = 4, interval: float = 0.004) -> int:
    """CPUs other processes keep busy: the fewest runnable tasks seen in a few samples of
    /proc/loadavg's 4th field (which counts this process), so a passing burst is not a busy
    core but a job that keeps running is."""
    counts = []
    for k in range(samples):
        if k:
            time.sleep(interval)
        try:
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            return 0
    return max(0, min(counts))


def default_num_threads() -> int:
    """The environment's count if set, else the CPUs not busy elsewhere (at least 1).

    OMP_NUM_THREADS may be OpenMP's nested list ("4,2"): its first level counts. A value that is
    not a positive integer is passed over with a warning, as OpenMP's runtimes do: it is read
    when chainrule is imported, where an error would stop every program that imports it."""
    for name in ("CHAINRULE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        first = value.split(",")[0].strip() if name == "OMP_NUM_THREADS" else value
        if first.isdigit() and int(first) >= 1:
            return int(first)
        warnings.warn(
            f"{name} must be a positive integer, got {value!r}; it is ignored",
            RuntimeWarning,
            stacklevel=2,
        )
    cpus = available_cpus()
    return max(1, cpus - min(cpus - 1, _busy_elsewhere()))


def set_num_threads(num: int) -> None:
    """Use num threads for matrix products and compiled kernels (convolutions, pooling,
    elementwise passes, optimiser updates)."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"set_num_threads expects a positive integer, got {num!r}")
    global _threads
    _threads = num
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=num, user_api="blas")  # stays in force (not used as a context)
    from . import kernels

    kernels.set_num_threads(1 if num > 1 and _blas_workers_spin() else num)


def _blas_workers_spin() -> bool:
    """Whether BLAS's idle workers keep their cores: OpenBLAS's own (pthreads) pool spins after
    each product, so a kernel's second thread waits for that core (an MNIST CNN step at 2
    threads measured 71-77 ms with the kernels on 2 threads, 66 ms on 1). An OpenMP-built BLAS
    shares its pool instead."""
    from threadpoolctl import threadpool_info

    return any(
        p.get("internal_api") == "openblas" and p.get("threading_layer") == "pthreads"
        for p in threadpool_info()
    )


def ensure_num_threads() -> int:
    """The thread count in force, choosing the default the first time."""
    if _threads is None:
        set_num_threads(default_num_threads())
    return globals()["_threads"]


def get_num_threads() -> int:
    """The threads matrix products and kernels use."""
    return ensure_num_threads()


def set_num_interop_threads(num: int) -> None:
    """Accepted for PyTorch's sake: chainrule runs one op at a time."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"set_num_interop_threads expects a positive integer, got {num!r}")


def get_num_interop_threads() -> int:
    return 1


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded for PyTorch's sake: every chainrule op is deterministic already (same inputs,
    same bits), so there is nothing to switch."""
    global _deterministic
    _deterministic = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic
