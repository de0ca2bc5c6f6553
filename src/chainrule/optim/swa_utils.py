"""Stochastic weight averaging and exponential moving averages of a model, as
``torch.optim.swa_utils``: AveragedModel, SWALR, update_bn and the averaging functions.

SWA (Izmailov et al. 2018) averages the weights visited late in training, θ_swa ← θ_swa +
(θ - θ_swa)/(n + 1), with a constant or cyclical learning rate (SWALR); the BatchNorm statistics
of the averaged weights are then recomputed by one pass over the data (update_bn).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..grad_mode import no_grad
from ..nn.conv import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

MultiAvgFn = Callable[[list[Tensor], list[Tensor], Tensor], None]
AvgFn = Callable[[Tensor, Tensor, Tensor], Tensor]


def _is_float(t: Tensor) -> bool:
    return np.dtype(t.dtype).kind in "fc"


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """In place, for lists of tensors: ema ← decay·ema + (1 - decay)·current."""

    def ema_update(ema_params: list[Tensor], current_params: list[Tensor], _: Any) -> None:
        with no_grad():
            for ema, current in zip(ema_params, current_params, strict=True):
                if _is_float(ema):
                    ema.lerp_(current, 1 - decay)
                else:
                    ema.copy_(ema * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """In place, for lists of tensors: avg ← avg + (current - avg)/(n + 1)."""

    def swa_update(averaged: list[Tensor], current_params: list[Tensor], n: Any) -> None:
        with no_grad():
            for avg, current in zip(averaged, current_params, strict=True):
                if _is_float(avg):
                    avg.lerp_(current, 1 / (_number(n) + 1))
                else:
                    avg.copy_(avg + (current - avg) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """For one tensor: decay·ema + (1 - decay)·current."""

    def ema_update(ema: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return decay * ema + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """For one tensor: averaged + (current - averaged)/(n + 1)."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged: Any) -> Tensor:
        return averaged + (current - averaged) / (num_averaged + 1)

    return swa_update


def _number(n: Any) -> float:
    return float(n.item()) if isinstance(n, Tensor) else float(n)


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) are averaged
    over the models passed to ``update_parameters``: the running mean by default (SWA), or
    ``avg_fn`` per tensor, or ``multi_avg_fn`` (in place, on lists, e.g. get_ema_multi_avg_fn)
    for all at once. The first update copies the model. state_dict: ``module.``-prefixed keys
    and the int64 buffer ``n_averaged``, as PyTorch's.

    Without ``use_buffers`` the buffers are copied from the model at every update (BatchNorm
    statistics are then refreshed with update_bn).
    """

    _not_config = (*Module._not_config, "model", "avg_fn", "multi_avg_fn")

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: AvgFn | None = None,
        multi_avg_fn: MultiAvgFn | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ConfigError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", np.zeros((), dtype=np.int64))
        self.avg_fn, self.multi_avg_fn = avg_fn, multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list[Tensor]:
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies them)."""
        mine, theirs = self._tensors(self.module), self._tensors(model)
        if len(mine) != len(theirs):
            raise ConfigError(
                f"AveragedModel.update_parameters: the model has {len(theirs)} tensors to "
                f"average but the averaged copy has {len(mine)}"
            )
        averaged = [p.detach() for p in mine]
        current = [p.detach() for p in theirs]
        n = self.n_averaged
        with no_grad():
            if int(n.item()) == 0:
                for avg, cur in zip(averaged, current, strict=True):
                    avg.copy_(cur)
            elif self.avg_fn is not None:
                for avg, cur in zip(averaged, current, strict=True):
                    avg.copy_(self.avg_fn(avg, cur, n.detach()))
            else:
                update = self.multi_avg_fn or get_swa_multi_avg_fn()
                # PyTorch groups the tensors by dtype before a multi_avg_fn sees them.
                groups: dict[Any, tuple[list[Tensor], list[Tensor]]] = {}
                for avg, cur in zip(averaged, current, strict=True):
                    pair = groups.setdefault(np.dtype(avg.dtype), ([], []))
                    pair[0].append(avg)
                    pair[1].append(cur)
                for group_avg, group_cur in groups.values():
                    update(group_avg, group_cur, n.detach())
            if not self.use_buffers:
                for mine_b, theirs_b in zip(self.module.buffers(), model.buffers(), strict=True):
                    mine_b.detach().copy_(theirs_b.detach())
            self.n_averaged.add_(1)


@no_grad()
def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running_mean and running_var by one pass over ``loader``:
    the statistics are reset and then averaged cumulatively (momentum None) over the batches;
    a batch that is a list or tuple gives its first item as the input."""
    momenta: dict[Module, float | None] = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        for batch in loader:
            if isinstance(batch, list | tuple):
                batch = batch[0]
            if device is not None and isinstance(batch, Tensor):
                batch = batch.to(device)
            model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to its ``swa_lr`` over ``anneal_epochs`` epochs ('cos' or
    'linear'), then holds it there, as PyTorch's: each step interpolates from the lr the
    previous step's annealing started from, so another scheduler's changes carry through."""

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for value, group in zip(
            _per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups, strict=True
        ):
            group["swa_lr"] = value
        if anneal_strategy not in ("cos", "linear"):
            raise ConfigError(
                f"SWALR: anneal_strategy must be one of 'cos' or 'linear', got {anneal_strategy!r}"
            )
        if (
            isinstance(anneal_epochs, bool)
            or not isinstance(anneal_epochs, int)
            or anneal_epochs < 0
        ):
            raise ConfigError(
                f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs!r}"
            )
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        """The fraction of the way to swa_lr at progress t in [0, 1]."""
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The lr the annealing started from, given lr = α·swa_lr + (1 - α)·start."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / span)))
        groups = self.optimizer.param_groups
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self._anneal(max(0, min(1, step / span)))
        return [
            g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, starts, strict=True)
        ]
