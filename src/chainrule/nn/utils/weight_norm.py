"""The forward-pre-hook weight normalisation, as ``torch.nn.utils.weight_norm`` (which PyTorch
deprecates for ``parametrizations.weight_norm``): parameters ``weight_g`` and ``weight_v``,
and ``module.weight = g · v / ‖v‖`` recomputed before every forward."""

from __future__ import annotations

from typing import Any

from ...grad_mode import no_grad
from ..module import Module, Parameter
from .parametrizations import _norm_except_dim, _weight_norm


class WeightNorm:
    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        with no_grad():
            g = _norm_except_dim(weight, fn.dim)
        module.register_parameter(name + "_g", Parameter(g.array.copy()))
        module.register_parameter(name + "_v", Parameter(weight.detach().array.copy()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.array.copy()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``module.<name> = g · v / ‖v‖`` from parameters ``<name>_g`` (the norms over every
    axis but dim; dim=None: of the whole tensor) and ``<name>_v``, recomputed before every
    forward."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: ``<name>`` becomes one parameter again, holding g · v / ‖v‖."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            module._update_has_hooks()
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
