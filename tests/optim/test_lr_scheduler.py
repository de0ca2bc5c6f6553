"""Every learning-rate scheduler against torch.optim.lr_scheduler: the lr (and momentum)
sequences, get_last_lr, initial_lr, state_dict round trips, chained and sequential schedules."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.errors import ConfigError
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 60
RTOL = 1e-12


def lam(epoch: int) -> float:
    return 0.95**epoch


def mul(epoch: int) -> float:
    return 0.9 if epoch % 3 else 1.05


# (name, optimizer name, optimizer kwargs, a function of (library's lr_scheduler, optimizer)).
SCHEDULES: list[tuple[str, str, dict[str, Any], Callable[[Any, Any], Any]]] = [
    ("LambdaLR", "SGD", {}, lambda s, o: s.LambdaLR(o, lam)),
    ("LambdaLR-per-group", "SGD", {}, lambda s, o: s.LambdaLR(o, [lam, lambda e: 1 / (1 + e)])),
    ("MultiplicativeLR", "SGD", {}, lambda s, o: s.MultiplicativeLR(o, mul)),
    ("StepLR", "SGD", {}, lambda s, o: s.StepLR(o, step_size=7, gamma=0.5)),
    ("MultiStepLR", "SGD", {}, lambda s, o: s.MultiStepLR(o, [5, 20, 20, 41], gamma=0.3)),
    ("ConstantLR", "SGD", {}, lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=9)),
    ("LinearLR", "SGD", {}, lambda s, o: s.LinearLR(o, 0.1, 0.9, total_iters=13)),
    ("LinearLR-down", "SGD", {}, lambda s, o: s.LinearLR(o, 1.0, 0.05, total_iters=30)),
    ("ExponentialLR", "SGD", {}, lambda s, o: s.ExponentialLR(o, gamma=0.93)),
    ("PolynomialLR", "SGD", {}, lambda s, o: s.PolynomialLR(o, total_iters=40, power=2.0)),
    ("CosineAnnealingLR", "SGD", {}, lambda s, o: s.CosineAnnealingLR(o, T_max=10)),
    ("CosineAnnealingLR-eta", "SGD", {}, lambda s, o: s.CosineAnnealingLR(o, 17, eta_min=1e-3)),
    ("WarmRestarts", "SGD", {}, lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=7)),
    (
        "WarmRestarts-mult",
        "SGD",
        {},
        lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    ),
    (
        "CyclicLR",
        "SGD",
        dict(momentum=0.9),
        lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=7),
    ),
    (
        "CyclicLR-triangular2",
        "SGD",
        dict(momentum=0.9),
        lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=6, mode="triangular2"),
    ),
    (
        "CyclicLR-exp_range-adam",
        "Adam",
        {},
        lambda s, o: s.CyclicLR(o, 0.001, 0.01, step_size_up=5, mode="exp_range", gamma=0.97),
    ),
    (
        "CyclicLR-scale_fn",
        "SGD",
        {},
        lambda s, o: s.CyclicLR(
            o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / x, cycle_momentum=False
        ),
    ),
    (
        "OneCycleLR-cos-sgd",
        "SGD",
        dict(momentum=0.9),
        lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 0.3], total_steps=STEPS + 1),
    ),
    (
        "OneCycleLR-linear-adam",
        "Adam",
        {},
        lambda s, o: s.OneCycleLR(o, 0.01, epochs=6, steps_per_epoch=11, anneal_strategy="linear"),
    ),
    (
        "OneCycleLR-three-phase",
        "Adam",
        {},
        lambda s, o: s.OneCycleLR(o, 0.01, total_steps=70, three_phase=True, pct_start=0.25),
    ),
    (
        "OneCycleLR-rmsprop-no-momentum-cycle",
        "RMSprop",
        dict(momentum=0.5),
        lambda s, o: s.OneCycleLR(o, 0.02, total_steps=61, cycle_momentum=False, div_factor=10.0),
    ),
    (
        "SequentialLR",
        "SGD",
        {},
        lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, 0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=30)], [5]
        ),
    ),
    (
        "SequentialLR-three",
        "SGD",
        {},
        lambda s, o: s.SequentialLR(
            o,
            [s.ConstantLR(o, 0.5, total_iters=4), s.ExponentialLR(o, 0.9), s.StepLR(o, 5, 0.5)],
            milestones=[8, 25],
        ),
    ),
    (
        "ChainedScheduler",
        "SGD",
        {},
        lambda s, o: s.ChainedScheduler(
            [s.ConstantLR(o, 0.5, total_iters=6), s.ExponentialLR(o, 0.95)]
        ),
    ),
    (
        "ChainedScheduler-cosine-multistep",
        "SGD",
        {},
        lambda s, o: s.ChainedScheduler(
            [s.CosineAnnealingLR(o, T_max=12), s.MultiStepLR(o, [10, 30], gamma=0.5)], o
        ),
    ),
]
IDS = [case[0] for case in SCHEDULES]


def ours_optimizer(name: str, kwargs: dict[str, Any]) -> Any:
    a = nn.Parameter(np.ones(2, dtype=np.float32))
    b = nn.Parameter(np.ones(3, dtype=np.float32))
    return getattr(optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **kwargs)


def torch_optimizer(name: str, kwargs: dict[str, Any]) -> Any:
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(3))
    opt = getattr(torch.optim, name)(
        [{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **kwargs
    )
    return opt


def momenta(opt: Any) -> list[float]:
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def record(opt: Any, scheduler: Any, steps: int) -> list[tuple[list[float], ...]]:
    rows = [(scheduler.get_last_lr(), [g["lr"] for g in opt.param_groups], momenta(opt))]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        rows.append((scheduler.get_last_lr(), [g["lr"] for g in opt.param_groups], momenta(opt)))
    return rows


def assert_rows_equal(ours: list[Any], theirs: list[Any]) -> None:
    for epoch, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=RTOL, atol=0, err_msg=f"epoch {epoch}")


@pytest.mark.parametrize(("name", "opt_name", "opt_kwargs", "build"), SCHEDULES, ids=IDS)
def test_sequence_matches_torch(
    name: str, opt_name: str, opt_kwargs: dict[str, Any], build: Callable[[Any, Any], Any]
) -> None:
    opt, topt = ours_optimizer(opt_name, opt_kwargs), torch_optimizer(opt_name, opt_kwargs)
    scheduler = build(lr_scheduler, opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tscheduler = build(torch.optim.lr_scheduler, topt)
        theirs = record(topt, tscheduler, STEPS)
    ours = record(opt, scheduler, STEPS)
    assert_rows_equal(ours, theirs)
    for group, tgroup in zip(opt.param_groups, topt.param_groups, strict=True):
        assert group.get("initial_lr") == tgroup.get("initial_lr")
    assert getattr(scheduler, "last_epoch", None) == getattr(tscheduler, "last_epoch", None)


@pytest.mark.parametrize(("name", "opt_name", "opt_kwargs", "build"), SCHEDULES, ids=IDS)
def test_state_dict_round_trip_resumes_identically(
    name: str, opt_name: str, opt_kwargs: dict[str, Any], build: Callable[[Any, Any], Any]
) -> None:
    opt = ours_optimizer(opt_name, opt_kwargs)
    scheduler = build(lr_scheduler, opt)
    record(opt, scheduler, 20)
    # Through JSON, as a checkpoint stores it (functions are not saved, as in PyTorch).
    saved = json.loads(json.dumps(scheduler.state_dict()))
    saved_opt = opt.state_dict()
    fresh_opt = ours_optimizer(opt_name, opt_kwargs)
    fresh = build(lr_scheduler, fresh_opt)
    fresh_opt.load_state_dict(saved_opt)
    fresh.load_state_dict(saved)
    assert_rows_equal(record(fresh_opt, fresh, 30), record(opt, scheduler, 30))


def test_reduce_on_plateau_matches_torch() -> None:
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1, 0.5, 10), 0.5 + 0.01 * rng.standard_normal(60)])
    settings = [
        dict(),
        dict(patience=2, factor=0.5),
        dict(mode="max", patience=1, factor=0.3, threshold=0.05),
        dict(patience=0, threshold_mode="abs", threshold=0.01, cooldown=3, min_lr=[0.01, 0.02]),
        dict(mode="max", threshold_mode="abs", patience=3, cooldown=1, min_lr=0.004, eps=0.01),
    ]
    for kwargs in settings:
        for sign in (1, -1):
            opt, topt = ours_optimizer("SGD", {}), torch_optimizer("SGD", {})
            ours = optim.ReduceLROnPlateau(opt, **kwargs)
            theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
            for value in sign * metrics:
                ours.step(float(value))
                theirs.step(float(value))
                assert ours.get_last_lr() == theirs.get_last_lr(), kwargs
                assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best) == (
                    theirs.num_bad_epochs,
                    theirs.cooldown_counter,
                    theirs.best,
                )
            assert ours.last_epoch == theirs.last_epoch


def test_reduce_on_plateau_state_dict_resumes() -> None:
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85]
    opt = ours_optimizer("SGD", {})
    sched = optim.ReduceLROnPlateau(opt, patience=1, cooldown=1, mode="min")
    for value in metrics[:5]:
        sched.step(value)
    saved = json.loads(json.dumps(sched.state_dict()))
    fresh_opt = ours_optimizer("SGD", {})
    fresh_opt.load_state_dict(opt.state_dict())
    fresh = optim.ReduceLROnPlateau(fresh_opt)
    fresh.load_state_dict(saved)
    for value in metrics[5:]:
        sched.step(value)
        fresh.step(value)
        assert fresh.get_last_lr() == sched.get_last_lr()


def test_construction_applies_epoch_zero_and_records_initial_lr() -> None:
    opt = ours_optimizer("SGD", {})
    sched = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert sched.last_epoch == 0
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.025]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05] == sched.base_lrs
    with pytest.raises(ConfigError, match="initial_lr"):
        lr_scheduler.StepLR(ours_optimizer("SGD", {}), 3, last_epoch=4)
    resumed = lr_scheduler.StepLR(opt, 3, gamma=0.5, last_epoch=5)
    assert resumed.last_epoch == 6


def test_step_with_epoch_uses_closed_form_as_torch() -> None:
    opt, topt = ours_optimizer("SGD", {}), torch_optimizer("SGD", {})
    for build in (
        lambda s, o: s.StepLR(o, 3, 0.5),
        lambda s, o: s.CosineAnnealingLR(o, 10),
        lambda s, o: s.PolynomialLR(o, 8),
        lambda s, o: s.MultiStepLR(o, [2, 6]),
    ):
        ours, theirs = build(lr_scheduler, opt), build(torch.optim.lr_scheduler, topt)
        for epoch in (4, 7, 2, 9):
            with pytest.warns(UserWarning, match="deprecated"):
                ours.step(epoch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.step(epoch)
            np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=RTOL)


def test_warm_restarts_with_fractional_epochs() -> None:
    opt, topt = ours_optimizer("SGD", {}), torch_optimizer("SGD", {})
    ours = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.001)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, 4, 2, 0.001)
    for i in range(80):
        epoch = i * 0.37
        ours.step(epoch)
        theirs.step(epoch)
        np.testing.assert_allclose(ours.get_last_lr(), theirs.get_last_lr(), rtol=RTOL)
        assert ours.T_cur == pytest.approx(theirs.T_cur, rel=1e-12) and ours.T_i == theirs.T_i


def test_lambda_state_dict_saves_callable_objects_attributes() -> None:
    class Decay:
        def __init__(self, rate: float) -> None:
            self.rate = rate

        def __call__(self, epoch: int) -> float:
            return self.rate**epoch

    opt = ours_optimizer("SGD", {})
    sched = lr_scheduler.LambdaLR(opt, [Decay(0.5), lam])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    other = lr_scheduler.LambdaLR(ours_optimizer("SGD", {}), [Decay(0.9), lam])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


def test_schedulers_check_their_arguments() -> None:
    opt = ours_optimizer("SGD", {})
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), 2)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="step_size"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(ConfigError, match="factor"):
        optim.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ConfigError, match="mode"):
        optim.ReduceLROnPlateau(opt, mode="best")
    with pytest.raises(ConfigError, match="one value per param group"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1], total_steps=10)
    with pytest.raises(ConfigError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(optim.Adagrad([nn.Parameter(np.ones(1))]), 0.1, total_steps=5)
    with pytest.raises(ConfigError, match="ReduceLROnPlateau"):
        lr_scheduler.SequentialLR(opt, [optim.ReduceLROnPlateau(opt)], [])
    with pytest.raises(ConfigError, match="one milestone fewer"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], [3])
    one_cycle = lr_scheduler.OneCycleLR(ours_optimizer("SGD", {}), 0.1, total_steps=2)
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ConfigError, match="total steps is 2"):
        one_cycle.step()


def test_cosine_annealing_follows_the_closed_form_within_the_first_period() -> None:
    opt = ours_optimizer("SGD", {})
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.01)
    for epoch in range(1, 21):
        sched.step()
        expected = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * epoch / 20)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)
