"""Architectures as JSON: a layer tree of {"type", "config", "layers"} where type names a class
exported by chainrule.nn and config holds its recorded constructor arguments."""

from __future__ import annotations

import inspect
import math
from typing import Any

from .. import models, nn
from ..errors import ChainruleError, ConfigError, FormatError
from ..nn.module import AllocationError
from .archive import MAX_DEPTH, MAX_DIMS


def _layer_types() -> dict[str, type[nn.Module]]:
    """Every layer class exported by chainrule.nn (losses excluded) and the built-in models'
    own layers (chainrule.models.LAYERS): the only loadable types."""
    types = {}
    for name in nn.__all__:
        cls = getattr(nn, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, nn.Module)
            and cls is not nn.Module
            and "Loss" not in name
        ):
            types[name] = cls
    for cls in models.LAYERS:
        types[cls.__name__] = cls
    return types


LAYER_TYPES = _layer_types()


def _check_config(cls: type[nn.Module], name: str, config: dict[str, Any]) -> None:
    """Keys must be constructor arguments; scalars must have the type of the default."""
    parameters = inspect.signature(cls).parameters
    for key, value in config.items():
        param = parameters.get(key)
        if param is None or param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise FormatError(f"{name} has no argument {key!r}")
        if not _is_plain_json(value):
            raise FormatError(f"{name}: argument {key!r} has an unsupported value {value!r}")
        default = param.default
        if value is None:
            continue  # None is a setting of its own (momentum=None); the constructor checks it
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float | str):
            # The default's type, or a list of it (Conv2d saves stride=1 as [1, 1]), or a mode's
            # name where the default is a number (padding='same'): the constructor checks it.
            values = value if isinstance(value, list) else [value]
            ok = all(_like(v, default) or isinstance(v, str) for v in values)
        else:
            ok = True  # no default or a structured one: the constructor checks it
        if not ok:
            raise FormatError(f"{name}: argument {key!r} must be like {default!r}, got {value!r}")


def _like(value: Any, default: Any) -> bool:
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) if isinstance(default, int) else math.isfinite(value)


def _is_plain_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    return (
        isinstance(value, list)
        and len(value) <= MAX_DIMS
        and all(v is None or isinstance(v, bool | int | float | str) for v in value)
    )


def _entry(architecture: Any, depth: int) -> tuple[str, type[nn.Module], dict[str, Any]]:
    if depth > MAX_DEPTH:
        raise FormatError(f"architecture is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(architecture, dict) or not isinstance(architecture.get("type"), str):
        raise FormatError("architecture entry is not an object with a 'type'")
    name = architecture["type"]
    cls = LAYER_TYPES.get(name)
    if cls is None:
        raise FormatError(f"unknown layer type {name!r} in model file")
    config = architecture.get("config", {})
    if not isinstance(config, dict):
        raise FormatError(f"config of {name} is not an object")
    if cls is nn.Sequential:
        if config:
            raise FormatError(f"Sequential takes no arguments, got {sorted(config)}")
    else:
        _check_config(cls, name, config)
    return name, cls, config


def describe(model: nn.Module) -> dict[str, Any]:
    """The architecture as JSON-able data: {'type': ..., 'config': ..., 'layers': [...]}.

    A Sequential lists its layers; any other layer is rebuilt from its config alone (the
    sub-modules its constructor makes included)."""
    name = type(model).__name__
    if LAYER_TYPES.get(name) is not type(model):
        raise FormatError(
            f"cannot save a {name} as a model file: only chainrule.nn layers, the built-in "
            "models' layers and Sequentials of them can be described; save its weights with "
            "chainrule.save(model.state_dict(), path) and rebuild it in code"
        )
    try:
        config = model.config()
    except ConfigError as exc:
        raise FormatError(f"cannot save {name}: {exc}") from exc
    entry: dict[str, Any] = {"type": name, "config": config}
    if isinstance(model, nn.Sequential):
        entry["layers"] = [describe(child) for child in model]
    return entry


def build(architecture: Any, depth: int = 0) -> nn.Module:
    """Rebuild a model from ``describe``'s output, allowing registered layer types only.

    On untrusted input, build inside ``nn.module.allocation_budget``: a layer allocates its
    tensors when it is built.
    """
    name, cls, config = _entry(architecture, depth)
    if cls is nn.Sequential:
        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise FormatError("Sequential entry has no 'layers' list")
        return nn.Sequential(*(build(layer, depth + 1) for layer in layers))
    try:
        return cls(**config)
    except (TypeError, ValueError, OverflowError, ChainruleError) as exc:
        if isinstance(exc, AllocationError):
            raise
        raise FormatError(f"bad arguments for {name} in model file: {exc}") from exc
