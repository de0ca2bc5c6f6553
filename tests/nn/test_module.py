"""Module machinery as torch.nn's: containers, registration, buffers, traversal, state_dict,
load_state_dict's report, hooks, recorded configs; checked side by side with PyTorch."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import StateDictError


def build(lib: Any) -> Any:
    """The same user-written model in either library: containers, a buffer, a tied weight."""

    class Block(lib.nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.layers = lib.nn.ModuleList([lib.nn.Linear(width, width) for _ in range(2)])
            self.norms = lib.nn.ModuleDict({"a": lib.nn.LayerNorm(width), "b": lib.nn.Identity()})
            self.register_buffer("scale", lib.ones(width) * 2)
            self.register_buffer("scratch", lib.zeros(3), persistent=False)

        def forward(self, x: Any) -> Any:
            for layer in self.layers:
                x = x + lib.relu(layer(x))
            return self.norms["a"](x) * self.scale

    class Net(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = lib.nn.Linear(3, 4)
            self.blocks = lib.nn.Sequential(
                OrderedDict([("first", Block(4)), ("second", Block(4))])
            )
            self.head = lib.nn.Linear(4, 4, bias=False)
            self.head.weight = self.blocks.first.layers[0].weight  # tied

        def forward(self, x: Any) -> Any:
            return self.head(self.blocks(self.embed(x)))

    return Net()


@pytest.fixture
def twins() -> tuple[Any, Any]:
    torch = pytest.importorskip("torch")
    theirs = build(torch).double()
    mine = build(cr).double()
    mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return mine, theirs


def test_names_and_traversal_match_pytorch(twins: tuple[Any, Any]) -> None:
    mine, theirs = twins
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in mine.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in mine.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in mine.named_children()] == [n for n, _ in theirs.named_children()]
    assert len(list(mine.parameters())) == len(list(theirs.parameters()))  # tied counted once
    assert "blocks.first.scratch" not in mine.state_dict()  # not persistent


def test_forward_backward_match_pytorch(twins: tuple[Any, Any]) -> None:
    torch = pytest.importorskip("torch")
    mine, theirs = twins
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = mine(cr.from_numpy(x))
    ref = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    ref.sum().backward()
    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, err_msg=name)


def test_state_dict_shares_memory_and_deepcopy_snapshots(twins: tuple[Any, Any]) -> None:
    mine, _ = twins
    state = mine.state_dict()
    snapshot = copy.deepcopy(state)
    state["embed.bias"][...] = 7.0
    assert (mine.embed.bias.numpy() == 7).all()
    assert not (snapshot["embed.bias"].numpy() == 7).any()
    assert not state["embed.bias"].requires_grad
    assert mine.state_dict(keep_vars=True)["embed.bias"] is mine.embed.bias


def test_load_state_dict_reports_missing_and_unexpected(twins: tuple[Any, Any]) -> None:
    mine, _ = twins
    state = mine.state_dict()
    del state["embed.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(StateDictError, match=r"missing key\(s\) 'embed.bias'.*unexpected key"):
        mine.load_state_dict(state)
    result = mine.load_state_dict(state, strict=False)
    assert result.missing_keys == ["embed.bias"] and result.unexpected_keys == ["extra"]
    assert repr(mine.load_state_dict(mine.state_dict())) == "<All keys matched successfully>"


def test_assigning_a_registered_buffer_keeps_it_registered() -> None:
    m = nn.Module()
    m.register_buffer("stat", cr.zeros(2))
    m.stat = cr.ones(3)
    assert list(m.state_dict()) == ["stat"] and m.state_dict()["stat"].shape == (3,)
    m.register_buffer("hidden", cr.zeros(1), persistent=False)
    m.hidden = cr.ones(1)
    assert "hidden" not in m.state_dict() and m.hidden.item() == 1.0
    m.also = nn.Buffer(cr.ones(2))
    assert "also" in m.state_dict()


def test_registration_errors_name_the_problem() -> None:
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        m.weight = cr.zeros(2, 2)
    with pytest.raises(KeyError, match=r"without '\.'"):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("forward", cr.zeros(1))

    class Early(nn.Module):
        def __init__(self) -> None:
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Early()


def test_apply_train_eval_requires_grad_and_zero_grad() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1))
    seen: list[str] = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Dropout", "Linear", "Sequential"]  # children first, as PyTorch
    model.eval()
    assert not any(m.training for m in model.modules())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_(True)
    model(cr.ones(4, 2)).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_containers_behave_as_lists_and_dicts() -> None:
    layers = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    layers.append(nn.Tanh())
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "ReLU", "Tanh"]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    del layers[0]
    assert type(layers[0]).__name__ == "Linear" and len(layers[1:]) == 2
    d = nn.ModuleDict({"x": nn.ReLU()})
    d["y"] = nn.Tanh()
    assert list(d.keys()) == ["x", "y"] and "y" in d and len(d) == 2
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert len(seq[:2]) == 2 and isinstance(seq[-1], nn.Linear)
    params = nn.ParameterList([nn.Parameter(cr.ones(2)), cr.zeros(3)])
    assert [p.shape for p in params] == [(2,), (3,)] and all(p.requires_grad for p in params)


def test_forward_hooks_can_replace_inputs_and_outputs() -> None:
    layer = nn.Identity()
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = layer.register_forward_hook(lambda m, args, out: out + 1)
    assert layer(cr.tensor(3.0)).item() == 7.0
    pre.remove()
    post.remove()
    assert layer(cr.tensor(3.0)).item() == 3.0


def test_layers_record_their_config_once() -> None:
    layer = nn.Linear(3, 2, bias=False)
    assert layer.config() == {"in_features": 3, "out_features": 2, "bias": False}
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    rebuilt = type(layer)(**layer.config())
    assert rebuilt.weight.shape == (2, 3) and rebuilt.bias is None
    assert "bias" not in dict(rebuilt.named_parameters())


def test_to_double_casts_parameters_and_float_buffers_only() -> None:
    bn = nn.BatchNorm1d(3)
    bn.double()
    assert bn.weight.dtype == np.float64 and bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64


def test_batch_norm_state_dict_loads_from_pytorch() -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(3, momentum=None)
    mine = nn.BatchNorm2d(3, momentum=None)
    x = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
    for _ in range(3):
        theirs(torch.tensor(x))
        mine(cr.tensor(x))
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(mine.state_dict()[key].numpy(), value.numpy(), rtol=1e-6)
    assert list(mine.state_dict()) == list(theirs.state_dict())


def test_module_list_repr_folds_repeated_children_as_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):
        layers = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.ReLU()])
        text = repr(layers)
        if lib is torch:
            expected = text
    assert text == expected and "(0-2): 3 x Linear" in text


@pytest.mark.parametrize("kwargs", [{"bias": False}, {"affine": False}, {"momentum": None}])
def test_batch_norm_options_match_pytorch_and_save(kwargs: dict[str, Any], tmp_path: Any) -> None:
    torch = pytest.importorskip("torch")
    theirs, mine = torch.nn.BatchNorm1d(3, **kwargs).double(), nn.BatchNorm1d(3, **kwargs).double()
    assert repr(mine) == repr(theirs) and list(mine.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(2).standard_normal((5, 3))
    out, ref = mine(cr.from_numpy(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    cr.save(mine, tmp_path / "bn.npz")
    assert repr(cr.load(tmp_path / "bn.npz")) == repr(mine)
