"""Automatic mixed precision, as ``torch.amp``: accepted so that training scripts run, and exact.

chainrule computes in float32 (or float64): ``autocast`` changes no dtype, and ``GradScaler``
passes the loss and the step through unscaled, which is what PyTorch's own GradScaler does when
it is disabled (as it disables itself on a machine without CUDA). Loss scaling exists to keep
float16 gradients from underflowing; float32 gradients do not need it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any


class autocast(contextlib.ContextDecorator):  # noqa: N801 (PyTorch's name)
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` runs its body
    unchanged (at the inputs' precision)."""

    def __init__(
        self,
        device_type: str = "cpu",
        dtype: Any = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, enabled

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class GradScaler:
    """PyTorch's GradScaler interface with the scale fixed at 1 (see the module docstring)."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._enabled = False

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs: Any) -> Any:
        return outputs

    def unscale_(self, optimizer: Any) -> None:
        return None

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: Any = None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        return None


def custom_fwd(fwd: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    if fwd is None:
        return functools.partial(custom_fwd, **kwargs)
    return fwd


def custom_bwd(bwd: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    if bwd is None:
        return functools.partial(custom_bwd, **kwargs)
    return bwd


__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]
