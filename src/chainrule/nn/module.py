"""Module and Parameter: registration, names, train/eval, state_dict, hooks, as torch.nn.

A layer states itself once: its constructor's arguments are recorded when it is built (its
``config``, from which model files rebuild it and from which its ``repr`` is derived), and its
tensors' shapes are what its ``__init__`` creates: the model-file loader builds layers under an
allocation budget (the bytes the file holds) instead of restating their shapes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import grad_mode
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ChainruleError, ConfigError, ShapeError, StateDictError
from ..grad_mode import no_grad
from ..graph import apply, make_tensor
from ..ops.base import Context, Function
from ..tensor import Tensor, _is_dtype, bump_version

Hook = Callable[..., Any]
_hook_ids = itertools.count()

# While a model file is being loaded: the bytes of tensors its layers may still create (the
# bytes the file itself holds), so that a small file cannot make the loader allocate much more.
_budget: list[int] = []


class AllocationError(ChainruleError):
    """A layer being rebuilt from a file would create more tensor bytes than the file holds."""


@contextlib.contextmanager
def allocation_budget(nbytes: int) -> Iterator[None]:
    """Refuse (AllocationError) Parameters and buffers beyond nbytes in total, before they are
    initialised: layers allocate with np.empty (address space only, no memory until written)
    and wrap the array before writing it."""
    _budget.append(nbytes)
    try:
        yield
    finally:
        _budget.pop()
        _prepaid.clear()


def _spend(array: np.ndarray, what: str) -> None:
    if id(array) in _prepaid:
        _prepaid.discard(id(array))
        return
    _charge(array.shape, array.dtype, what)


def _charge(shape: tuple[int, ...], dtype: Any, what: str) -> None:
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    _budget[-1] -= nbytes
    if _budget[-1] < 0:
        raise AllocationError(
            f"{what} needs {list(shape)} ({nbytes} bytes), more than the file holds"
        )


_prepaid: set[int] = set()


def empty(shape: Any, dtype: Any = np.float32, what: str = "a tensor") -> np.ndarray:
    """np.empty(shape, dtype) for a layer's parameter or buffer, refused before it is allocated
    when it would pass the loader's allocation budget."""
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 0
               for n in shape):  # fmt: skip
        raise ShapeError(f"{what} needs sizes that are integers >= 0, got {shape}")
    if _budget:
        _charge(shape, dtype, what)
        array = np.empty(shape, dtype=dtype)
        _prepaid.add(id(array))
        return array
    return np.empty(shape, dtype=dtype)


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires_grad=True)."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            data = data.array
        if _budget:
            _spend(np.asarray(data), "a parameter")
        # The data's own dtype (a float64 array or tensor stays float64), as PyTorch's.
        dtype = data.dtype if isinstance(data, np.ndarray) and data.dtype.kind == "f" else None
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        out = Parameter(self.array.copy(), requires_grad=self.requires_grad)
        memo[id(self)] = out
        return out


class Buffer(Tensor):
    """A tensor that a Module saves in its state_dict but does not train (PyTorch's
    ``nn.Buffer``): assigning one as an attribute registers it."""

    def __init__(self, data: Any, persistent: bool = True) -> None:
        data = data.array if isinstance(data, Tensor) else data
        super().__init__(data, dtype=data.dtype if isinstance(data, np.ndarray) else None)
        self.persistent = persistent


class RemovableHandle:
    def __init__(self, hooks: dict[int, Any], key: int, module: Module | None = None) -> None:
        self.hooks, self.id, self.module = hooks, key, module

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        if self.module is not None:
            self.module._update_has_hooks()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )


def _json_value(value: Any) -> Any:
    """A constructor argument as JSON data (tuples as lists), or raise TypeError."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    raise TypeError(type(value).__name__)


def _record_config(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a Module subclass's __init__ so the outermost call records its bound arguments."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> None:
        outermost = "_init_args" not in self.__dict__
        if outermost:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{type(self).__name__}(): {error}") from None
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(signature.parameters)))  # self
            object.__setattr__(self, "_init_args", arguments)
        init(self, *args, **kwargs)

    wrapper._records_config = True  # type: ignore[attr-defined]
    return wrapper


class Module:
    """Base of every layer and model. Assigning a Parameter, Buffer or Module attribute
    registers it; names are dotted paths in registration order (``0.weight``,
    ``encoder.1.bias``), and the same names key ``state_dict`` and chainrule's reports.
    """

    # Constructor arguments that do not describe the architecture (how to initialise, where).
    _not_config: tuple[str, ...] = ("device", "dtype", "init")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        # chainrule's own layers only: a model file describes nothing else, and a user's
        # Module keeps no references to what its constructor was given.
        if (
            init is not None
            and cls.__module__.startswith("chainrule.")
            and not getattr(init, "_records_config", False)
        ):
            cls.__init__ = _record_config(init)  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"Module.__init__() takes no arguments, got {args} {kwargs}")
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        # Whether any hook dict may be non-empty: the one test on the hook-free call path.
        # The register_* methods and handles keep it; a hook put into a dict by hand is not
        # seen until the next register_*.
        object.__setattr__(self, "_has_hooks", False)
        self.__dict__.setdefault("_init_args", {})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._has_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _update_has_hooks(self) -> None:
        object.__setattr__(
            self,
            "_has_hooks",
            bool(
                self._forward_pre_hooks
                or self._forward_hooks
                or self._backward_hooks
                or self._backward_pre_hooks
            ),
        )

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """PyTorch's order: forward pre-hooks, the inputs' backward hook, forward, forward
        hooks, the outputs' backward hook."""
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                changed = hook(self, args, kwargs)
                if changed is not None:
                    if not (isinstance(changed, tuple) and len(changed) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {changed}."
                        )
                    args, kwargs = changed
            else:
                changed = hook(self, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        backward = None
        if (self._backward_hooks or self._backward_pre_hooks) and grad_mode.enabled:
            backward = _BackwardHook(
                self, list(self._backward_hooks.values()), list(self._backward_pre_hooks.values())
            )
            args = backward.setup_input_hook(args)
        out = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                changed = hook(self, args, kwargs, out)
            else:
                changed = hook(self, args, out)
            if changed is not None:
                out = changed
        if backward is not None:
            out = backward.setup_output_hook(out)
        return out

    def _add_hook(
        self, hooks: OrderedDict[int, Hook], hook: Hook, prepend: bool
    ) -> RemovableHandle:
        key = next(_hook_ids)
        hooks[key] = hook
        if prepend:
            hooks.move_to_end(key, last=False)
        object.__setattr__(self, "_has_hooks", True)
        return RemovableHandle(hooks, key, self)

    def register_forward_hook(
        self,
        hook: Hook,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        with_kwargs) after every forward, after the earlier ones unless prepend; a value it
        returns replaces the output. ``.remove()`` on the handle undoes it. always_call is
        accepted (an exception in forward propagates without calling hooks)."""
        handle = self._add_hook(self._forward_hooks, hook, prepend)
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_pre_hook(
        self, hook: Hook, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a value it returns replaces the
        args. With with_kwargs, ``hook(module, args, kwargs)`` returns None or a new
        ``(args, kwargs)``."""
        handle = self._add_hook(self._forward_pre_hooks, hook, prepend)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        return handle

    def register_full_backward_hook(self, hook: Hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once the gradients with respect to
        the module's positional tensor inputs are computed (None for an input that does not
        require grad); a tuple it returns replaces grad_input."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    def register_full_backward_pre_hook(self, hook: Hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs arrive, before they go further back; a tuple it returns replaces them."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_backward_hook(self, hook: Hook) -> RemovableHandle:
        """PyTorch's deprecated module backward hook; here the same as
        ``register_full_backward_hook``."""
        return self._add_hook(self._backward_hooks, hook, False)

    # --------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call "
                "super().__init__() first in your __init__"
            )
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            d.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            d.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter {name!r} of "
                    f"{type(self).__name__} (a Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Buffer):
            params.pop(name, None)
            modules.pop(name, None)
            d.pop(name, None)
            self.register_buffer(name, value, value.persistent)
        elif name in buffers:
            # A new value for a registered buffer keeps it registered (and persistent or not).
            buffers[name] = _as_buffer(value, name, type(self).__name__)
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module {name!r} of "
                    f"{type(self).__name__} (a Module or None expected)"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            if name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(
            set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules)
        )

    def _check_name(self, name: Any, kind: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot register a {kind} before Module.__init__() is called")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be a non-empty string without '.', got {name!r}")
        if hasattr(self, name):  # a method, a plain attribute, or a member of another table
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register param (or None, a declared but absent parameter such as a missing bias)."""
        if name not in self._parameters:
            self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot register a {type(param).__name__} as parameter {name!r} "
                "(a Parameter or None expected)"
            )
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """A tensor that is not trained but is saved in state_dict (unless not persistent), such
        as batch norm's running mean; None declares an absent buffer."""
        if name not in self._buffers:
            self._check_name(name, "buffer")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = _as_buffer(tensor, name, type(self).__name__)
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name must be a string, got {type(name).__name__}")
        if "." in name or not name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        if name not in self._modules and hasattr(type(self), name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r}")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        param = module._parameters.get(name)
        if param is None:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r}")
        return param

    # --------------------------------------------------------------- traversal
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(
                memo, f"{prefix}.{name}" if prefix else name, remove_duplicate
            )

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, table: str, prefix: str, recurse: bool, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each shared parameter once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every child (recursively) and then on this module, as PyTorch."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --------------------------------------------------------------- modes and state
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

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
        kwargs.pop("memory_format", None)
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

    def type(self, dst_type: Any) -> Module:
        return self._cast(dst_type)

    def _cast(self, dtype: Any) -> Module:
        dtype = as_dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to() only casts to floating-point dtypes, got {dtype}")
        for param in self.parameters():
            if param.dtype.kind == "f" and param.dtype != dtype:
                param.array = param.array.astype(dtype)
                param.grad = None
        for module in self.modules():
            for buffer in module._buffers.values():
                if buffer is not None and buffer.dtype.kind == "f":
                    buffer.array = buffer.array.astype(dtype, copy=False)
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def half(self) -> Module:
        return self.to(np.float16)

    def share_memory(self) -> Module:
        return self

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as PyTorch's: tensors that share
        the module's memory (detached unless keep_vars), in registration order; copy them
        (``copy.deepcopy`` or ``{k: v.clone()}``) to keep a snapshot."""
        if args:  # PyTorch's deprecated positional (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        out: dict[str, Tensor] = OrderedDict() if destination is None else destination
        self._save_to_state_dict(out, prefix, keep_vars)
        return out

    def _save_to_state_dict(self, out: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                out[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                out[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, child in self._modules.items():
            if child is not None:
                child._save_to_state_dict(out, f"{prefix}{name}.", keep_vars)

    def _state_slots(self) -> dict[str, tuple[Module, str, str]]:
        """Dotted key -> (module, table, name) of every entry state_dict would hold."""
        own: dict[str, tuple[Module, str, str]] = {}
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    own.setdefault(prefix + name, (module, "_parameters", name))
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers_set:
                    own.setdefault(prefix + name, (module, "_buffers", name))
        return own

    def load_state_dict(
        self, state_dict: Any, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy tensors (or arrays) into the parameters and buffers in place, checking names
        and shapes; returns (missing_keys, unexpected_keys), and with strict (the default)
        raises StateDictError naming them instead."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"expected a dict of tensors, got {type(state_dict).__name__}")
        hooked = [
            (name, module)
            for name, module in self.named_modules()
            if module.__dict__.get("_load_state_dict_pre_hooks")
        ]
        if hooked:  # they may rename keys: in a copy, as PyTorch's
            state_dict = OrderedDict(state_dict)
            for name, module in hooked:
                prefix = f"{name}." if name else ""
                for hook in list(module._load_state_dict_pre_hooks.values()):
                    hook(state_dict, prefix, {}, strict, [], [], [])
        own = self._state_slots()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(map(repr, missing))}")
            if unexpected:
                parts.append(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
            raise StateDictError(
                f"error loading state_dict for {type(self).__name__}: " + "; ".join(parts)
            )
        mismatched = []
        for key, (module, table, name) in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.array if isinstance(value, Tensor) else np.asarray(value)
            target = getattr(module, table)[name]
            if value.shape != target.shape:
                mismatched.append(
                    f"{key!r}: the checkpoint has shape {value.shape}, the model {target.shape}"
                )
        if mismatched:
            raise ShapeError(
                f"error loading state_dict for {type(self).__name__}: size mismatch for "
                + "; ".join(mismatched)
            )
        with no_grad():
            for key, (module, table, name) in own.items():
                if key not in state_dict:
                    continue
                value = state_dict[key]
                array = value.array if isinstance(value, Tensor) else np.asarray(value)
                target = getattr(module, table)[name]
                if assign:
                    target.array = np.array(array, dtype=target.dtype, copy=True)
                else:
                    np.copyto(target.array, array, casting="unsafe")
                    bump_version(target)
        return _IncompatibleKeys(missing, unexpected)

    def _register_load_state_dict_pre_hook(
        self, hook: Hook, with_module: bool = False
    ) -> RemovableHandle:
        """Call ``hook(state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` (module first with with_module) before load_state_dict
        matches keys; it may rename this module's entries (prefix: its dotted path)."""
        hooks = self.__dict__.get("_load_state_dict_pre_hooks")
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, "_load_state_dict_pre_hooks", hooks)
        if with_module:
            hook = functools.partial(hook, self)
        key = next(_hook_ids)
        hooks[key] = hook
        return RemovableHandle(hooks, key)

    # --------------------------------------------------------------- description
    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module (model files store them)."""
        out = {}
        for key, value in self._init_args.items():
            if key in self._not_config:
                continue
            try:
                out[key] = _json_value(value)
            except TypeError as error:
                raise ConfigError(
                    f"{type(self).__name__}: argument {key!r} is a {error}, which a model file "
                    "cannot store"
                ) from None
        return out

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; chainrule's layers derive it
        from their config, as ``arg=value`` for each argument that differs from its default."""
        if not type(self).__module__.startswith("chainrule."):
            return ""
        try:
            signature = inspect.signature(type(self).__init__)
        except (TypeError, ValueError):
            return ""
        parts = []
        for key, value in self._init_args.items():
            param = signature.parameters.get(key)
            if key in self._not_config or param is None or param.kind is param.VAR_POSITIONAL:
                continue
            if param.default is not param.empty and _same(value, param.default):
                continue
            parts.append(f"{key}={value!r}" if param.default is not param.empty else repr(value))
        return ", ".join(parts)

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        # PyTorch's layout: the extra_repr inline when it is one line and there are no
        # children, else every line of it and of the children indented below the name
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        if not lines:
            return f"{self._get_name()}()"
        if len(lines) == 1 and extra:
            return f"{self._get_name()}({extra})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class _BackwardHookFunction(Function):
    """y = x for the tensors given (packed into one flat array);  dy/dx = 1. Its backward
    hands the incoming gradients, split per tensor, to a callback that may replace them: one
    node for all the tensors, so that a module hook sees every gradient at once (the engine's
    nodes have one output, so the tensors are packed and sliced back out)."""

    promotes = False

    @staticmethod
    def forward(
        ctx: Context, *arrays: Any, callback: Callable[..., Any], received: list[bool]
    ) -> Any:
        ctx.shapes = [a.shape for a in arrays]
        ctx.dtypes = [a.dtype for a in arrays]
        ctx.callback, ctx.received = callback, received
        if len(arrays) == 1:
            return arrays[0].copy()
        dtype = np.result_type(*arrays)
        return np.concatenate([a.astype(dtype, copy=False).ravel() for a in arrays])

    @staticmethod
    def backward(ctx: Context, grad_out: Any) -> Any:
        if len(ctx.shapes) == 1:
            grads = [grad_out]
        else:
            grads, offset = [], 0
            for shape, dtype in zip(ctx.shapes, ctx.dtypes, strict=True):
                size = math.prod(shape)
                piece = grad_out[offset : offset + size].reshape(shape).astype(dtype)
                # a tensor that no gradient reached gets None, as PyTorch's
                grads.append(piece if ctx.received[len(grads)] else None)
                offset += size
        new = ctx.callback(grads)
        out = []
        for grad, shape in zip(new, ctx.shapes, strict=True):
            if grad is not None and grad.shape != shape:
                raise ShapeError(
                    f"a module backward hook returned a gradient of shape {grad.shape} for a "
                    f"tensor of shape {shape}"
                )
            out.append(grad)
        return tuple(out)


def _through_hook(
    items: tuple[Any, ...], callback: Callable[..., Any]
) -> tuple[tuple[Any, ...], list[int] | None]:
    """items with every float tensor that requires grad replaced by its image under
    _BackwardHookFunction; and those positions (None when there is none)."""
    live = [
        i
        for i, x in enumerate(items)
        if isinstance(x, Tensor) and x.requires_grad and x.dtype.kind in "fc"
    ]
    if not live:
        return items, None
    received = [False] * len(live)
    packed = apply(
        _BackwardHookFunction, *(items[i] for i in live), callback=callback, received=received
    )
    out = list(items)
    if len(live) == 1:
        out[live[0]] = packed
        return tuple(out), live
    offset = 0
    for k, i in enumerate(live):
        x = items[i]
        size = x.numel()
        out[i] = apply(
            _Unpack, packed, offset=offset, shape=x.shape, dtype=x.dtype, received=received, k=k
        )
        offset += size
    return tuple(out), live


class _Unpack(Function):
    """y = packed[offset : offset + size] as shape;  dy/dpacked = 1 there, 0 elsewhere. Its
    backward notes that a gradient reached the piece."""

    promotes = False

    @staticmethod
    def forward(
        ctx: Context,
        packed: Any,
        offset: int,
        shape: tuple[int, ...],
        dtype: Any,
        received: list[bool],
        k: int,
    ) -> Any:
        ctx.size, ctx.offset, ctx.received, ctx.k = packed.size, offset, received, k
        size = math.prod(shape)
        return packed[offset : offset + size].reshape(shape).astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad_out: Any) -> Any:
        ctx.received[ctx.k] = True
        full = np.zeros(ctx.size, dtype=grad_out.dtype)
        full[ctx.offset : ctx.offset + grad_out.size] = grad_out.ravel()
        return full


def _grad_array(grad: Any) -> Any:
    if grad is None:
        return None
    # a copy: the hook's tensor may be kept by the user, and the engine may sum into it
    return np.array(grad.array if isinstance(grad, Tensor) else grad, copy=True)


class _BackwardHook:
    """One forward call's module backward hooks: the outputs' node records grad_output (after
    the pre-hooks); the inputs' node then calls the hooks with grad_input and grad_output."""

    def __init__(self, module: Module, hooks: list[Hook], pre_hooks: list[Hook]) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: tuple[Any, ...] | None = None
        self.n_inputs = 0
        self.input_index: list[int] | None = None
        self.zero_inputs: list[tuple[int, tuple[int, ...], Any]] = []
        self.output_index: list[int] = []
        self.n_outputs = 0

    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        if not self.hooks:
            return args
        # PyTorch hands a float tensor input that does not require grad, beside one that
        # does, a zero gradient
        self.zero_inputs = [
            (i, a.shape, a.dtype)
            for i, a in enumerate(args)
            if isinstance(a, Tensor) and not a.requires_grad and a.dtype.kind in "fc"
        ]
        args, self.input_index = _through_hook(args, self._on_input_grads)
        return args

    def setup_output_hook(self, out: Any) -> Any:
        is_tuple = isinstance(out, tuple)
        items = out if is_tuple else (out,)
        self.n_outputs = len(items)
        items, index = _through_hook(items, self._on_output_grads)
        if index is None:
            return out
        self.output_index = index
        return items if is_tuple else items[0]

    def _on_output_grads(self, grads: list[Any]) -> list[Any]:
        packed: list[Any] = [None] * self.n_outputs
        for i, g in zip(self.output_index, grads, strict=True):
            packed[i] = None if g is None else make_tensor(g)
        grad_outputs = tuple(packed)
        for hook in self.pre_hooks:
            new = hook(self.module, grad_outputs)
            if new is None:
                continue
            new = new if isinstance(new, tuple | list) else (new,)
            if len(new) != len(grad_outputs):
                raise RuntimeError(
                    f"Backward pre hook returned an invalid number of grad_output, got "
                    f"{len(new)}, but expected {len(grad_outputs)}"
                )
            grad_outputs = tuple(new)
        self.grad_outputs = grad_outputs
        if self.input_index is None and self.hooks:
            # no input requires grad: the hooks run now, with grad_input all None
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                res = hook(self.module, grad_inputs, grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should "
                        "always return None or None for all gradients."
                    )
            self.grad_outputs = None
        return [
            g if grad_outputs[i] is packed[i] else _grad_array(grad_outputs[i])
            for i, g in zip(self.output_index, grads, strict=True)
        ]

    def _on_input_grads(self, grads: list[Any]) -> list[Any]:
        if self.grad_outputs is None:  # reached without passing the outputs' node
            return grads
        packed: list[Any] = [None] * self.n_inputs
        index = self.input_index or []  # set: this node exists only for wrapped inputs
        for i, g in zip(index, grads, strict=True):
            packed[i] = None if g is None else make_tensor(g)
        for i, shape, dtype in self.zero_inputs:
            packed[i] = make_tensor(np.zeros(shape, dtype=dtype))
        original = tuple(packed)
        grad_inputs = original
        for hook in self.hooks:
            new = hook(self.module, grad_inputs, self.grad_outputs)
            if new is None:
                continue
            new = new if isinstance(new, tuple | list) else (new,)
            if len(new) != len(grad_inputs):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got {len(new)}, "
                    f"but expected {len(grad_inputs)}"
                )
            grad_inputs = tuple(new)
        self.grad_outputs = None
        return [
            g if grad_inputs[i] is original[i] else _grad_array(grad_inputs[i])
            for i, g in zip(index, grads, strict=True)
        ]


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except (TypeError, ValueError):
        return False


def _as_buffer(value: Any, name: str, owner: str) -> Tensor | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray | np.generic | list | tuple | int | float | bool):
        value = Tensor._make(np.asarray(value))
    if isinstance(value, Tensor):
        if _budget:
            _spend(value.array, f"buffer {name!r}")
        return value
    raise TypeError(
        f"cannot assign {type(value).__name__} as buffer {name!r} of {owner} (a Tensor or None "
        "expected)"
    )


def snapshot(module: Module) -> dict[str, np.ndarray]:
    """Private copies of a module's state_dict as NumPy arrays (for checkpoints and restores)."""
    return {k: np.array(v.array, copy=True) for k, v in module.state_dict().items()}
