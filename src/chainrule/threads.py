"""CPU threads, as ``torch.set_num_threads``: chainrule's kernels run in NumPy's BLAS (OpenBLAS,
or MKL), whose thread pool threadpoolctl sets and reads."""

from __future__ import annotations

import os

from .errors import ConfigError

_deterministic = False


def set_num_threads(num: int) -> None:
    """Use num threads for matrix products (and convolutions, which are matrix products)."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"set_num_threads expects a positive integer, got {num!r}")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=num, user_api="blas")  # stays in force (not used as a context)


def get_num_threads() -> int:
    """The threads matrix products use now."""
    from threadpoolctl import threadpool_info

    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else (os.cpu_count() or 1)


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
