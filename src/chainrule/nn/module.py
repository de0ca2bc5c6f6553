"""Module, Parameter and Sequential: registration, names, train/eval, state_dict, forward hooks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..device import check_device
from ..errors import ShapeError, StateDictError
from ..tensor import Tensor, _is_dtype

Hook = Callable[["Module", tuple[Any, ...], Any], None]
_hook_ids = itertools.count()


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires_grad=True)."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class _HookHandle:
    def __init__(self, hooks: dict[int, Hook], key: int) -> None:
        self.hooks, self.key = hooks, key

    def remove(self) -> None:
        self.hooks.pop(self.key, None)


class Module:
    """Base of every layer and model. Assigning a Parameter or Module attribute registers it.

    Names are dotted paths in registration order (``0.weight``, ``encoder.1.bias``); the same
    names key ``state_dict`` and every row of chainrule's gradient reports.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def register_forward_hook(self, hook: Hook) -> _HookHandle:
        """Call ``hook(module, inputs, output)`` after every forward; ``.remove()`` undoes it."""
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return _HookHandle(self._forward_hooks, key)

    # --------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("call Module.__init__() before assigning attributes")
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """A non-learnable array saved in state_dict (e.g. batch norm's running mean)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    # --------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in module._modules.items()
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each shared parameter once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules():
            for name, buffer in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), buffer

    # --------------------------------------------------------------- modes and state
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (PyTorch's default), or zero it in place."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad.array[...] = 0

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``: cast every parameter and floating
        buffer in place (float64 for gradient checks); the device must be the CPU."""

        dtype = kwargs.pop("dtype", None)
        check_device(kwargs.pop("device", None))
        kwargs.pop("non_blocking", None)
        for arg in args:
            if _is_dtype(arg):
                dtype = arg
            elif isinstance(arg, Tensor):
                dtype = arg.dtype
            else:
                check_device(arg)
        if dtype is None:
            return self
        return self._cast(dtype)

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        check_device("cuda")
        return self

    def _cast(self, dtype: npt.DTypeLike) -> Module:
        for param in self.parameters():
            param.array = param.array.astype(dtype)
            param.grad = None
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer.dtype.kind == "f":
                    module._buffers[name] = buffer.astype(dtype)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer as NumPy arrays, keyed by dotted name."""
        state = {name: param.array.copy() for name, param in self.named_parameters()}
        state.update((name, np.array(buffer, copy=True)) for name, buffer in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers in place, checking names and shapes."""
        own: dict[str, tuple[Module, str, str]] = {}
        for module_name, module in self.named_modules():
            for table in ("_parameters", "_buffers"):
                for name in getattr(module, table):
                    key = f"{module_name}.{name}" if module_name else name
                    own.setdefault(key, (module, table, name))
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise StateDictError(
                f"state_dict does not match {type(self).__name__}: missing {missing}, "
                f"unexpected {unexpected}"
            )
        for key, (module, table, name) in own.items():
            if key not in state:
                continue
            value = np.asarray(state[key])
            if table == "_parameters":
                target = module._parameters[name].array
                if value.shape != target.shape:
                    raise ShapeError(
                        f"state_dict[{key!r}] has shape {value.shape}, the model expects "
                        f"{target.shape}"
                    )
                np.copyto(target, value, casting="same_kind")
            else:
                target = module._buffers[name]
                if value.shape != np.shape(target):
                    raise ShapeError(
                        f"state_dict[{key!r}] has shape {value.shape}, the model expects "
                        f"{np.shape(target)}"
                    )
                module._buffers[name] = value.astype(np.asarray(target).dtype, copy=True)

    # --------------------------------------------------------------- description
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this module (used by model files)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be described for saving")


class Sequential(Module):
    """Modules applied in order; children are named 0, 1, 2, ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def config(self) -> dict[str, Any]:
        return {}
