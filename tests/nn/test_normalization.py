"""LayerNorm, GroupNorm and RMSNorm against torch.nn twins loaded with torch's state_dict:
outputs and all gradients; gradcheck with respect to input and parameters; reprs; errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn, ops
from chainrule.errors import ConfigError, ShapeError

LAYERS = [
    ("LayerNorm", (5,), {}, (3, 5)),
    ("LayerNorm", ((3, 4),), {"eps": 1e-3}, (2, 3, 4)),
    ("LayerNorm", ([4],), {"bias": False}, (2, 3, 4)),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (2, 4)),
    ("GroupNorm", (2, 6), {}, (3, 6, 2, 2)),
    ("GroupNorm", (3, 6), {"affine": False}, (2, 6, 5)),
    ("GroupNorm", (1, 4), {"bias": False}, (2, 4)),
    ("GroupNorm", (4, 4), {"eps": 1e-2}, (2, 4, 3)),
    ("RMSNorm", (5,), {}, (3, 5)),
    ("RMSNorm", ((3, 4),), {"eps": 1e-4}, (2, 3, 4)),
    ("RMSNorm", (4,), {"elementwise_affine": False}, (2, 4)),
]
IDS = [f"{name}{args}{kwargs}" for name, args, kwargs, _ in LAYERS]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAYERS, ids=IDS)
def test_matches_torch(
    name: str, args: tuple, kwargs: dict, shape: tuple, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():
        for param in theirs.parameters():  # off the 1/0 start, so loading is tested
            param.uniform_(0.5, 1.5)
    ours = getattr(nn, name)(*args, **kwargs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a), theirs(b)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    direction = rng.standard_normal(shape).astype(np.float32)
    (out * cr.tensor(direction)).sum().backward()
    (ref * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    params = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        assert param.grad.dtype == np.float32
        np.testing.assert_allclose(
            param.grad.numpy(), params[key].grad.numpy(), rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAYERS, ids=IDS)
def test_gradcheck(
    name: str, args: tuple, kwargs: dict, shape: tuple, rng: np.random.Generator
) -> None:
    layer = getattr(nn, name)(*args, **kwargs)
    for param in layer.parameters():
        param.array[...] = rng.uniform(0.5, 1.5, param.shape)
    result = cr.gradcheck(layer, [rng.standard_normal(shape)])
    assert result.passed, str(result)


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAYERS, ids=IDS)
def test_repr_and_initial_values(name: str, args: tuple, kwargs: dict, shape: tuple) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key], value.numpy())
        assert ours.state_dict()[key].dtype == np.float32


def test_layer_norm_is_one_node(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.standard_normal((2, 4)).astype(np.float32), requires_grad=True)
    w = cr.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
    out = F.layer_norm(x, 4, w, w * 0)
    assert out.grad_fn.op is ops.LayerNorm
    assert out.grad_fn.parents[0] is x  # the leaf itself: no composed nodes in between


def test_layer_norm_float64_and_constant_rows() -> None:
    x = cr.tensor(np.full((2, 3), 7.0), dtype=cr.float64, requires_grad=True)
    out = F.layer_norm(x, (3,))
    out.sum().backward()
    assert out.dtype == np.float64 and x.grad.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), 0.0)  # var 0: x̂ = 0/√eps, finite
    assert np.isfinite(x.grad.numpy()).all()


def test_rms_norm_default_eps_is_the_dtypes() -> None:
    torch = pytest.importorskip("torch")
    x = np.full((1, 3), 1e-4, dtype=np.float32)
    ours = F.rms_norm(cr.tensor(x), (3,))
    ref = torch.nn.functional.rms_norm(torch.tensor(x), (3,))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5)


def test_shape_errors() -> None:
    with pytest.raises(ShapeError, match=r"normalized_shape \[4\]"):
        nn.LayerNorm(4)(cr.tensor(np.ones((2, 5))))
    with pytest.raises(ShapeError, match=r"\(\*, 2, 3\)"):
        F.layer_norm(cr.tensor(np.ones((3,))), (2, 3))
    with pytest.raises(ShapeError, match="weight must have shape"):
        F.layer_norm(cr.tensor(np.ones((2, 4))), 4, cr.tensor(np.ones(3)))
    with pytest.raises(ConfigError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ShapeError, match="num_groups=2"):
        F.group_norm(cr.tensor(np.ones((2, 3, 4))), 2)
    with pytest.raises(ShapeError, match=r"\(N, C, \*\)"):
        nn.GroupNorm(1, 3)(cr.tensor(np.ones(3)))
    with pytest.raises(ShapeError, match="rms_norm"):
        nn.RMSNorm(3)(cr.tensor(np.ones((2, 4))))
