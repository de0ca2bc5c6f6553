"""Grad mode: whether ops record a graph. ``no_grad`` for evaluation and optimiser updates,
``enable_grad`` inside it, ``set_grad_enabled(mode)``, ``inference_mode``, as in PyTorch; each
is a context manager and a decorator (``@no_grad`` with or without parentheses)."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

enabled = True  # read by the engine at every op


def is_grad_enabled() -> bool:
    return enabled


class set_grad_enabled:  # noqa: N801 (PyTorch's name)
    """Turn recording on or off: now (as a call) and for a ``with`` block (restored after)."""

    def __init__(self, mode: bool) -> None:
        global enabled
        self.previous, self.mode = enabled, builtins.bool(mode)
        enabled = self.mode

    def __enter__(self) -> None:
        global enabled
        enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self.previous

    def __call__(self, func: F) -> F:
        global enabled
        enabled = self.previous  # as a decorator it applies to calls, not from now on
        return _decorate(func, self.mode)


def _decorate(func: F, mode: bool) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global enabled
        previous, enabled = enabled, mode
        try:
            return func(*args, **kwargs)
        finally:
            enabled = previous

    return wrapper  # type: ignore[return-value]


class _GradMode:
    """A context manager and decorator that sets grad mode for its block (``@no_grad`` or
    ``@no_grad()`` both decorate)."""

    mode: builtins.bool = False

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        if func is not None and callable(func):
            return _decorate(func, cls.mode)
        return super().__new__(cls)

    def __init__(self, func: Callable[..., Any] | None = None) -> None:
        self.previous = True

    def __enter__(self) -> None:
        global enabled
        self.previous, enabled = enabled, self.mode

    def __exit__(self, *exc: object) -> None:
        global enabled
        enabled = self.previous

    def __call__(self, func: F) -> F:
        return _decorate(func, self.mode)


class no_grad(_GradMode):  # noqa: N801 (PyTorch's name)
    """Inside it ops record no graph (evaluation, optimiser updates), as ``torch.no_grad``."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Record again inside a ``no_grad`` block, as ``torch.enable_grad``."""

    mode = True


class inference_mode(_GradMode):  # noqa: N801
    """``torch.inference_mode``: the same as ``no_grad`` here."""

    mode = False

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return _decorate(mode, False)
        instance = object.__new__(cls)
        instance.mode = not builtins.bool(mode)
        return instance
