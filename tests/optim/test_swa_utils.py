"""chainrule.optim.swa_utils against torch.optim.swa_utils: the averaged parameters (SWA, EMA
by avg_fn and by multi_avg_fn, use_buffers), state_dict keys, SWALR's lr sequences and
update_bn's running statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError
from chainrule.optim import swa_utils

torch = pytest.importorskip("torch")


def _twins(seed: int = 0) -> tuple[Any, Any]:
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _perturb(ours: Any, theirs: Any, rng: np.random.Generator) -> None:
    """The same training-like change to both models' parameters and buffers."""
    x = rng.standard_normal((8, 3)).astype(np.float32)
    ours(cr.tensor(x))
    theirs(torch.tensor(x))  # train mode: BatchNorm's running statistics move
    with torch.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            step = rng.standard_normal(p.shape).astype(np.float32)
            p.array[...] += step
            q += torch.tensor(step)


AVERAGERS = {
    "swa": lambda lib: {},
    "ema_avg_fn": lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.9)},
    "ema_multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.8)},
    "swa_buffers": lambda lib: {"use_buffers": True},
    "ema_multi_buffers": lambda lib: {
        "multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.7),
        "use_buffers": True,
    },
}


@pytest.mark.parametrize("kind", list(AVERAGERS))
def test_averaged_model_matches_torch(kind: str, rng: np.random.Generator) -> None:
    ours, theirs = _twins()
    mine = swa_utils.AveragedModel(ours, **AVERAGERS[kind](cr))
    ref = torch.optim.swa_utils.AveragedModel(theirs, **AVERAGERS[kind](torch))
    for _ in range(4):
        _perturb(ours, theirs, rng)
        mine.update_parameters(ours)
        ref.update_parameters(theirs)
    expected = ref.state_dict()
    got = mine.state_dict()
    assert list(got) == list(expected)
    first, *rest = got
    assert first == "n_averaged" and all(k.startswith("module.") for k in rest)
    assert got["n_averaged"].numpy().dtype == np.int64 and int(got["n_averaged"].numpy()) == 4
    for key, value in expected.items():
        np.testing.assert_allclose(
            got[key].numpy(), value.numpy(), rtol=1e-6, atol=1e-6, err_msg=key
        )
    x = rng.standard_normal((5, 3)).astype(np.float32)
    mine.eval()
    ref.eval()
    np.testing.assert_allclose(
        mine(cr.tensor(x)).numpy(), ref(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_averaged_model_is_a_copy_that_loads_torchs_state_dict() -> None:
    ours, theirs = _twins(1)
    ref = torch.optim.swa_utils.AveragedModel(theirs)
    ref.update_parameters(theirs)
    mine = swa_utils.AveragedModel(ours)
    mine.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert int(mine.n_averaged.item()) == 1
    assert mine.module is not ours and mine.module[0].weight is not ours[0].weight
    with pytest.raises(ConfigError, match="not both"):
        swa_utils.AveragedModel(
            ours, avg_fn=swa_utils.get_ema_avg_fn(), multi_avg_fn=swa_utils.get_ema_multi_avg_fn()
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"swa_lr": 0.05},
        {"swa_lr": 0.05, "anneal_epochs": 4, "anneal_strategy": "linear"},
        {"swa_lr": [0.01, 0.2], "anneal_epochs": 3},
        {"swa_lr": 0.02, "anneal_epochs": 0},
    ],
    ids=str,
)
def test_swalr_lr_sequence_matches_torch(kwargs: dict) -> None:
    def groups(lib: Any, model: Any) -> Any:
        first, second = list(model.parameters())[:2], list(model.parameters())[2:]
        return lib.optim.SGD([{"params": first}, {"params": second, "lr": 0.3}], lr=0.5)

    ours_model, theirs_model = _twins(2)
    opt, ref_opt = groups(cr, ours_model), groups(torch, theirs_model)
    mine = swa_utils.SWALR(opt, **kwargs)
    ref = torch.optim.swa_utils.SWALR(ref_opt, **kwargs)
    # Another schedule's change halfway is carried through, as PyTorch's.
    for epoch in range(14):
        assert mine.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-12), epoch
        assert [g["swa_lr"] for g in opt.param_groups] == [
            g["swa_lr"] for g in ref_opt.param_groups
        ]
        if epoch == 2:
            for g, h in zip(opt.param_groups, ref_opt.param_groups, strict=True):
                g["lr"] = h["lr"] = g["lr"] * 1.5
        opt.step()
        ref_opt.step()
        mine.step()
        ref.step()


def test_swalr_refuses_bad_arguments() -> None:
    opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="anneal_strategy"):
        swa_utils.SWALR(opt, 0.05, anneal_strategy="step")
    with pytest.raises(ConfigError, match="anneal_epochs"):
        swa_utils.SWALR(opt, 0.05, anneal_epochs=-1)
    with pytest.raises(ConfigError, match="one value per param group"):
        swa_utils.SWALR(opt, [0.05, 0.01])


def test_update_bn_recomputes_running_statistics_as_torch(rng: np.random.Generator) -> None:
    ours, theirs = _twins(3)
    ours.eval()
    theirs.eval()
    batches = [rng.standard_normal((n, 3)).astype(np.float32) for n in (6, 4, 9)]
    # Batches as (input, label) pairs: the first item is the input.
    swa_utils.update_bn([(cr.tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    assert not ours.training and ours[1].momentum == 0.1
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(
            ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key
        )
    mean = ours[1].running_mean.numpy().copy()
    swa_utils.update_bn([cr.tensor(b) for b in batches], ours)  # plain tensors too; reset first
    np.testing.assert_allclose(ours[1].running_mean.numpy(), mean, rtol=1e-6)
