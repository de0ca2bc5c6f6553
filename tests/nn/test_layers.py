"""Modules: registration, names, state_dict, modes, hooks, init, and gradchecks of layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.nn import init


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def test_linear_shapes_match_pytorch() -> None:
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer(cr.tensor(np.ones((7, 5)))).shape == (7, 3)
    assert nn.Linear(5, 3, bias=False).bias is None


def test_named_parameters_and_state_dict() -> None:
    model = mlp()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state = model.state_dict()
    assert list(state) == names and all(a.dtype == np.float32 for a in state.values())
    other = mlp()
    other.load_state_dict(state)
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert all(isinstance(v, cr.Tensor) and not v.requires_grad for v in state.values())
    state["0.weight"][...] = 7  # as PyTorch's: detached tensors sharing the model's memory
    assert (model[0].weight.numpy() == 7).all()


def test_load_state_dict_reports_mismatches() -> None:
    model = mlp()
    with pytest.raises(KeyError, match="missing"):
        model.load_state_dict({"0.weight": np.zeros((8, 4))})
    bad = model.state_dict()
    bad["0.weight"] = np.zeros((4, 8))
    with pytest.raises(
        ValueError,
        match=r"mismatch for '0.weight': the checkpoint has shape \(4, 8\), the model \(8, 4\)",
    ):
        model.load_state_dict(bad)


def test_shared_layer_counted_once_and_gets_summed_gradient() -> None:
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(model.parameters())) == 2
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    model(x).sum().backward()
    assert shared.weight.grad is not None
    assert cr.gradcheck(model, [x.numpy().astype(np.float64)]).passed


def test_train_eval_and_repr() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.2))
    model.eval()
    assert not model[1].training
    model.train()
    assert model[1].training
    assert repr(model) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "  (1): Dropout(p=0.2, inplace=False)\n)"  # PyTorch's repr
    )


def test_getattr_raises_and_zero_grad() -> None:
    model = mlp()
    with pytest.raises(AttributeError):
        _ = model.nothing
    model(cr.tensor(np.ones((1, 4)))).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_forward_hook_sees_output_and_can_be_removed() -> None:
    model = mlp()
    seen = []
    handle = model[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(cr.tensor(np.ones((2, 4))))
    handle.remove()
    model(cr.tensor(np.ones((2, 4))))
    assert seen == [(2, 8)]


@pytest.mark.parametrize(
    ("fn", "expected_std"),
    [
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
        (init.xavier_normal_, math.sqrt(2 / (400 + 300))),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
        (init.xavier_uniform_, math.sqrt(2 / (400 + 300))),
    ],
)
def test_init_variances(fn, expected_std: float) -> None:  # type: ignore[no-untyped-def]
    weight = nn.Parameter(np.empty((300, 400), dtype=np.float32))
    fn(weight)
    assert weight.numpy().std() == pytest.approx(expected_std, rel=0.02)
    assert weight.dtype == np.float32


def test_init_gain_and_fans() -> None:
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    conv_weight = nn.Parameter(np.empty((16, 3, 5, 5), dtype=np.float32))
    assert init.fan_in_and_fan_out(conv_weight) == (75, 400)
    with pytest.raises(ValueError, match="unknown init"):
        nn.Linear(2, 2, init="glorious")


@pytest.mark.parametrize(
    "layer",
    [nn.Linear(4, 3), nn.ReLU(), nn.LeakyReLU(0.2), nn.Sigmoid(), nn.Tanh(), nn.Softmax(1),
     nn.Flatten(), nn.Dropout(0.3)],
    ids=lambda m: type(m).__name__,
)  # fmt: skip
def test_layer_gradcheck(layer: nn.Module) -> None:
    x = np.random.default_rng(3).uniform(0.1, 1.0, (5, 4)) * np.array([1, -1, 1, -1])
    result = cr.gradcheck(layer, [x])
    assert result.passed, str(result)


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (nn.MSELoss(), np.random.default_rng(1).standard_normal((5, 3))),
        (nn.CrossEntropyLoss(), np.array([0, 2, 1, 1, 0])),
        (nn.BCEWithLogitsLoss(), np.random.default_rng(2).uniform(0, 1, (5, 3))),
    ],
    ids=lambda x: type(x).__name__,
)
def test_loss_module_gradcheck(loss: nn.Module, target: np.ndarray) -> None:
    x = np.random.default_rng(4).standard_normal((5, 3))
    assert cr.gradcheck(lambda t: loss(t, target), [x]).passed


def test_bce_loss_module_gradcheck() -> None:
    p = np.random.default_rng(5).uniform(0.1, 0.9, (6,))
    t = np.random.default_rng(6).uniform(0, 1, (6,))
    assert cr.gradcheck(lambda q: nn.BCELoss()(q, t), [p]).passed


def test_normalize_uses_given_statistics() -> None:
    x = np.random.default_rng(0).normal(5.0, 3.0, (1000, 4)).astype(np.float32)
    layer = nn.Normalize.from_data(x, per_feature=True)
    y = layer(cr.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-4)
    assert y.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("bias", "lead"), [(True, (4,)), (False, (2, 3)), (True, ())], ids=["2d", "nobias", "1d"]
)
def test_bilinear_matches_pytorch(
    bias: bool, lead: tuple[int, ...], dtype: type, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Bilinear(3, 5, 2, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    ours = nn.Bilinear(3, 5, 2, bias=bias, dtype=dtype)
    assert repr(ours) == repr(theirs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    x1, x2 = rng.standard_normal((*lead, 3)).astype(dtype), rng.standard_normal((*lead, 5))
    x2 = x2.astype(dtype)
    a1, a2 = (cr.tensor(x, dtype=dtype, requires_grad=True) for x in (x1, x2))
    b1, b2 = (torch.tensor(x, requires_grad=True) for x in (x1, x2))
    out, ref = ours(a1, a2), theirs(b1, b2)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tolerance)
    direction = rng.standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(direction, dtype=dtype))
    ref.backward(torch.tensor(direction))
    np.testing.assert_allclose(a1.grad.numpy(), b1.grad.numpy(), **tolerance)
    np.testing.assert_allclose(a2.grad.numpy(), b2.grad.numpy(), **tolerance)
    params = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad.numpy(), params[key].grad.numpy(), **tolerance)


def test_bilinear_init_gradcheck_and_errors(rng: np.random.Generator) -> None:
    layer = nn.Bilinear(4, 3, 200)
    bound = 1 / math.sqrt(4)  # U(±1/√in1_features), as PyTorch's
    assert layer.weight.shape == (200, 4, 3) and layer.weight.dtype == np.float32
    for param in (layer.weight, layer.bias):
        values = param.numpy()
        assert values.min() >= -bound and values.max() <= bound and values.std() > 0.25
    small = nn.Bilinear(2, 3, 2)
    result = cr.gradcheck(small, [rng.standard_normal((4, 2)), rng.standard_normal((4, 3))])
    assert result.passed, str(result)
    with pytest.raises(ShapeError, match=r"Bilinear\(2, 3 -> 2\) expects inputs \(\*, 2\)"):
        small(cr.tensor(np.ones((4, 2))), cr.tensor(np.ones((4, 2))))
    with pytest.raises(ShapeError, match="same leading dims"):
        small(cr.tensor(np.ones((4, 2))), cr.tensor(np.ones((5, 3))))
