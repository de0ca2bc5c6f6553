"""Gradient checks of whole architectures: the built-in MLPs (and the CNN when present) with a loss.

Each architecture is wrapped with its loss on a few random samples and handed to
``chainrule.gradcheck``, which compares every parameter's (and the input's) backpropagated
gradient with float64 central differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .. import functional as F
from .. import models, nn
from ..gradcheck import GradcheckResult, gradcheck
from ..random import manual_seed, numpy_generator
from ..tensor import Tensor


@dataclass
class Architecture:
    """A model to check: ``build()`` makes it; inputs have ``input_shape`` per sample."""

    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    num_classes: int


class _WithLoss(nn.Module):
    """model → cross-entropy against fixed labels: one scalar for gradcheck to differentiate."""

    def __init__(self, model: nn.Module, labels: np.ndarray) -> None:
        super().__init__()
        self.model = model
        self.labels = labels

    def forward(self, x: Tensor) -> Tensor:
        return F.cross_entropy(self.model(x), self.labels)


def builtin_architectures() -> list[Architecture]:
    """An 8-16-10 MLP with each activation, and models.build_cnn on 8x8 images if it exists."""
    archs = [
        Architecture(
            f"MLP 8-16-10 {activation}",
            partial(models.build_mlp, 8, 10, [16], activation=activation),
            (8,),
            10,
        )
        for activation in ("relu", "sigmoid", "tanh")
    ]
    build_cnn = getattr(models, "build_cnn", None)
    if build_cnn is not None:
        archs.append(
            Architecture("CNN (build_cnn) 1x8x8", lambda: build_cnn((1, 8, 8), 10), (1, 8, 8), 10)
        )
    return archs


def check_architecture(
    arch: Architecture,
    samples: int = 4,
    seed: int = 0,
    max_elements: int | None = 64,
    tolerance: float = 1e-6,
) -> GradcheckResult:
    """Gradcheck ``arch`` with cross-entropy on ``samples`` random inputs and labels.

    Args:
        max_elements: check at most this many randomly chosen elements per tensor (all when None).

    Returns:
        The GradcheckResult, with tensor names as the model names them ('1.weight', 'input').
    """
    manual_seed(seed)
    model = arch.build()
    model.eval()  # dropout off: the function must be deterministic between evaluations
    rng = numpy_generator(seed)
    x = rng.standard_normal((samples, *arch.input_shape))
    labels = rng.integers(0, arch.num_classes, samples)
    result = gradcheck(
        _WithLoss(model, labels), x, max_elements=max_elements, tolerance=tolerance, seed=seed
    )
    names = {name: name.removeprefix("model.") for name in result.errors}
    return GradcheckResult(
        {names[k]: v for k, v in result.errors.items()},
        result.tolerance,
        {names[k]: v for k, v in result.checked.items()},
    )


def check_all(
    archs: list[Architecture] | None = None, **options: Any
) -> list[tuple[Architecture, GradcheckResult]]:
    """``check_architecture`` for each of ``archs`` (default: the built-in ones)."""
    return [
        (arch, check_architecture(arch, **options)) for arch in archs or builtin_architectures()
    ]
