"""Checkpoints: nested training state (dicts, lists, numbers, strings, arrays) in the archive."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChainruleError, FormatError
from ..tensor import Tensor
from .archive import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    MAX_DEPTH,
    MAX_MEMBERS,
    _Archive,
    _spec,
    _write_archive,
)


def _encode(value: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    """JSON-able copy of value with every array replaced by {"__tensor__": index}."""
    if depth > MAX_DEPTH:
        raise ChainruleError(f"checkpoint state is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__tensor__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if value and all(isinstance(k, int) and not isinstance(k, bool) for k in value):
            # Integer keys (an optimizer's per-parameter state) survive JSON as a list of pairs.
            return {"__int_keys__": [[k, _encode(v, arrays, depth + 1)] for k, v in value.items()]}
        out = {}
        for key, item in value.items():
            if key in ("__tensor__", "__int_keys__") or not isinstance(key, str):
                raise ChainruleError(f"cannot checkpoint a dict with key {key!r}")
            out[key] = _encode(item, arrays, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_encode(item, arrays, depth + 1) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ChainruleError(f"cannot checkpoint a value of type {type(value).__name__}")


def _decode(value: Any, arrays: list[np.ndarray], path: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise FormatError(f"{path}: state is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if "__tensor__" in value:
            index = value["__tensor__"]
            if len(value) != 1 or isinstance(index, bool) or not isinstance(index, int):
                raise FormatError(f"{path}: bad tensor reference {value!r}")
            if not 0 <= index < len(arrays):
                raise FormatError(
                    f"{path}: reference to tensor {index}, the file has {len(arrays)}"
                )
            return arrays[index]
        if "__int_keys__" in value:
            pairs = value["__int_keys__"]
            if (
                len(value) != 1
                or not isinstance(pairs, list)
                or not all(isinstance(p, list) and len(p) == 2 and type(p[0]) is int for p in pairs)
            ):
                raise FormatError(f"{path}: bad integer-keyed entry")
            return {k: _decode(v, arrays, path, depth + 1) for k, v in pairs}
        return {key: _decode(item, arrays, path, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, arrays, path, depth + 1) for item in value]
    return value


def save_checkpoint(
    path: str | os.PathLike[str], state: dict[str, Any], metadata: Any = None
) -> None:
    """Write nested training state (dicts, lists, numbers, strings, arrays) atomically.

    The previous file at ``path`` stays intact until the new one is complete and fsynced; on a
    full disk or a read-only folder this raises ChainruleError and leaves it byte-identical.
    """
    arrays: list[np.ndarray] = []
    encoded = _encode(state, arrays)
    header = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "tensors": [_spec(np.asarray(a)) for a in arrays],
        "state": encoded,
        "metadata": metadata if metadata is not None else {},
    }
    _write_archive(path, header, arrays)


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> Any:
    """A checkpoint's metadata (e.g. the run's settings), reading no tensor."""
    with _Archive(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION) as archive:
        return archive.header.get("metadata", {})


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """(state, metadata) of a checkpoint written by ``save_checkpoint``, every check applied."""
    with _Archive(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION) as archive:
        header = archive.header
        table = header.get("tensors")
        if not isinstance(table, list) or len(table) > MAX_MEMBERS:
            raise FormatError(f"{path}: header has no 'tensors' list")
        checked = archive.check_tensors([(f"#{i}", spec) for i, spec in enumerate(table)])
        arrays = [archive.read_tensor(i, f"#{i}", *spec) for i, spec in enumerate(checked)]
        state = _decode(header.get("state"), arrays, path)
    if not isinstance(state, dict):
        raise FormatError(f"{path}: checkpoint holds no state object")
    return state, header.get("metadata", {})


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """A checkpoint path: a folder means FOLDER/checkpoint.npz."""
    path = Path(path)
    return path / "checkpoint.npz" if path.is_dir() else path


def iter_arrays(value: Any) -> Iterator[np.ndarray]:
    """Every array inside nested dicts and lists (for tests and size reports)."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_arrays(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_arrays(item)
