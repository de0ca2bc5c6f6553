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


# --------------------------------------------------------------- backward hooks, against torch


def _two_input(lib: Any) -> Any:
    class Mix(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = lib.nn.Linear(3, 2)

        def forward(self, a: Any, b: Any, scale: float) -> Any:
            return self.linear(a) * b * scale

    return Mix()


def _two_output(lib: Any) -> Any:
    class Pair(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = lib.nn.Linear(3, 2)

        def forward(self, a: Any) -> Any:
            return self.linear(a), a.sum(1)

    return Pair()


def _hook_run(lib: Any, kind: str, x_grad: bool = True) -> tuple[list[Any], dict[str, Any]]:
    """A model with backward hooks that log (and change) what they see; the log and the
    gradients after one backward."""
    log: list[Any] = []

    def arrays(grads: Any) -> list[Any]:
        return [None if g is None else g.detach().numpy().copy() for g in grads]

    def pre(name: str) -> Any:
        def hook(module: Any, grad_output: Any) -> Any:
            log.append((name, "pre", arrays(grad_output)))
            return tuple(None if g is None else g * 3 for g in grad_output)

        return hook

    def full(name: str, double: bool) -> Any:
        def hook(module: Any, grad_input: Any, grad_output: Any) -> Any:
            log.append((name, "full", arrays(grad_input), arrays(grad_output)))
            if double:
                return tuple(None if g is None else g * 2 for g in grad_input)
            return None

        return hook

    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=x_grad)
    if kind == "sequential":
        model = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        _load(model, lib)
        model.register_full_backward_pre_hook(pre("seq"))
        model.register_full_backward_hook(full("seq", False))
        model[0].register_full_backward_hook(full("0", True))
        model[2].register_full_backward_pre_hook(pre("2"))
        model[2].register_full_backward_hook(full("2", True))
        model[2].register_full_backward_hook(full("2b", False), prepend=True)
        out = model(x)
        inputs = {"x": x}
    elif kind == "two":
        model = _two_input(lib)
        _load(model, lib)
        b = lib.tensor(rng.standard_normal((4, 2)).astype(np.float32), requires_grad=True)
        model.register_full_backward_pre_hook(pre("mix"))
        model.register_full_backward_hook(full("mix", True))
        out = model(x, b, 0.5)
        inputs = {"x": x, "b": b}
    elif kind == "tuple":  # two outputs, one of which gets no gradient (None, as PyTorch's)
        model = _two_output(lib)
        _load(model, lib)
        model.register_full_backward_pre_hook(pre("pair"))
        model.register_full_backward_hook(full("pair", True))
        out, _ = model(x)
        inputs = {"x": x}
    else:
        model = lib.nn.Linear(3, 2)
        _load(model, lib)
        # chainrule's deprecated register_backward_hook is the full hook
        register = model.register_backward_hook if lib is cr else model.register_full_backward_hook
        register(full("lin", True))
        out = model(x)
        inputs = {"x": x}
    (out * out).sum().backward()
    grads = {k: v.grad.numpy().copy() for k, v in inputs.items() if v.grad is not None}
    grads.update({k: p.grad.numpy().copy() for k, p in model.named_parameters()})
    return log, grads


_weights: dict[str, Any] = {}


def _load(model: Any, lib: Any) -> None:
    """Give the twin models the same numbers (torch's, drawn once per architecture)."""
    key = repr(model)
    if lib.__name__ == "torch":
        _weights[key] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    else:
        model.load_state_dict(_weights[key])


def _same_log(theirs: list[Any], mine: list[Any]) -> None:
    assert [entry[:2] for entry in mine] == [entry[:2] for entry in theirs]
    for t_entry, m_entry in zip(theirs, mine, strict=True):
        for t_grads, m_grads in zip(t_entry[2:], m_entry[2:], strict=True):
            assert len(t_grads) == len(m_grads)
            for t, m in zip(t_grads, m_grads, strict=True):
                assert (t is None) == (m is None)
                if t is not None:
                    np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kind", "x_grad"),
    [
        ("linear", True),
        ("sequential", True),
        ("two", True),
        ("tuple", True),
        ("linear", False),
        ("two", False),
    ],
)
def test_backward_hooks_match_torch(kind: str, x_grad: bool) -> None:
    torch = pytest.importorskip("torch")
    t_log, t_grads = _hook_run(torch, kind, x_grad)
    m_log, m_grads = _hook_run(cr, kind, x_grad)
    assert t_log  # the hooks ran
    _same_log(t_log, m_log)
    assert m_grads.keys() == t_grads.keys()
    for key in t_grads:
        np.testing.assert_allclose(m_grads[key], t_grads[key], rtol=1e-5, atol=1e-6)


def test_backward_hooks_are_removed_and_skipped_without_grad() -> None:
    layer = nn.Linear(3, 2)
    calls: list[str] = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: calls.append("full"))
    x = cr.ones(2, 3, requires_grad=True)
    with cr.no_grad():
        layer(x)
    layer(x).sum().backward()
    assert calls == ["full"]
    handle.remove()
    layer(x).sum().backward()
    assert calls == ["full"]
    assert not layer._backward_hooks


def test_backward_hook_of_wrong_length_is_refused() -> None:
    layer = nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input"):
        layer(cr.ones(2, 3, requires_grad=True)).sum().backward()


def _kwargs_hooks_run(lib: Any) -> tuple[list[Any], list[float]]:
    log: list[Any] = []

    class Scale(lib.nn.Module):
        def forward(self, x: Any, factor: float = 1.0) -> Any:
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args: log.append("pre1"))
    m.register_forward_pre_hook(lambda mod, args: log.append("pre0"), prepend=True)
    m.register_forward_pre_hook(
        lambda mod, args, kwargs: (args, {**kwargs, "factor": 10.0}), with_kwargs=True
    )
    m.register_forward_hook(lambda mod, args, out: log.append("post1"))
    m.register_forward_hook(
        lambda mod, args, kwargs, out: log.append(("post0", kwargs["factor"])),
        prepend=True,
        with_kwargs=True,
        always_call=True,
    )
    out = m(lib.ones(2), factor=2.0)
    return log, out.tolist()


def test_forward_hooks_prepend_and_with_kwargs() -> None:
    torch = pytest.importorskip("torch")
    expected = (["pre0", "pre1", ("post0", 10.0), "post1"], [10.0, 10.0])
    assert _kwargs_hooks_run(cr) == _kwargs_hooks_run(torch) == expected
