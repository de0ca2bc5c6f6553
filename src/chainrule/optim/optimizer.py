"""Optimizer: parameter groups, per-parameter state, zero_grad, step(closure), state_dict, as
torch.optim.Optimizer.

An optimiser's update runs on the parameters' NumPy arrays in place (so no graph is recorded and
a float32 parameter stays float32), then bumps each parameter's version so that backward refuses
a graph that saved the old values.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import dtypes, grad_mode
from ..errors import ConfigError, ShapeError
from ..tensor import Tensor, make_tensor

# The built-in optimisers' per-parameter buffers, each of its parameter's shape.
_PARAMETER_SHAPED = frozenset(
    {"momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "grad_avg"}
    | {"sum", "acc_delta", "exp_inf", "prev", "step_size", "ax"}
)
# Per-parameter scalars, kept as Python floats (PyTorch holds 0-dim tensors).
_SCALAR_STATE = frozenset({"step", "mu_product", "eta", "mu"})


def check_hyperparameter(
    name: str, value: float, low: float = 0.0, high: float = math.inf, below: bool = False
) -> None:
    """value must be a finite number in [low, high] (in [low, high) with ``below``)."""
    try:  # a Python or NumPy number, or a one-element tensor (PyTorch takes a Tensor lr)
        number = math.nan if isinstance(value, str | bytes | bool) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    inside = low <= number < high if below else low <= number <= high
    if not (math.isfinite(number) and inside):
        closing = ")" if below else "]"
        bounds = f"in [{low}, {high}{closing}" if math.isfinite(high) else f">= {low}"
        raise ConfigError(f"{name} must be a finite number {bounds}, got {value!r}")


def check_kernel_options(differentiable: bool) -> None:
    """PyTorch's groups carry kernel choices (foreach, fused, capturable, differentiable); NumPy
    has one kernel, so they are kept for the state_dict layout, and only a graph through the
    update is refused."""
    if differentiable:
        raise ConfigError(
            "differentiable=True (a graph through the optimiser's update) is not supported"
        )


class Optimizer:
    """Parameter groups (dicts with 'params' and hyperparameters) and per-parameter state.

    ``state`` maps each parameter tensor to a dict of its buffers (chainrule Tensors, named as
    PyTorch's: 'momentum_buffer', 'exp_avg', ...) and 'step' (a Python float). Schedulers change
    ``param_groups[i]['lr']``; ``step()`` updates every parameter that has a gradient.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise ConfigError(
                "optimizers take an iterable of tensors or of dicts, got one tensor: pass [tensor]"
            )
        groups = list(params)
        if not groups:
            raise ConfigError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the rest from defaults).

        As PyTorch, the dict itself becomes the group: 'params' is made a list, missing
        hyperparameters are filled in from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise ConfigError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]  # list() would split one tensor into its rows
        elif isinstance(params, set):
            raise ConfigError(
                "optimizer parameters must be an ordered collection (a set's order changes "
                "between runs): pass a list"
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ConfigError("optimizer params must all have names or none: some are missing")
            param_group["param_names"] = names
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise ConfigError(
                    f"optimizers take Tensors, but one of the params is a {type(p).__name__}"
                )
            if p.grad_fn is not None:
                raise ConfigError("can't optimize a non-leaf Tensor (detach() it first)")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ConfigError("some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in param_group) != (
            "param_names" in self.param_groups[0]
        ):
            raise ConfigError("all optimizer param groups must be given with names or without")
        self.param_groups.append(param_group)

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (PyTorch's default), or zero it in place (set_to_none=False)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return closure()'s loss when given.

        The closure re-evaluates the model (zero_grad, forward, backward) and returns the loss;
        it runs with grad mode on, before the update.
        """
        hooks = self.__dict__.get("_step_hooks")
        if hooks:
            for hook in list(hooks[0].values()):
                hook(self, () if closure is None else (closure,), {})
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        if hooks:
            for hook in list(hooks[1].values()):
                hook(self, () if closure is None else (closure,), {})
        return loss

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> _HookHandle:
        """Call ``hook(optimizer, args, kwargs)`` before every step(); returns a handle whose
        ``remove()`` unregisters it."""
        return self._add_step_hook(0, hook)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> _HookHandle:
        """Call ``hook(optimizer, args, kwargs)`` after every step()."""
        return self._add_step_hook(1, hook)

    def _add_step_hook(self, when: int, hook: Callable[..., Any]) -> _HookHandle:
        hooks = self.__dict__.setdefault("_step_hooks", ({}, {}))
        handle = _HookHandle(hooks[when])
        hooks[when][handle.id] = hook
        return handle

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: array or step}}, 'param_groups': [{..., 'params': [index]}]}.

        Parameters are numbered in group order, as PyTorch's. Buffers are NumPy copies and
        'step' a Python float, so a checkpoint can hold them as they are.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            entry["params"] = [index[id(p)] for p in group["params"]]
            groups.append(entry)
        state = {
            index[id(p)]: {k: _export(v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state_dict from ``state_dict()`` (or from torch's, with tensors as arrays).

        Buffers are copied and cast to their parameter's dtype; groups take the saved
        hyperparameters (call this after building any scheduler, as in PyTorch).
        """
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ConfigError(
                f"loaded state dict has {len(saved_groups)} parameter groups, the optimizer "
                f"{len(self.param_groups)}"
            )
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if len(group["params"]) != len(saved["params"]):
                raise ConfigError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                    f"parameters, the optimizer's {len(group['params'])}"
                )
        params = {
            int(key): p
            for group, saved in zip(self.param_groups, saved_groups, strict=True)
            for key, p in zip(saved["params"], group["params"], strict=True)
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            if int(key) not in params:
                raise ConfigError(f"loaded state dict has state for unknown parameter {key!r}")
            p = params[int(key)]
            state[p] = {name: _import(name, value, p) for name, value in entry.items()}
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            saved.pop("params")
            if isinstance(saved.get("betas"), list):
                saved["betas"] = tuple(saved["betas"])  # a JSON checkpoint makes tuples lists
            group.update(saved)
        self.state = state


class _HookHandle:
    _next_id = 0

    def __init__(self, hooks: dict[int, Any]) -> None:
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _export(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.array.copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):  # LBFGS's history
        return [_export(v) for v in value]
    return value


def _import(name: str, value: Any, param: Tensor) -> Any:
    if isinstance(value, list):
        return [_import(name, v, param) for v in value]
    if name in _SCALAR_STATE:
        return float(np.asarray(value))
    if isinstance(value, Tensor | np.ndarray):
        # A copy, cast to the parameter's dtype (floats only) as PyTorch's load_state_dict.
        dtype = param.dtype if np.asarray(value).dtype.kind == "f" else None
        array = np.array(value, dtype=dtype)
        if name in _PARAMETER_SHAPED and array.shape != param.shape:
            raise ShapeError(
                f"optimizer state {name!r} has shape {array.shape}, its parameter {param.shape}"
            )
        return make_tensor(array)
    return value


def round_scalar(value: float) -> float:
    """``value`` rounded as PyTorch's 0-dim state tensors hold it: float32, or float64 when the
    default dtype is float64."""
    if dtypes.get_default_dtype() == np.float64:
        return float(value)
    return float(np.float32(value))


def buffer_like(param: np.ndarray, fill: float = 0.0) -> Tensor:
    """A state buffer of the parameter's shape and dtype, as a Tensor (PyTorch's state holds
    tensors); updates work on its ``.array``."""
    return make_tensor(np.full_like(param, fill) if fill else np.zeros_like(param))


def l1_l2_gradient(
    param: np.ndarray, grad: np.ndarray, weight_decay: float, l1: float
) -> np.ndarray:
    """grad + λ₂·w + λ₁·sign(w): the gradient of loss + λ₂/2·‖w‖² + λ₁·‖w‖₁."""
    if weight_decay:
        grad = grad + weight_decay * param
    if l1:
        grad = grad + l1 * np.sign(param)
    return grad
