"""Adamax, NAdam, RAdam, Rprop, ASGD and LBFGS against torch.optim, step for step; their state
names, group keys and defaults; state_dict round trips (our own and torch's)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3)]
STEPS = 25
CASES: list[tuple[str, dict[str, Any]]] = [
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, momentum_decay=0.05, betas=(0.8, 0.95))),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.9))),  # ρₜ passes 5 early: both branches run
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.8), weight_decay=0.1, eps=1e-4)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.8), weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.7), maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.01, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5)),  # averaging starts mid-run
    ("ASGD", dict(lr=0.05, t0=0, weight_decay=0.1, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, kw in CASES]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}
SCALAR_STATE = {"step", "mu_product", "eta", "mu"}


def param(value: np.ndarray) -> nn.Parameter:
    """A Parameter holding ``value`` in its own dtype."""
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


def steps_of(opt: Any, params: list[Any], step: int, ours: bool) -> list[np.ndarray]:
    for i, p in enumerate(params):
        w = p.numpy() if ours else p.detach().numpy()
        g = gradient(i, w, step)
        p.grad = g if ours else torch.from_numpy(g)
    opt.step()
    return [(p.numpy() if ours else p.detach().numpy()).copy() for p in params]


def run(
    library: Any, make: Callable[[list[Any]], Any], values: list[np.ndarray], steps: int
) -> tuple[list[Any], Any, list[list[np.ndarray]]]:
    ours = library is cr
    if ours:
        params = [param(v) for v in values]
    else:
        params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    opt = make(params)
    return params, opt, [steps_of(opt, params, step, ours) for step in range(steps)]


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
    params, opt, ours = run(cr, lambda p: getattr(optim, name)(p, **kwargs), values, STEPS)
    _, topt, theirs = run(torch, lambda p: getattr(torch.optim, name)(p, **kwargs), values, STEPS)
    assert_same_history(ours, theirs)
    ours_sd, theirs_sd = opt.state_dict(), topt.state_dict()
    assert ours_sd["param_groups"][0].keys() == theirs_sd["param_groups"][0].keys()
    assert ours_sd["state"].keys() == theirs_sd["state"].keys()
    for key, entry in theirs_sd["state"].items():
        assert list(ours_sd["state"][key]) == list(entry)
        for buffer, value in entry.items():
            if buffer in SCALAR_STATE:
                # PyTorch's 0-dim float32 tensors: the same rounding, so the same number.
                assert ours_sd["state"][key][buffer] == float(value), buffer
            else:
                got = opt.state[params[key]][buffer]
                assert isinstance(got, cr.Tensor) and got.dtype == dtype
                np.testing.assert_allclose(got.numpy(), value.numpy(), **TOL[dtype])
    for p in params:
        assert p.dtype == dtype


@pytest.mark.parametrize(("name", "kwargs"), CASES[::2], ids=IDS[::2])
def test_param_groups_with_their_own_hyperparameters(name: str, kwargs: dict[str, Any]) -> None:
    values = start_values(np.float64)
    base = dict(kwargs, lr=kwargs.get("lr", 0.01) * 0.5)

    def groups(p: list[Any]) -> list[dict[str, Any]]:
        return [{"params": p[:1]}, {"params": p[1:], "lr": 0.03, "maximize": True}]

    _, opt, ours = run(cr, lambda p: getattr(optim, name)(groups(p), **base), values, 20)
    _, _, theirs = run(torch, lambda p: getattr(torch.optim, name)(groups(p), **base), values, 20)
    assert_same_history(ours, theirs)
    assert [g["lr"] for g in opt.param_groups] == [base["lr"], 0.03]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_state_dict_round_trip_resumes_identically(name: str, kwargs: dict[str, Any]) -> None:
    values = start_values(np.float32)

    def make(p: list[Any]) -> Any:
        return getattr(optim, name)([{"params": p[:2]}, {"params": p[2:], "lr": 0.02}], **kwargs)

    params, opt, _ = run(cr, make, values, 8)
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    resumed = [param(p.numpy()) for p in params]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    for step in range(8, 25):
        a = steps_of(opt, params, step, ours=True)
        b = steps_of(fresh, resumed, step, ours=True)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    for key, entry in snapshot["state"].items():  # the saved state holds copies
        for buffer, value in entry.items():
            np.testing.assert_array_equal(saved["state"][key][buffer], value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_loads_torch_state_dict(name: str, kwargs: dict[str, Any], dtype: Any) -> None:
    values = start_values(dtype)
    tparams, topt, _ = run(torch, lambda p: getattr(torch.optim, name)(p, **kwargs), values, 8)
    params = [param(p.detach().numpy()) for p in tparams]
    opt = getattr(optim, name)(params, **kwargs)
    opt.load_state_dict(to_numpy(topt.state_dict()))
    ours = [steps_of(opt, params, step, ours=True) for step in range(8, 25)]
    theirs = [steps_of(topt, tparams, step, ours=False) for step in range(8, 25)]
    assert_same_history(ours, theirs)
    assert all(isinstance(v, float) for k, v in opt.state[params[0]].items() if k in SCALAR_STATE)


def test_asgd_averages_the_weights_after_t0() -> None:
    """With t0 = 3, ax is the mean of the weights after step 5 on: μ = 1/max(1, t - t0) is
    computed after step t and used at step t + 1, so steps 1..5 copy the weights."""
    values = start_values(np.float64)
    params = [param(v) for v in values]
    opt = optim.ASGD(params, lr=0.05, lambd=0.0, t0=3)
    history = [steps_of(opt, params, step, ours=True) for step in range(10)]
    mean = np.mean([h[0] for h in history[4:]], axis=0)
    # rtol: μ is rounded to float32, as PyTorch's 0-dim state tensor holds it.
    np.testing.assert_allclose(opt.state[params[0]]["ax"].numpy(), mean, rtol=1e-6)


def test_rprop_uses_only_the_gradients_sign() -> None:
    w = nn.Parameter(np.zeros(2, dtype=np.float32))
    opt = optim.Rprop([w], lr=0.1)
    w.grad = np.array([1e-6, -1e3], dtype=np.float32)
    opt.step()
    np.testing.assert_allclose(w.numpy(), [-0.1, 0.1], rtol=1e-6)
    w.grad = np.array([5.0, 2.0], dtype=np.float32)  # the second element's sign flipped
    opt.step()
    np.testing.assert_allclose(w.numpy(), [-0.22, 0.1], rtol=1e-6)
    np.testing.assert_allclose(opt.state[w]["step_size"].numpy(), [0.12, 0.05], rtol=1e-6)


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
    assert frozen.numpy().tolist() == [1.0, 1.0, 1.0] and frozen not in opt.state


def test_default_hyperparameters_and_repr_are_torchs() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    tw = torch.nn.Parameter(torch.ones(1))
    for name in sorted({name for name, _ in CASES}):
        ours, theirs = getattr(optim, name)([w]), getattr(torch.optim, name)([tw])
        assert ours.defaults == theirs.defaults, name
        assert repr(ours) == repr(theirs), name


def test_bad_arguments_are_named() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    with pytest.raises(ConfigError, match="etas must satisfy"):
        optim.Rprop([w], etas=(0.5, 0.9))
    with pytest.raises(ConfigError, match="momentum_decay"):
        optim.NAdam([w], momentum_decay=-1)
    with pytest.raises(ConfigError, match="betas"):
        optim.RAdam([w], betas=(0.9, 2.0))
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        optim.ASGD([w], lr=-0.1)
    with pytest.raises(ConfigError, match="differentiable"):
        optim.Adamax([w], differentiable=True)


# LBFGS: step(closure) on small objectives, iterate for iterate against torch.optim.LBFGS.

LBFGS_CASES: list[dict[str, Any]] = [
    dict(max_iter=4),
    dict(max_iter=4, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=6, history_size=2),
    dict(max_iter=5, history_size=3, line_search_fn="strong_wolfe", tolerance_change=1e-12),
]
LBFGS_IDS = ["-".join(f"{k}={v}" for k, v in kw.items()) or "defaults" for kw in LBFGS_CASES]


def quadratic_terms(dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """H (16×16, positive definite) and b of ½ zᵀHz - bᵀz, z = (w.ravel(), v)."""
    rng = np.random.default_rng(7)
    m = rng.standard_normal((16, 16))
    return (m @ m.T / 16 + np.eye(16)).astype(dtype), rng.standard_normal(16).astype(dtype)


def quadratic(values: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    w, v = values
    hessian, b = quadratic_terms(w.dtype)
    z = np.concatenate([w.ravel(), v])
    grad = hessian @ z - b
    return float(0.5 * z @ (hessian @ z) - b @ z), [grad[:12].reshape(w.shape), grad[12:]]


def rosenbrock(values: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """Σ 100(xᵢ₊₁ - xᵢ²)² + (1 - xᵢ)²: a curved valley with its minimum at (1, …, 1)."""
    (x,) = values
    gap = x[1:] - x[:-1] ** 2
    grad = np.zeros_like(x)
    grad[:-1] = -400 * x[:-1] * gap - 2 * (1 - x[:-1])
    grad[1:] += 200 * gap
    return float((100 * gap**2 + (1 - x[:-1]) ** 2).sum()), [grad]


def closure_for(opt: Any, params: list[Any], objective: Callable[..., Any]) -> Any:
    """The loss and gradient computed by NumPy for both libraries, so that only the optimisers
    differ (backward itself is checked elsewhere, and rounds differently from torch's)."""
    ours = isinstance(params[0], cr.Tensor)

    def closure() -> float:
        opt.zero_grad()
        loss, grads = objective([p.numpy() if ours else p.detach().numpy() for p in params])
        for p, g in zip(params, grads, strict=True):
            p.grad = g if ours else torch.from_numpy(g)
        return loss

    return closure


def run_lbfgs(
    library: Any,
    kwargs: dict[str, Any],
    values: list[np.ndarray],
    objective: Callable[..., Any],
    calls: int,
) -> tuple[list[Any], Any, list[tuple[float, list[np.ndarray]]]]:
    ours = library is cr
    if ours:
        params = [param(v) for v in values]
    else:
        params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    opt = library.optim.LBFGS(params, **kwargs)
    closure = closure_for(opt, params, objective)
    return params, opt, [lbfgs_call(opt, params, closure, ours) for _ in range(calls)]


def lbfgs_call(opt: Any, params: list[Any], closure: Any, ours: bool) -> tuple[Any, Any]:
    loss = float(opt.step(closure))
    return loss, [(p.numpy() if ours else p.detach().numpy()).copy() for p in params]


def problem(name: str, dtype: Any) -> tuple[Callable[..., Any], list[np.ndarray]]:
    if name == "quadratic":
        rng = np.random.default_rng(1)
        return quadratic, [rng.standard_normal((3, 4)).astype(dtype), np.ones(4, dtype)]
    return rosenbrock, [np.array([-1.2, 1.0, -1.2, 1.0, 0.5, -0.5], dtype)]


def assert_same_lbfgs(ours: list[Any], theirs: list[Any], tol: dict[str, float]) -> None:
    for call, ((loss_a, a), (loss_b, b)) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(loss_a, loss_b, **tol, err_msg=f"loss, step() {call}")
        for x, y in zip(a, b, strict=True):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, **tol, err_msg=f"step() {call}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("objective", ["quadratic", "rosenbrock"])
@pytest.mark.parametrize("kwargs", LBFGS_CASES, ids=LBFGS_IDS)
def test_lbfgs_matches_torch(kwargs: dict[str, Any], objective: str, dtype: Any) -> None:
    function, values = problem(objective, dtype)
    # float32: sums and dot products in another order than torch's differ in the last bit from
    # the first iteration on, and an ill-conditioned problem grows that; so one step(), looser.
    calls = 4 if dtype == np.float64 else 1
    tol = TOL[np.float64] if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    _, opt, ours = run_lbfgs(cr, kwargs, values, function, calls)
    _, topt, theirs = run_lbfgs(torch, kwargs, values, function, calls)
    assert_same_lbfgs(ours, theirs, tol)
    state, tstate = opt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert list(state) == list(tstate)
    assert (state["n_iter"], state["func_evals"]) == (tstate["n_iter"], tstate["func_evals"])
    assert len(state["old_dirs"]) == len(tstate["old_dirs"]) <= kwargs.get("history_size", 100)
    for name in ("d", "prev_flat_grad"):
        assert state[name].dtype == dtype
        np.testing.assert_allclose(state[name], tstate[name].numpy(), **tol)
    for ours_s, theirs_s in zip(state["old_stps"], tstate["old_stps"], strict=True):
        np.testing.assert_allclose(ours_s, theirs_s.numpy(), **tol)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises_a_quadratic_through_backward(line_search_fn: str | None) -> None:
    """The closure in the usual form (zero_grad, forward, backward) reaches the minimiser."""
    hessian, b = quadratic_terms(np.float64)
    x = param(np.zeros(16))
    opt = optim.LBFGS([x], line_search_fn=line_search_fn, tolerance_grad=1e-12, tolerance_change=0)

    def closure() -> Any:
        opt.zero_grad()
        loss = 0.5 * (x @ cr.from_numpy(hessian) @ x) - (x * cr.from_numpy(b)).sum()
        loss.backward()
        return loss

    first = opt.step(closure)
    assert isinstance(first, cr.Tensor) and float(first) == 0.0
    opt.step(closure)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(hessian, b), rtol=1e-6)


@pytest.mark.parametrize("kwargs", LBFGS_CASES[::3], ids=LBFGS_IDS[::3])
def test_lbfgs_state_dict_round_trip_and_torchs_state_dict(kwargs: dict[str, Any]) -> None:
    params, opt, _ = run_lbfgs(cr, kwargs, problem("rosenbrock", np.float64)[1], rosenbrock, 2)
    tparams, topt, _ = run_lbfgs(torch, kwargs, [p.numpy() for p in params], rosenbrock, 0)
    _, topt, _ = run_lbfgs(torch, kwargs, problem("rosenbrock", np.float64)[1], rosenbrock, 0)
    tparams = topt.param_groups[0]["params"]
    tclosure = closure_for(topt, tparams, rosenbrock)
    for _ in range(2):
        topt.step(tclosure)
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    resumed_runs = []
    for state_dict in (saved, to_numpy(topt.state_dict())):
        resumed, fresh, _ = run_lbfgs(cr, kwargs, [p.numpy() for p in params], rosenbrock, 0)
        fresh.load_state_dict(state_dict)
        closure = closure_for(fresh, resumed, rosenbrock)
        resumed_runs.append([lbfgs_call(fresh, resumed, closure, True) for _ in range(3)])
    closure = closure_for(opt, params, rosenbrock)
    uninterrupted = [lbfgs_call(opt, params, closure, True) for _ in range(3)]
    theirs = [lbfgs_call(topt, tparams, tclosure, False) for _ in range(3)]
    assert_same_lbfgs(resumed_runs[0], uninterrupted, dict(rtol=0, atol=0))
    assert_same_lbfgs(resumed_runs[1], theirs, TOL[np.float64])
    # The saved state holds copies: it did not move with the live state.
    np.testing.assert_array_equal(saved["state"][0]["d"], snapshot["state"][0]["d"])
    for a, b in zip(saved["state"][0]["old_dirs"], snapshot["state"][0]["old_dirs"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_lbfgs_stops_at_a_stationary_point_and_needs_a_closure() -> None:
    x = param(np.ones(3))
    opt = optim.LBFGS([x])
    closure = closure_for(opt, [x], rosenbrock)
    assert opt.step(closure) == 0.0
    assert x.numpy().tolist() == [1.0, 1.0, 1.0]
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}
    with pytest.raises(ConfigError, match="needs a closure"):
        opt.step(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [param(np.ones(2))]}])
    with pytest.raises(ConfigError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="armijo")


def test_lbfgs_defaults_and_repr_are_torchs() -> None:
    w = nn.Parameter(np.ones(1, dtype=np.float32))
    ours, theirs = optim.LBFGS([w], max_iter=8), torch.optim.LBFGS([torch.ones(1)], max_iter=8)
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)
