"""Optimizer: parameter groups, per-parameter state, zero_grad, state_dict, as torch.optim."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..tensor import Tensor, bump_version


def check_hyperparameter(name: str, value: float, low: float = 0.0, high: float = math.inf) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        bounds = f"in [{low}, {high})" if math.isfinite(high) else f">= {low}"
        raise ConfigError(f"{name} must be a finite number {bounds}, got {value!r}")


class Optimizer:
    """Holds parameter groups (dicts with 'params' and hyperparameters) and per-parameter state.

    Schedules change ``param_groups[i]['lr']``; ``step()`` updates every parameter in place.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise ConfigError(
                "optimizers take an iterable of tensors or of dicts, got one tensor: pass [tensor]"
            )
        params = list(params)
        if not params:
            raise ConfigError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)
        self.state: dict[int, dict[str, Any]] = {}  # keyed by id(parameter)

    def add_param_group(self, group: dict[str, Any]) -> None:
        params = group["params"]
        # A group's params may be one tensor, as in PyTorch; list() would split it into rows.
        params = [params] if isinstance(params, Tensor) else list(params)
        group = {**self.defaults, **group, "params": params}
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ConfigError("optimizers take tensors with requires_grad=True")
        self.param_groups.append(group)

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (PyTorch's default), or zero it in place (set_to_none=False)."""
        for p in self._params():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.array[...] = 0

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p.array, p.grad.array, self.state.setdefault(id(p), {}), group)
                    bump_version(p)  # the update changed p in place

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters per group and state per parameter (keyed by position, as PyTorch)."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {
            index[key]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for key, s in self.state.items()
            if key in index
        }
        groups = []
        position = 0
        for group in self.param_groups:
            count = len(group["params"])
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = list(range(position, position + count))
            position += count
            groups.append(entry)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ConfigError("optimizer state_dict has a different number of parameters")
        for group, saved in zip(self.param_groups, groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        params = self._params()
        self.state = {}
        for key, saved in state_dict["state"].items():
            p = params[int(key)]
            self.state[id(p)] = {
                k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else v)
                for k, v in saved.items()
            }


def l1_l2_gradient(
    param: np.ndarray, grad: np.ndarray, weight_decay: float, l1: float
) -> np.ndarray:
    """grad + λ₂·w + λ₁·sign(w): the gradient of loss + λ₂/2·‖w‖² + λ₁·‖w‖₁."""
    if weight_decay:
        grad = grad + np.asarray(weight_decay, dtype=param.dtype) * param
    if l1:
        grad = grad + np.asarray(l1, dtype=param.dtype) * np.sign(param)
    return grad
