"""LayerNorm, GroupNorm, RMSNorm, InstanceNorm, LocalResponseNorm and F.normalize against
torch.nn twins loaded with torch's state_dict: outputs and all gradients; gradcheck with respect
to input and parameters; reprs; errors."""

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
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 4)),
    ("InstanceNorm2d", (4,), {"affine": True, "eps": 1e-3}, (2, 4, 3, 3)),
    ("InstanceNorm2d", (4,), {"affine": True, "bias": False}, (4, 3, 2)),
    ("InstanceNorm3d", (2,), {"affine": True}, (2, 2, 2, 3, 2)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 3, 4)),
    ("LocalResponseNorm", (2,), {"alpha": 0.3, "beta": 0.6, "k": 2.0}, (2, 4, 6)),
    ("LocalResponseNorm", (4,), {"alpha": 1.0}, (1, 6, 2, 2, 3)),
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


def _twin(ours: nn.Module, theirs: object, x: np.ndarray, rng: np.random.Generator) -> None:
    """Outputs and the gradients of input and parameters, in x's dtype."""
    torch = pytest.importorskip("torch")
    dtype = x.dtype
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10}
    a, b = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a), theirs(b)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tolerance)
    direction = rng.standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(direction, dtype=dtype))
    ref.backward(torch.tensor(direction))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tolerance)
    params = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad.numpy(), params[key].grad.numpy(), **tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.3, None])
def test_instance_norm_running_stats_match_torch(
    dtype: type, momentum: float | None, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    kwargs = {"affine": True, "track_running_stats": True, "momentum": momentum}
    theirs = torch.nn.InstanceNorm2d(3, **kwargs, dtype=getattr(torch, np.dtype(dtype).name))
    ours = nn.InstanceNorm2d(3, **kwargs, dtype=dtype)
    assert repr(ours) == repr(theirs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    assert ours.state_dict()["num_batches_tracked"].dtype == np.int64
    with torch.no_grad():
        for param in theirs.parameters():
            param.uniform_(0.5, 1.5)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    for shape in ((2, 3, 4, 5), (3, 2, 6)):  # training: batch statistics, buffers move
        _twin(ours, theirs, (rng.standard_normal(shape) * 2 + 1).astype(dtype), rng)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-6)
    if momentum is None:  # PyTorch's instance norm takes None as 0: the statistics stay
        np.testing.assert_array_equal(ours.running_var.numpy(), 1)
    ours.eval(), theirs.eval()  # evaluation: the running statistics
    _twin(ours, theirs, rng.standard_normal((2, 3, 4, 4)).astype(dtype), rng)


def test_instance_norm_functional_matches_torch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7))
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    ours_mean, ours_var = cr.tensor(mean, dtype=cr.float64), cr.tensor(var, dtype=cr.float64)
    their_mean, their_var = torch.tensor(mean), torch.tensor(var)
    out = F.instance_norm(cr.tensor(x, dtype=cr.float64), ours_mean, ours_var, momentum=0.2)
    ref = torch.nn.functional.instance_norm(torch.tensor(x), their_mean, their_var, momentum=0.2)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_mean.numpy(), their_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_var.numpy(), their_var.numpy(), rtol=1e-12)
    out = F.instance_norm(
        cr.tensor(x, dtype=cr.float64), ours_mean, ours_var, use_input_stats=False
    )
    ref = torch.nn.functional.instance_norm(
        torch.tensor(x), their_mean, their_var, use_input_stats=False
    )
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)


def test_instance_norm_gradcheck_with_weight_and_bias(rng: np.random.Generator) -> None:
    weight, bias = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    result = cr.gradcheck(
        lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
        [rng.standard_normal((2, 3, 5)), weight, bias],
    )
    assert result.passed, str(result)


NORMALIZE = [
    {},
    {"p": 1.0, "dim": 0},
    {"p": 3.0, "dim": -1},
    {"p": float("inf"), "dim": 2},
    {"dim": 1, "eps": 0.5},  # eps above some norms: those rows are divided by eps
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", NORMALIZE, ids=[str(k) for k in NORMALIZE])
def test_normalize_matches_torch(kwargs: dict, dtype: type, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((3, 4, 5)) * 0.3).astype(dtype)
    a, b = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = F.normalize(a, **kwargs), torch.nn.functional.normalize(b, **kwargs)
    assert out.dtype == dtype
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tolerance)
    direction = rng.standard_normal(x.shape).astype(dtype)
    out.backward(cr.tensor(direction, dtype=dtype))
    ref.backward(torch.tensor(direction))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tolerance)
    if kwargs.get("p") != float("inf"):  # the max norm's kinks are not smooth
        # unit-scale values: near a zero norm the central differences' own error grows
        x = rng.standard_normal(x.shape)
        result = cr.gradcheck(lambda t: F.normalize(t, **kwargs), [x])
        assert result.passed, str(result)


def test_normalize_keeps_a_zero_row_at_zero() -> None:
    x = cr.tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    out = F.normalize(x)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), 0)
    assert np.isfinite(x.grad.numpy()).all()


def test_instance_and_local_response_norm_errors() -> None:
    with pytest.raises(ShapeError, match=r"InstanceNorm2d\(3\) expects input of 3 or 4 dims"):
        nn.InstanceNorm2d(3)(cr.tensor(np.ones((2, 3))))
    with pytest.raises(ShapeError, match="expects 3 channels at dim 1, got 4"):
        nn.InstanceNorm1d(3, affine=True)(cr.tensor(np.ones((2, 4, 5))))
    with pytest.warns(UserWarning, match="num_features is unused"):
        nn.InstanceNorm1d(3)(cr.tensor(np.ones((2, 4, 5))))
    with pytest.raises(ShapeError, match="more than one spatial element"):
        nn.InstanceNorm1d(3)(cr.tensor(np.ones((2, 3, 1))))
    with pytest.raises(ShapeError, match="running_mean must have shape"):
        F.instance_norm(
            cr.tensor(np.ones((2, 3, 4))), cr.tensor(np.zeros(4)), cr.tensor(np.ones(4))
        )
    with pytest.raises(ShapeError, match="use_input_stats=False needs"):
        F.instance_norm(cr.tensor(np.ones((2, 3, 4))), use_input_stats=False)
    with pytest.raises(ShapeError, match="3 or more dims"):
        nn.LocalResponseNorm(2)(cr.tensor(np.ones((2, 3))))
