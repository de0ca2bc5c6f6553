"""Padding layers (zero, constant, reflection, replication, circular; 1-d to 3-d) against
torch.nn's: values and input gradients in float32 and float64, gradcheck, reprs, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError, ShapeError

# (layer, constructor arguments, input shape): ints and tuples, uneven and zero sides,
# negative widths (crops), batched and unbatched inputs.
CASES = [
    ("ZeroPad1d", (2,), (2, 3, 5)),
    ("ZeroPad1d", ((0, 3),), (3, 4)),
    ("ZeroPad2d", ((1, 1, 2, 0),), (2, 3, 4, 5)),
    ("ZeroPad2d", (1,), (3, 4)),
    ("ZeroPad2d", ((-1, 2, 0, -2),), (1, 2, 4, 5)),
    ("ZeroPad3d", ((1, 0, 0, 2, 1, 1),), (1, 2, 3, 3, 4)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad2d", ((1, 2, 3, 4), -1.0), (2, 3, 3)),
    ("ConstantPad3d", (1, 0.5), (2, 2, 2, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad1d", ((3, 1),), (3, 4)),
    ("ReflectionPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReflectionPad2d", (2,), (3, 3, 4)),
    ("ReflectionPad3d", ((1, 0, 2, 1, 1, 1),), (1, 2, 3, 4, 3)),
    ("ReplicationPad1d", ((4, 1),), (2, 3, 3)),
    ("ReplicationPad2d", (2,), (2, 1, 3, 4)),
    ("ReplicationPad3d", ((1, 2, 0, 1, 3, 0),), (2, 2, 2, 3)),
    ("CircularPad1d", ((2, 3),), (2, 3, 4)),
    ("CircularPad2d", (1,), (3, 4, 5)),
    ("CircularPad2d", ((3, 0, 1, 2),), (1, 2, 3, 4)),
    ("CircularPad3d", ((1, 1, 0, 2, 2, 1),), (1, 1, 3, 3, 3)),
]
IDS = [f"{name}{args}-{shape}" for name, args, shape in CASES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "args", "shape"), CASES, ids=IDS)
def test_matches_torch(
    name: str, args: tuple[Any, ...], shape: tuple[int, ...], dtype: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal(shape).astype(dtype)
    a, b = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a), theirs(b)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    grad = rng.standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(grad, dtype=dtype))
    ref.backward(torch.tensor(grad))
    assert a.grad.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-14  # the edges sum several gradients
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("name", "args", "shape"), CASES, ids=IDS)
def test_gradcheck(
    name: str, args: tuple[Any, ...], shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    result = cr.gradcheck(getattr(nn, name)(*args), [rng.standard_normal(shape)])
    assert result.passed, str(result)


def test_padding_is_stored_as_torch_does() -> None:
    assert nn.ZeroPad2d(3).padding == (3, 3, 3, 3)
    assert nn.ReflectionPad1d([1, 2]).padding == (1, 2)
    assert nn.ConstantPad3d(1, 2.0).value == 2.0
    assert nn.ZeroPad2d(1).state_dict() == {}


def test_errors() -> None:
    with pytest.raises(ConfigError, match=r"ZeroPad2d: padding must be an int or 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ConfigError, match="ReflectionPad3d"):
        nn.ReflectionPad3d((1, 2, 3, 4))
    with pytest.raises(ShapeError, match=r"ReflectionPad2d\(1, 1, 1, 1\) expects input of 3 or 4"):
        nn.ReflectionPad2d(1)(cr.tensor(np.ones((3, 3))))
    with pytest.raises(ShapeError, match=r"ReplicationPad1d.*2 or 3 dims"):
        nn.ReplicationPad1d(1)(cr.tensor(np.ones((1, 2, 3, 4))))
    with pytest.raises(ShapeError, match=r"ZeroPad2d.*at least 2 dims"):
        nn.ZeroPad2d(1)(cr.tensor(np.ones(3)))
    with pytest.raises(ShapeError, match="smaller than"):
        nn.ReflectionPad1d(3)(cr.tensor(np.ones((1, 3))))
    with pytest.raises(ShapeError, match="larger than"):
        nn.CircularPad1d(4)(cr.tensor(np.ones((1, 3))))
