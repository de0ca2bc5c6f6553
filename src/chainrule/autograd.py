"""``chainrule.autograd``, as ``torch.autograd``: gradients without ``.grad`` (``grad``),
backward from several tensors at once, and the grad-mode switches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .tensor import (
    Node,
    Tensor,
    _accumulate,
    _run_backward,
    _seed,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    no_grad,
    set_grad_enabled,
)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Σ backward from each tensor (with its gradient), accumulated into the leaves' ``.grad``."""
    outs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    seeds = (
        [None] * len(outs)
        if grad_tensors is None
        else ([grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    )
    for i, (out, seed) in enumerate(zip(outs, seeds, strict=True)):
        if create_graph:
            out.backward(seed, create_graph=True)
        keep = bool(retain_graph) or i < len(outs) - 1
        _accumulate(_run_backward(out, _seed(out, seed), keep, inputs))


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """PyTorch's old wrapper: today a Variable is a Tensor."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


__all__ = [
    "Node",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "inference_mode",
    "no_grad",
    "set_grad_enabled",
]
