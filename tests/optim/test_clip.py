"""chainrule.nn.utils (gradient clipping, flat parameter vectors) against torch.nn.utils."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import NonFiniteError, ShapeError
from chainrule.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def pair(dtype: Any, scale: float = 1.0) -> tuple[list[Any], list[Any]]:
    """Our parameters and torch's, with the same values and gradients."""
    rng = np.random.default_rng(1)
    previous = cr.get_default_dtype()
    cr.set_default_dtype(dtype)
    ours, theirs = [], []
    try:
        for shape in SHAPES:
            value = rng.standard_normal(shape).astype(dtype)
            grad = (scale * rng.standard_normal(shape)).astype(dtype)
            p = nn.Parameter(value.copy())
            p.grad = grad.copy()
            t = torch.nn.Parameter(torch.from_numpy(value.copy()))
            t.grad = torch.from_numpy(grad.copy())
            ours.append(p)
            theirs.append(t)
    finally:
        cr.set_default_dtype(previous)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, -math.inf, 0.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(dtype: Any, norm_type: Any, max_norm: float) -> None:
    ours, theirs = pair(dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=float(norm_type))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert isinstance(total, cr.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=rtol)
    for p, t in zip(ours, theirs, strict=True):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-30)


def test_clip_grad_norm_details_as_torch() -> None:
    ours, theirs = pair(np.float32)
    ours[1].grad, theirs[1].grad = None, None
    # One tensor is accepted; parameters without a gradient are skipped.
    np.testing.assert_allclose(
        clip_grad_norm_(ours[0], 0.1).numpy(),
        torch.nn.utils.clip_grad_norm_(theirs[0], 0.1).numpy(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-6)
    total = clip_grad_norm_(iter(ours), 0.1)
    np.testing.assert_allclose(
        total.numpy(), torch.nn.utils.clip_grad_norm_(iter(theirs), 0.1).numpy(), rtol=1e-6
    )
    empty = clip_grad_norm_([ours[1]], 1.0)
    assert float(empty) == 0.0 and empty.dtype == np.float32
    assert cr.nn.utils.clip_grad_norm_ is optim.clip_grad_norm_ is clip_grad_norm_


def test_clip_grad_norm_non_finite() -> None:
    a = nn.Parameter(np.zeros(2, dtype=np.float32))
    a.grad = np.array([np.nan, 1.0], dtype=np.float32)
    assert math.isnan(float(clip_grad_norm_([a], 1.0)))
    assert a.grad.numpy()[1] == 1.0  # left untouched (PyTorch would scale by NaN)
    with pytest.raises(NonFiniteError, match=r"order 2\.0"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_matches_torch(dtype: Any) -> None:
    ours, theirs = pair(dtype, scale=3.0)
    assert clip_grad_value_(ours, 1.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
        assert p.grad.dtype == dtype
    clip_grad_value_(ours[0], 0.25)
    assert np.abs(ours[0].grad.numpy()).max() == 0.25


def test_parameters_to_vector_and_back_match_torch() -> None:
    ours, theirs = pair(np.float32)
    vector = parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vector.numpy(), expected.detach().numpy())
    # Differentiable, as torch.cat of views: d(c·v)/dp is c, reshaped to each parameter.
    for p in ours:
        p.grad = None
    weights = np.arange(vector.shape[0], dtype=np.float32)
    (vector * cr.tensor(weights)).sum().backward()
    start = 0
    for p in ours:
        np.testing.assert_array_equal(p.grad.numpy().ravel(), weights[start : start + p.numel()])
        start += p.numel()
    new = np.linspace(-1, 1, vector.shape[0]).astype(np.float32)
    buffers = [p.numpy() for p in ours]
    vector_to_parameters(cr.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), theirs)
    for p, t, buffer in zip(ours, theirs, buffers, strict=True):
        np.testing.assert_array_equal(p.numpy(), t.detach().numpy())
        assert p.numpy() is buffer  # written in place, so optimisers keep their parameters
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(new, ours)  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="has 3 elements"):
        vector_to_parameters(cr.tensor(new[:3]), ours)
