"""Every optimiser and option against torch.optim, step for step; param groups; state_dict
round trips (our own and torch's); closures; the state keyed by parameter."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError, ShapeError

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3)]
STEPS = 25
CASES: list[tuple[str, dict[str, Any]]] = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, betas=(0.5, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.99), amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, maximize=True, eps=1e-4)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, weight_decay=0.1)),
    ("Adadelta", dict(eps=1e-4, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def param(value: np.ndarray) -> nn.Parameter:
    """A Parameter holding ``value`` in its own dtype (chainrule makes float64 data float32
    unless float64 is the default)."""
    previous = cr.get_default_dtype()
    cr.set_default_dtype(value.dtype)
    try:
        return nn.Parameter(value.copy())
    finally:
        cr.set_default_dtype(previous)


def start_values(dtype: Any) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def gradient(i: int, w: np.ndarray, step: int) -> np.ndarray:
    """A gradient that depends on the current weights (so a wrong step changes later ones)."""
    rng = np.random.default_rng(100 * step + i)
    noise = rng.standard_normal(w.shape).astype(w.dtype)
    return (w - 0.5) * w.dtype.type(0.7) + noise * w.dtype.type(0.3)


def run_ours(
    make: Callable[[list[Any]], Any], values: list[np.ndarray], steps: int
) -> tuple[list[Any], Any, list[list[np.ndarray]]]:
    params = [param(v) for v in values]
    opt = make(params)
    history = [steps_of(opt, params, step, ours=True) for step in range(steps)]
    return params, opt, history


def run_torch(
    make: Callable[[list[Any]], Any], values: list[np.ndarray], steps: int
) -> tuple[list[Any], Any, list[list[np.ndarray]]]:
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    opt = make(params)
    history = [steps_of(opt, params, step, ours=False) for step in range(steps)]
    return params, opt, history


def steps_of(opt: Any, params: list[Any], step: int, ours: bool) -> list[np.ndarray]:
    for i, p in enumerate(params):
        w = p.numpy() if ours else p.detach().numpy()
        g = gradient(i, w, step)
        p.grad = g if ours else torch.from_numpy(g)
    opt.step()
    return [(p.numpy() if ours else p.detach().numpy()).copy() for p in params]


def assert_same_history(ours: list[list[np.ndarray]], theirs: list[list[np.ndarray]]) -> None:
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x.dtype == y.dtype, (step, i)
            np.testing.assert_allclose(x, y, **TOL[x.dtype.type], err_msg=f"step {step} param {i}")


def to_numpy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().numpy().copy()
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_numpy(v) for v in obj]
    return obj


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_matches_torch_step_for_step(name: str, kwargs: dict[str, Any], dtype: Any) -> None:
    values = start_values(dtype)
    params, opt, ours = run_ours(lambda p: getattr(optim, name)(p, **kwargs), values, STEPS)
    _, topt, theirs = run_torch(lambda p: getattr(torch.optim, name)(p, **kwargs), values, STEPS)
    assert_same_history(ours, theirs)
    # The same state names and group keys, the state keyed by the parameter tensor.
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert ours_sd["param_groups"][0].keys() == theirs_sd["param_groups"][0].keys()
    assert ours_sd["state"].keys() == theirs_sd["state"].keys()
    for key, entry in theirs_sd["state"].items():
        assert ours_sd["state"][key].keys() == entry.keys()
        for buffer, value in entry.items():
            if buffer == "step":
                assert ours_sd["state"][key]["step"] == float(value)
            else:
                got = opt.state[params[key]][buffer]
                assert isinstance(got, cr.Tensor) and got.dtype == dtype
                np.testing.assert_allclose(got.numpy(), value.numpy(), **TOL[dtype])
    for p in params:
        assert p.dtype == dtype


@pytest.mark.parametrize(("name", "kwargs"), CASES[::3], ids=IDS[::3])
def test_param_groups_with_their_own_hyperparameters(name: str, kwargs: dict[str, Any]) -> None:
    values = start_values(np.float64)
    base = dict(kwargs, lr=kwargs.get("lr", 0.01) * 0.5)

    def groups(p: list[Any]) -> list[dict[str, Any]]:
        return [{"params": p[:1]}, {"params": p[1:], "lr": 0.03, "weight_decay": 0.05}]

    _, opt, ours = run_ours(lambda p: getattr(optim, name)(groups(p), **base), values, 20)
    _, _, theirs = run_torch(lambda p: getattr(torch.optim, name)(groups(p), **base), values, 20)
    assert_same_history(ours, theirs)
    assert [g["lr"] for g in opt.param_groups] == [base["lr"], 0.03]
    assert opt.state_dict()["param_groups"][1]["params"] == [1, 2]


def test_add_param_group_later() -> None:
    values = start_values(np.float64)

    def run(library: Any, make: Callable[[Any], Any]) -> list[np.ndarray]:
        params = [make(v.copy()) for v in values]
        opt = library.optim.Adam(params[:2], lr=0.01)
        out = []
        for step in range(12):
            if step == 4:
                opt.add_param_group({"params": params[2], "lr": 0.1, "amsgrad": True})
            out = steps_of(opt, params if step >= 4 else params[:2], step, library is cr)
        return out

    ours = run(cr, param)
    theirs = run(torch, lambda v: torch.nn.Parameter(torch.from_numpy(v)))
    assert_same_history([ours], [theirs])


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_state_dict_round_trip_resumes_identically(name: str, kwargs: dict[str, Any]) -> None:
    values = start_values(np.float32)

    def make(p: list[Any]) -> Any:
        return getattr(optim, name)([{"params": p[:2]}, {"params": p[2:], "lr": 0.02}], **kwargs)

    params, opt, _ = run_ours(make, values, 5)
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    resumed = [param(p.numpy()) for p in params]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    for step in range(5, 20):
        a = steps_of(opt, params, step, ours=True)
        b = steps_of(fresh, resumed, step, ours=True)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    # The saved state holds copies: it did not move with the live state.
    for key, entry in snapshot["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(saved["state"][key][name], value)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_loads_torch_state_dict(name: str, kwargs: dict[str, Any]) -> None:
    values = start_values(np.float64)
    tparams, topt, _ = run_torch(lambda p: getattr(torch.optim, name)(p, **kwargs), values, 5)
    params = [param(p.detach().numpy()) for p in tparams]
    opt = getattr(optim, name)(params, **kwargs)
    opt.load_state_dict(to_numpy(topt.state_dict()))
    ours = [steps_of(opt, params, step, ours=True) for step in range(5, 20)]
    theirs = [steps_of(topt, tparams, step, ours=False) for step in range(5, 20)]
    assert_same_history(ours, theirs)


def test_state_dict_layout_is_torchs() -> None:
    p = nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(2, np.float32)
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert list(sd["state"]) == [0] and list(sd["state"][0]) == ["momentum_buffer"]
    assert isinstance(sd["state"][0]["momentum_buffer"], np.ndarray)
    assert sd["param_groups"][0]["params"] == [0]
    assert list(sd["param_groups"][0])[-1] == "params"


def test_state_dict_from_json_checkpoint_loads() -> None:
    """A checkpoint stores the state_dict as JSON plus arrays: keys become strings, tuples lists."""
    values = start_values(np.float32)
    params, opt, _ = run_ours(lambda p: optim.Adam(p, lr=0.01), values, 3)
    saved = opt.state_dict()
    saved = {
        "state": {str(k): v for k, v in saved["state"].items()},
        "param_groups": [dict(g, betas=list(g["betas"])) for g in saved["param_groups"]],
    }
    fresh = optim.Adam([param(p.numpy()) for p in params], lr=0.01)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999)
    assert fresh.state[fresh.param_groups[0]["params"][0]]["step"] == 3.0


def test_load_state_dict_checks_sizes_and_shapes() -> None:
    a, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    with pytest.raises(ConfigError, match="parameter group 0 has 1 parameters"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]})
    with pytest.raises(ConfigError, match="2 parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]})
    bad = {
        "state": {1: {"momentum_buffer": np.ones(2, np.float32)}},
        "param_groups": [{"params": [0, 1]}],
    }
    with pytest.raises(ShapeError, match=r"'momentum_buffer' has shape \(2,\), its parameter"):
        opt.load_state_dict(bad)


def test_closure_is_evaluated_with_grad_and_returned() -> None:
    w = nn.Parameter(np.array([1.0, -2.0], dtype=np.float32))
    opt = optim.SGD([w], lr=0.1)
    calls = []

    def closure() -> Any:
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(float(loss))
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert calls == [5.0] and float(loss) == 5.0
    np.testing.assert_allclose(w.numpy(), [0.8, -1.6], rtol=1e-6)
    assert opt.step() is None


def test_zero_grad_set_to_none_or_zeros() -> None:
    w = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.ones(2, dtype=np.float32)
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.numpy().tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES}))
def test_updates_in_place_float32_and_skip_params_without_grad(name: str) -> None:
    w = nn.Parameter(np.ones(3, dtype=np.float32))
    frozen = nn.Parameter(np.ones(3, dtype=np.float32))
    buffer = w.numpy()
    opt = getattr(optim, name)([w, frozen])
    (w * 2).sum().backward()
    opt.step()
    assert w.numpy() is buffer and w.numpy().dtype == np.float32
    assert not np.array_equal(w.numpy(), np.ones(3))
    assert frozen.numpy().tolist() == [1.0, 1.0, 1.0]
    assert frozen not in opt.state or name == "Adagrad"  # Adagrad's state exists from the start


def test_a_step_invalidates_graphs_that_saved_the_old_weights() -> None:
    w = nn.Parameter(np.ones(2, dtype=np.float32))
    loss = (w * w).sum()
    opt = optim.Adam([w], lr=0.1)
    w.grad = np.ones(2, dtype=np.float32)
    opt.step()
    with pytest.raises(cr.errors.TensorError):
        loss.backward()


def test_frozen_parameters_are_accepted_as_in_torch() -> None:
    w = nn.Parameter(np.ones(2, dtype=np.float32))
    w.requires_grad = False
    opt = optim.SGD([w], lr=0.1)
    opt.step()
    assert w.numpy().tolist() == [1.0, 1.0]


def test_named_parameters_give_param_names() -> None:
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_bad_arguments_are_named() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        optim.AdamW([w], lr=-1)
    with pytest.raises(ConfigError, match="betas"):
        optim.Adam([w], betas=(1.5, 0.9))
    with pytest.raises(ConfigError, match="Nesterov momentum requires"):
        optim.SGD([w], momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ConfigError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}])
    with pytest.raises(ConfigError, match="ordered collection"):
        optim.SGD([{"params": {w}}])
    with pytest.raises(ConfigError, match="non-leaf"):
        optim.SGD([w * 2])
    with pytest.raises(ConfigError, match="differentiable"):
        optim.Adam([w], differentiable=True)
    with pytest.raises(ConfigError, match="rho"):
        optim.Adadelta([w], rho=1.5)


def test_repr_is_torchs() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    text = repr(optim.SGD([w], lr=0.1))
    tw = torch.nn.Parameter(torch.ones(1))
    assert text == repr(torch.optim.SGD([tw], lr=0.1))


def test_default_hyperparameters_are_torchs() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    tw = torch.nn.Parameter(torch.ones(1))
    for name in sorted({name for name, _ in CASES}):
        ours = getattr(optim, name)([w]).defaults
        theirs = getattr(torch.optim, name)([tw]).defaults
        assert ours == theirs, name


def test_step_hooks_run_around_the_step_and_can_be_removed() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    opt = optim.SGD([w], lr=0.5)
    seen: list[tuple[str, float]] = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", w.item())))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", w.item())))
    w.grad = np.ones(1, dtype=np.float32)
    opt.step()
    pre.remove()
    opt.step()
    assert seen == [("pre", 1.0), ("post", 0.5), ("post", 0.0)]


def test_custom_optimizer_written_as_for_torch() -> None:
    """A PyTorch-style subclass: its own step() over param_groups, state and p.grad."""

    class SignSGD(optim.Optimizer):
        def __init__(self, params: Any, lr: float = 0.1) -> None:
            super().__init__(params, dict(lr=lr))

        @cr.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.state[p]["count"] = self.state[p].get("count", 0) + 1
                        p.sub_(group["lr"] * p.grad.sign())

    w = nn.Parameter(np.array([1.0, -1.0], dtype=np.float32))
    opt = SignSGD([w])
    w.grad = np.array([2.0, -3.0], dtype=np.float32)
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.9, -0.9], rtol=1e-6)
    assert opt.state[w]["count"] == 1 and opt.state_dict()["state"] == {0: {"count": 1}}


def test_numpy_and_tensor_hyperparameters_are_accepted() -> None:
    w = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = optim.SGD([w], lr=np.float32(0.5), momentum=np.float64(0.5))
    w.grad = np.ones(2, dtype=np.float32)
    opt.step()
    assert w.numpy().tolist() == [0.5, 0.5] and w.dtype == np.float32
    optim.Adam([w], lr=cr.tensor(0.01))
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        optim.Adam([w], lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="eps must be a finite number"):
        optim.Adam([w], eps=float("nan"))
