"""Parametrizations (nn.utils.parametrize), weight and spectral norm (both APIs), checked side
by side with PyTorch: state_dict keys and values, outputs and every gradient."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import parametrizations, parametrize


def _input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _twin(
    torch: Any, make: Any, wrap_torch: Any, wrap_mine: Any, x: np.ndarray, train: bool = True
) -> tuple[Any, Any]:
    """Wrap torch's module and chainrule's, load torch's state_dict into chainrule's, and
    compare keys, outputs and gradients over two forward/backward passes (the power iteration
    of spectral norm moves its buffers at each training forward)."""
    torch.manual_seed(0)
    theirs, mine = make(torch), make(cr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        wrap_torch(theirs)
    wrap_mine(mine)
    theirs.train(train)
    mine.train(train)
    state = theirs.state_dict()
    assert list(mine.state_dict()) == list(state)
    mine.load_state_dict({k: v.detach().numpy() for k, v in state.items()})
    xt = torch.tensor(x, requires_grad=True)
    xm = cr.tensor(x, requires_grad=True)
    for _ in range(2):
        yt, ym = theirs(xt), mine(xm)
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
        (yt * yt).sum().backward()
        (ym * ym).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    mine_params = dict(mine.named_parameters())
    assert list(mine_params) == [k for k, _ in theirs.named_parameters()]
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine_params[key].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5
        )
    mine_state = mine.state_dict()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(mine_state[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    return theirs, mine


def _linear(lib: Any) -> Any:
    return lib.nn.Linear(5, 3)


def _conv(lib: Any) -> Any:
    return lib.nn.Conv2d(2, 3, 3)


@pytest.mark.parametrize(("make", "shape"), [(_linear, (4, 5)), (_conv, (2, 2, 5, 5))])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(make: Any, shape: Any, dim: Any) -> None:
    torch = pytest.importorskip("torch")
    theirs, mine = _twin(
        torch,
        make,
        lambda m: torch.nn.utils.parametrizations.weight_norm(m, dim=dim),
        lambda m: parametrizations.weight_norm(m, dim=dim),
        _input(shape),
    )
    assert "parametrizations.weight.original0" in mine.state_dict()
    assert repr(mine) == repr(theirs)
    assert (
        type(mine).__name__
        == type(theirs).__name__
        == f"Parametrized{type(theirs).__base__.__name__}"
    )


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize(("make", "shape"), [(_linear, (4, 5)), (_conv, (2, 2, 5, 5))])
def test_spectral_norm_matches_torch(make: Any, shape: Any, train: bool) -> None:
    torch = pytest.importorskip("torch")
    theirs, mine = _twin(
        torch,
        make,
        torch.nn.utils.parametrizations.spectral_norm,
        parametrizations.spectral_norm,
        _input(shape),
        train,
    )
    assert repr(mine) == repr(theirs)


def test_spectral_norm_of_conv_transpose_uses_dim_1() -> None:
    torch = pytest.importorskip("torch")
    _, mine = _twin(
        torch,
        lambda lib: lib.nn.ConvTranspose2d(2, 3, 2),
        torch.nn.utils.parametrizations.spectral_norm,
        parametrizations.spectral_norm,
        _input((1, 2, 3, 3)),
    )
    assert mine.parametrizations.weight[0].dim == 1


def test_spectral_norm_divides_by_the_largest_singular_value() -> None:
    layer = parametrizations.spectral_norm(nn.Linear(6, 4))
    layer.eval()
    sigma = np.linalg.svd(layer.parametrizations.weight.original.numpy(), compute_uv=False)[0]
    np.testing.assert_allclose(
        layer.weight.numpy(), layer.parametrizations.weight.original.numpy() / sigma, rtol=1e-4
    )


@pytest.mark.parametrize("dim", [0, None])
def test_old_weight_norm_matches_torch_and_removes(dim: Any) -> None:
    torch = pytest.importorskip("torch")
    theirs, mine = _twin(
        torch,
        _conv,
        lambda m: torch.nn.utils.weight_norm(m, dim=dim),
        lambda m: nn.utils.weight_norm(m, dim=dim),
        _input((2, 2, 5, 5)),
    )
    assert list(mine.state_dict()) == ["bias", "weight_g", "weight_v"]
    torch.nn.utils.remove_weight_norm(theirs)
    nn.utils.remove_weight_norm(mine)
    assert list(mine.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5)
    assert not mine._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(mine)


@pytest.mark.parametrize("train", [True, False])
def test_old_spectral_norm_matches_torch_and_removes(train: bool) -> None:
    torch = pytest.importorskip("torch")
    theirs, mine = _twin(
        torch,
        _linear,
        torch.nn.utils.spectral_norm,
        nn.utils.spectral_norm,
        _input((4, 5)),
        train,
    )
    assert list(mine.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    torch.nn.utils.remove_spectral_norm(theirs)
    nn.utils.remove_spectral_norm(mine)
    assert list(mine.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2)))


class _Symmetric:
    """X ↦ triu(X) + triu(X, 1)ᵀ, with a right inverse (the upper triangle)."""

    @staticmethod
    def build(lib: Any) -> Any:
        class Symmetric(lib.nn.Module):
            def forward(self, x: Any) -> Any:
                return x.triu() + x.triu(1).transpose(-1, -2)

            def right_inverse(self, a: Any) -> Any:
                return a.triu()

        return Symmetric()


def _scale(lib: Any) -> Any:
    class Scale(lib.nn.Module):
        def forward(self, x: Any) -> Any:
            return x * 2

        def right_inverse(self, x: Any) -> Any:
            return x / 2

    return Scale()


def _split(lib: Any) -> Any:
    class Split(lib.nn.Module):
        """W = A + B, with right_inverse returning (W, 0): two originals."""

        def forward(self, a: Any, b: Any) -> Any:
            return a + b

        def right_inverse(self, w: Any) -> Any:
            return w, lib.zeros_like(w)

    return Split()


def test_register_parametrization_matches_torch() -> None:
    torch = pytest.importorskip("torch")

    def wrap(lib: Any) -> Any:
        def go(m: Any) -> None:
            lib.nn.utils.parametrize.register_parametrization(m, "weight", _Symmetric.build(lib))
            lib.nn.utils.parametrize.register_parametrization(m, "weight", _scale(lib))

        return go

    theirs, mine = _twin(
        torch, lambda lib: lib.nn.Linear(4, 4), wrap(torch), wrap(cr), _input((3, 4))
    )
    assert parametrize.is_parametrized(mine) and parametrize.is_parametrized(mine, "weight")
    assert not parametrize.is_parametrized(mine, "bias")
    assert parametrize.type_before_parametrizations(mine) is nn.Linear
    assert repr(mine) == repr(theirs)
    w = mine.weight.numpy()
    np.testing.assert_allclose(w, w.T)
    # assigning goes through the right inverses (the chain backwards)
    value = np.arange(16, dtype=np.float32).reshape(4, 4)
    with torch.no_grad():
        theirs.weight = torch.tensor(value)
    mine.weight = cr.tensor(value)
    np.testing.assert_allclose(
        mine.parametrizations.weight.original.numpy(),
        theirs.parametrizations.weight.original.detach().numpy(),
    )
    original = mine.parametrizations.weight.original
    for lib, m in ((torch, theirs), (cr, mine)):
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert type(mine) is nn.Linear and "parametrizations" not in mine._modules
    assert list(mine.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    assert mine.weight is original  # the same Parameter object, holding the parametrized value
    np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy())


def test_right_inverse_with_two_originals_matches_torch() -> None:
    torch = pytest.importorskip("torch")

    def wrap(lib: Any) -> Any:
        return lambda m: lib.nn.utils.parametrize.register_parametrization(m, "weight", _split(lib))

    theirs, mine = _twin(torch, _linear, wrap(torch), wrap(cr), _input((4, 5)))
    assert list(mine.state_dict()) == [
        "bias",
        "parametrizations.weight.original0",
        "parametrizations.weight.original1",
    ]
    with pytest.raises(ValueError, match="leave_parametrized"):
        parametrize.remove_parametrizations(mine, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(mine, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert isinstance(mine.weight, nn.Parameter)
    np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6)


def test_remove_parametrizations_can_restore_the_original() -> None:
    class Double(nn.Module):  # no right_inverse: the original keeps the weight's values
        def forward(self, x: Any) -> Any:
            return x * 2

    layer = nn.Linear(4, 4)
    before = layer.weight.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Double())
    np.testing.assert_allclose(layer.weight.numpy(), 2 * before)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    np.testing.assert_allclose(layer.weight.numpy(), before)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(layer, "weight")
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(layer, "nothing", _scale(cr))


def test_cached_computes_each_parametrized_tensor_once() -> None:
    calls = []

    class Counted(nn.Module):
        def forward(self, x: Any) -> Any:
            calls.append(1)
            return x * 2

    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Counted())
    calls.clear()
    with parametrize.cached():
        first = layer.weight
        assert layer.weight is first
    assert len(calls) == 1
    assert layer.weight is not first
    assert len(calls) == 2


def test_a_parametrization_may_not_change_the_shape_unless_unsafe() -> None:
    class Rows(nn.Module):
        def forward(self, x: Any) -> Any:
            return x[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(3, 3), "weight", Rows())
    layer = parametrize.register_parametrization(nn.Linear(3, 3), "weight", Rows(), unsafe=True)
    assert layer.weight.shape == (1, 3)


def test_gradcheck_through_parametrized_weights() -> None:
    x = np.random.default_rng(2).standard_normal((3, 4))
    for layer in (
        parametrizations.weight_norm(nn.Linear(4, 2)),
        parametrizations.spectral_norm(nn.Linear(4, 3)).eval(),
        parametrize.register_parametrization(nn.Linear(4, 4), "weight", _Symmetric.build(cr)),
    ):
        result = cr.gradcheck(layer, [x])
        assert result, result


def test_parametrized_module_deepcopies() -> None:
    layer = parametrizations.weight_norm(nn.Linear(3, 2))
    twin = copy.deepcopy(layer)
    x = cr.ones(1, 3)
    np.testing.assert_allclose(twin(x).numpy(), layer(x).numpy())
    assert twin.parametrizations.weight.original0 is not layer.parametrizations.weight.original0


def test_weight_norm_loads_a_state_dict_of_the_hook_based_weight_norm() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = torch.nn.utils.weight_norm(torch.nn.Linear(5, 3))
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(5, 3)))
    state = {f"0.{k}": v.detach().numpy() for k, v in theirs.state_dict().items()}
    keys = list(state)
    model.load_state_dict(state)
    assert list(state) == keys  # the caller's dict is left as it was
    x = _input((2, 5))
    np.testing.assert_allclose(
        model(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("out_features", "in_features", "orthogonal_map"),
    [(4, 4, None), (3, 5, None), (5, 3, None), (5, 3, "matrix_exp"), (4, 4, "householder")],
)
def test_orthogonal_matches_torch(out_features: int, in_features: int, orthogonal_map: Any) -> None:
    torch = pytest.importorskip("torch")

    def make(lib: Any) -> Any:
        return lib.nn.Linear(in_features, out_features)

    def move(m: Any) -> None:
        # torch's orthogonal starts at original = -I; move off it (not on the diagonal, which
        # holds the Householder signs) so that the map is exercised
        torch.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map)
        with torch.no_grad():
            o = m.parametrizations.weight.original
            o.add_(0.3 * torch.randn_like(o) * (1 - torch.eye(*o.shape)))

    theirs, mine = _twin(
        torch,
        make,
        move,
        lambda m: parametrizations.orthogonal(m, orthogonal_map=orthogonal_map),
        _input((2, in_features)),
    )
    assert list(mine.state_dict()) == [
        "bias",
        "parametrizations.weight.original",
        "parametrizations.weight.0.base",
    ]
    assert repr(mine) == repr(theirs)
    w = mine.weight.numpy()
    gram = w @ w.T if out_features <= in_features else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(w.shape)), atol=1e-5)


def test_assigning_an_orthogonal_weight_keeps_it() -> None:
    layer = parametrizations.orthogonal(nn.Linear(3, 3))
    q, _ = np.linalg.qr(np.random.default_rng(4).standard_normal((3, 3)).astype(np.float32))
    layer.weight = cr.tensor(q)
    np.testing.assert_allclose(layer.weight.numpy(), q, atol=1e-6)
    with pytest.raises(NotImplementedError, match="cayley"):
        parametrizations.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley")


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "householder"])
def test_gradcheck_through_orthogonal(orthogonal_map: str) -> None:
    layer = parametrizations.orthogonal(nn.Linear(3, 4), orthogonal_map=orthogonal_map)
    with cr.no_grad():
        o = layer.parametrizations.weight.original
        o.array[...] += 0.3 * np.tril(np.random.default_rng(6).standard_normal(o.shape), -1)
        # the Householder map truncates the diagonal to its sign (±1, no gradient): keep the
        # finite differences off the jump at -1
        np.fill_diagonal(o.array, -1.5)
    result = cr.gradcheck(layer, [np.random.default_rng(2).standard_normal((2, 3))])
    assert result, result
