"""Gradient checking: backpropagated gradients against float64 central differences.

The output is projected onto a random direction r (checking d(Σ r·out)/dθ) rather than summed, so
that a backward that transposes or mixes up symmetric entries cannot cancel out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import random as cr_random
from .tensor import Tensor, no_grad


@dataclass
class GradcheckResult:
    """Per-tensor maximum relative error and the verdict.

    Relative error of one element: |analytic - numeric| / max(|analytic|, |numeric|, atol); atol
    keeps gradients that are zero or tiny from dividing round-off by nearly nothing.
    """

    errors: dict[str, float]
    tolerance: float
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(err <= self.tolerance for err in self.errors.values())

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def __bool__(self) -> bool:
        return self.passed

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "tensor": name,
                "elements checked": self.checked.get(name, 0),
                "max relative error": err,
                "verdict": "pass" if err <= self.tolerance else "FAIL",
            }
            for name, err in self.errors.items()
        ]

    def __str__(self) -> str:
        from tabulate import tabulate

        verdict = "PASS" if self.passed else "FAIL"
        table = tabulate(self.rows(), headers="keys", floatfmt=".2e")
        return f"{table}\ngradcheck {verdict} (tolerance {self.tolerance:.0e})"


def gradcheck(
    fn: Callable[..., Tensor] | Any,
    inputs: Sequence[Any] | Any,
    *,
    eps: float = 1e-5,
    tolerance: float = 1e-6,
    atol: float = 1e-3,
    max_elements: int | None = None,
    check_inputs: bool = True,
    seed: int = 0,
) -> GradcheckResult:
    """Compare backprop with central differences (f(θ+ε) - f(θ-ε))/2ε, all in float64.

    Args:
        fn: a function of tensors returning a tensor, or a Module (then its parameters are
            checked too; the model is copied and cast to float64, the original is untouched).
        inputs: the arguments; floating arrays become float64 tensors that require grad, others
            (integer labels) are passed as they are.
        max_elements: check at most this many randomly chosen elements per tensor.
        check_inputs: also check the gradient with respect to floating inputs.
        seed: fixes the projection, the sampled elements and chainrule's generator (dropout)
            for every evaluation.

    Returns:
        A GradcheckResult, truthy when every tensor's max relative error is within tolerance.
    """
    if not isinstance(inputs, list | tuple):
        inputs = (inputs,)
    is_module = hasattr(fn, "named_parameters")
    model = copy.deepcopy(fn).double() if is_module else fn
    args: list[Any] = []
    checked: dict[str, Tensor] = {}
    if is_module:
        checked.update(model.named_parameters())
    for i, x in enumerate(inputs):
        data = x.array if isinstance(x, Tensor) else np.asarray(x)
        if data.dtype.kind == "f":
            # A private C-ordered copy: the caller's array is never written.
            t = Tensor(
                np.array(data, dtype=np.float64), requires_grad=check_inputs, dtype=np.float64
            )
            if check_inputs:
                checked[f"input {i}" if len(inputs) > 1 else "input"] = t
            args.append(t)
        else:
            args.append(x)

    saved_state = cr_random.get_rng_state()

    def evaluate() -> Tensor:
        cr_random.manual_seed(seed)
        return model(*args)

    try:
        out = evaluate()
        rng = cr_random.numpy_generator(seed)
        direction = rng.standard_normal(out.shape)
        for t in checked.values():
            t.grad = None
        (out * direction).sum().backward()
        errors: dict[str, float] = {}
        counts: dict[str, int] = {}
        for name, t in checked.items():
            analytic = np.zeros(t.shape) if t.grad is None else t.grad.array
            size = t.array.size
            positions = np.arange(size)
            if max_elements is not None and size > max_elements:
                positions = rng.choice(size, size=max_elements, replace=False)
            worst = 0.0
            with no_grad():
                for k in positions:
                    at = np.unravel_index(k, t.shape)  # works for any strides, unlike a flat view
                    original = t.array[at]
                    t.array[at] = original + eps
                    plus = float(np.sum(evaluate().array * direction))
                    t.array[at] = original - eps
                    minus = float(np.sum(evaluate().array * direction))
                    t.array[at] = original
                    numeric = (plus - minus) / (2 * eps)
                    a = float(analytic[at])
                    worst = max(worst, abs(a - numeric) / max(abs(a), abs(numeric), atol))
            errors[name], counts[name] = worst, len(positions)
    finally:
        cr_random.set_rng_state(saved_state)
    return GradcheckResult(errors, tolerance, counts)
