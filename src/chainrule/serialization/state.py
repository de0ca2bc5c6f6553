"""State files: a state_dict, or any nesting of dicts, lists and tensors (an optimizer's state,
a training checkpoint), in the safetensors format.

safetensors holds named arrays and string metadata, and parsing it runs no code. A chainrule
state file stores every tensor under its dotted path (``fc1.weight``, ``optimizer.state.0.
exp_avg``) and, in the metadata entry ``chainrule``, the JSON structure around them (key order,
numbers, strings). So a state_dict saved here loads into PyTorch with
``safetensors.torch.load_file`` (which reads the tensors and ignores the metadata), and a file
PyTorch wrote with ``safetensors.torch.save_file`` loads here as a dict of tensors.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import FormatError
from ..fileio import atomic_write_bytes
from ..tensor import Tensor

MAX_DEPTH = 64
_STRUCTURE = "chainrule"
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


def _safetensors() -> Any:
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - a dependency; absent only in a broken install
        raise FormatError(
            "state files need the safetensors package: pip install safetensors"
        ) from None
    return safetensors.numpy


def _encode(value: Any, path: str, tensors: dict[str, np.ndarray], depth: int) -> Any:
    """JSON for value, with each tensor moved into tensors under a unique dotted key."""
    if depth > MAX_DEPTH:
        raise FormatError(f"cannot save state nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Tensor | np.ndarray):
        array = value.array if isinstance(value, Tensor) else value
        if str(array.dtype) not in _DTYPES:
            raise FormatError(f"cannot save {path or 'a tensor'} of dtype {array.dtype}")
        key = path if path and path not in tensors else f"#{len(tensors)}"
        tensors[key] = np.require(array, requirements="C")
        return {"__tensor__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        keys = list(value)
        if keys and all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
            return {
                "__int_keys__": [
                    [k, _encode(value[k], f"{path}.{k}" if path else str(k), tensors, depth + 1)]
                    for k in keys
                ]
            }
        out = {}
        for k in keys:
            if not isinstance(k, str) or k in ("__tensor__", "__int_keys__", "__tuple__"):
                raise FormatError(f"cannot save a dict key {k!r} (strings or integers only)")
            out[k] = _encode(value[k], f"{path}.{k}" if path else k, tensors, depth + 1)
        return out
    if isinstance(value, list | tuple):
        items = [
            _encode(v, f"{path}.{i}" if path else str(i), tensors, depth + 1)
            for i, v in enumerate(value)
        ]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise FormatError(
        f"cannot save {path or 'the object'}: a {type(value).__name__} is not a tensor, number, "
        "string, list or dict (state files hold data, never code)"
    )


def _decode(value: Any, tensors: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise FormatError(f"state is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if "__tensor__" in value:
            key = value["__tensor__"]
            if len(value) != 1 or not isinstance(key, str) or key not in tensors:
                raise FormatError(f"bad tensor reference {value!r} in the file's structure")
            return Tensor._make(tensors[key])
        if "__int_keys__" in value:
            pairs = value["__int_keys__"]
            if (
                len(value) != 1
                or not isinstance(pairs, list)
                or not all(isinstance(p, list) and len(p) == 2 and type(p[0]) is int for p in pairs)
            ):
                raise FormatError("bad integer-keyed entry in the file's structure")
            return {k: _decode(v, tensors, depth + 1) for k, v in pairs}
        if "__tuple__" in value:
            items = value["__tuple__"]
            if len(value) != 1 or not isinstance(items, list):
                raise FormatError("bad tuple entry in the file's structure")
            return tuple(_decode(v, tensors, depth + 1) for v in items)
        return {k: _decode(v, tensors, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, tensors, depth + 1) for v in value]
    return value


def state_bytes(obj: Any, metadata: Any = None) -> bytes:
    """obj as safetensors bytes (see the module's docstring)."""
    tensors: dict[str, np.ndarray] = {}
    structure = _encode(obj, "", tensors, 0)
    meta = {"format": "pt", _STRUCTURE: json.dumps(structure)}
    if metadata is not None:
        meta["chainrule.metadata"] = json.dumps(metadata)
    return bytes(_safetensors().save(tensors, metadata=meta))


def save_state(obj: Any, f: Any, metadata: Any = None) -> None:
    """Write obj to a path (atomically: a reader sees the old file or the new one) or to a
    binary file object."""
    data = state_bytes(obj, metadata)
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write_bytes(f, data)


def is_state_file(head: bytes) -> bool:
    """Whether a file's first bytes start a safetensors file: an 8-byte little-endian header
    length, then the JSON header's '{'."""
    return len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def _read(f: Any) -> tuple[bytes, str]:
    if hasattr(f, "read"):
        return f.read(), getattr(f, "name", "the file object")
    path = os.fspath(f)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise FormatError(f"{path} is not a regular file")
        with open(path, "rb") as handle:
            return handle.read(), path
    except FileNotFoundError:
        raise FormatError(f"file {path} does not exist") from None
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_state_bytes(data: bytes, name: str = "the file") -> Any:
    if not is_state_file(data[:9]):
        raise FormatError(f"{name} is not a safetensors state file")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise FormatError(f"{name}: header of {size} bytes is past the end (truncated?)")
    try:
        header = json.loads(data[8 : 8 + size])
        tensors = _safetensors().load(data)
    except Exception as exc:
        raise FormatError(f"{name} is not a valid safetensors file: {exc}") from None
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise FormatError(f"{name}: bad metadata")
    structure = meta.get(_STRUCTURE)
    if structure is None:  # written by another program: a flat dict, in the file's order
        order = [k for k in header if k != "__metadata__"]
        return {k: Tensor._make(tensors[k]) for k in order}
    try:
        parsed = json.loads(structure)
    except ValueError:
        raise FormatError(f"{name}: the structure in its metadata is not JSON") from None
    return _decode(parsed, tensors, 0)


def load_state(f: Any) -> Any:
    """What save_state wrote (tensors come back as chainrule Tensors), or the dict of tensors
    of any safetensors file."""
    data, name = _read(f)
    return load_state_bytes(data, name)


def read_head(f: Any) -> bytes:
    """A file's first bytes, leaving a file object where it was."""
    if hasattr(f, "read"):
        start = f.tell()
        head = f.read(512)
        f.seek(start)
        return head
    path = os.fspath(f)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise FormatError(f"{path} is not a regular file")
        with open(path, "rb") as handle:
            return handle.read(512)
    except FileNotFoundError:
        raise FormatError(f"file {path} does not exist") from None
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None
