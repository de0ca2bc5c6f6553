"""Model files that never execute code on load.

A model file is a zip archive (readable by ``np.load`` as an .npz) holding:
- ``header.json``: format name and version, the architecture as JSON (layer types from a fixed
  registry with their constructor arguments), each tensor's dtype, shape and sha256, metadata;
- one ``.npy`` member per tensor, read with ``allow_pickle=False``.

Nothing is unpickled and no name read from the file is used as a path or looked up as code: layer
types are looked up in ``LAYER_TYPES`` only. The checksums catch a mutated archive that would
otherwise load silently shifted data.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from . import nn
from .errors import FormatError
from .fileio import atomic_write_with

FORMAT = "chainrule-model"
VERSION = 1
MAX_HEADER_BYTES = 1 << 20  # an architecture is a few kB; a larger header is not ours
ALLOWED_DTYPES = ("float32", "float64", "int64", "uint8")


def _layer_types() -> dict[str, type[nn.Module]]:
    """Every layer class exported by chainrule.nn that can describe itself (losses excluded)."""
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
    return types


LAYER_TYPES = _layer_types()


def describe(model: nn.Module) -> dict[str, Any]:
    """The architecture as JSON-able data: {'type': ..., 'config': ..., 'layers': [...]}."""
    name = type(model).__name__
    if LAYER_TYPES.get(name) is not type(model):
        raise FormatError(f"cannot save a {name}: only chainrule.nn layers can be described")
    entry: dict[str, Any] = {"type": name, "config": model.config()}
    if isinstance(model, nn.Sequential):
        entry["layers"] = [describe(child) for child in model]
    elif model._modules:
        raise FormatError(f"cannot save {name}: it has sub-modules but is not a Sequential")
    return entry


def build(architecture: Any) -> nn.Module:
    """Rebuild a model from ``describe``'s output, allowing registered layer types only."""
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
        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise FormatError("Sequential entry has no 'layers' list")
        return nn.Sequential(*(build(layer) for layer in layers))
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"bad arguments for {name} in model file: {exc}") from exc


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save(model: nn.Module, path: str | os.PathLike[str], metadata: Any = None) -> None:
    """Write ``model`` (architecture and weights) to ``path`` atomically."""
    state = model.state_dict()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": describe(model),
        "tensors": {
            name: {
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
            }
            for name, array in state.items()
        },
        "metadata": metadata if metadata is not None else {},
    }

    def write(handle: Any) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr("header.json", json.dumps(header, indent=1))
            for i, array in enumerate(state.values()):
                archive.writestr(f"t{i}.npy", _npy_bytes(array))

    atomic_write_with(path, write)


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed header.json of a model file (architecture, tensor table, metadata)."""
    with _open(path) as archive:
        return _header(archive, path)


def _open(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise FormatError(f"model file {path} does not exist") from exc
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FormatError(f"{path} is not a chainrule model file ({exc})") from exc


def _header(archive: zipfile.ZipFile, path: Any) -> dict[str, Any]:
    try:
        info = archive.getinfo("header.json")
    except KeyError as exc:
        raise FormatError(f"{path} is not a chainrule model file (no header.json)") from exc
    if info.file_size > MAX_HEADER_BYTES:
        raise FormatError(f"{path}: header of {info.file_size} bytes exceeds the 1 MiB limit")
    try:
        header = json.loads(archive.read(info))
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FormatError(f"{path} is not a chainrule model file (format is not {FORMAT!r})")
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise FormatError(
            f"{path} has format version {version}; this chainrule reads up to {VERSION} "
            "(upgrade chainrule)"
        )
    return header


def load(path: str | os.PathLike[str]) -> nn.Module:
    """Read a model file written by ``save``: build the architecture, check, then fill weights."""
    with _open(path) as archive:
        header = _header(archive, path)
        model = build(header.get("architecture"))
        expected = model.state_dict()
        table = header.get("tensors")
        if not isinstance(table, dict) or list(table) != list(expected):
            raise FormatError(
                f"{path}: stored tensors {list(table or {})} do not match the architecture's "
                f"{list(expected)}"
            )
        state = {}
        for i, (name, spec) in enumerate(table.items()):
            want = expected[name]
            if spec.get("shape") != list(want.shape) or spec.get("dtype") != str(want.dtype):
                raise FormatError(
                    f"{path}: tensor {name!r} is {spec.get('dtype')} {spec.get('shape')}, the "
                    f"architecture needs {want.dtype} {list(want.shape)}"
                )
            try:
                raw = archive.read(f"t{i}.npy")
                array = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
            except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
                raise FormatError(f"{path}: tensor {name!r} cannot be read ({exc})") from exc
            if array.shape != want.shape or array.dtype != want.dtype:
                raise FormatError(f"{path}: tensor {name!r} disagrees with its header entry")
            digest = hashlib.sha256(array.tobytes()).hexdigest()
            if digest != spec.get("sha256"):
                raise FormatError(f"{path}: tensor {name!r} fails its sha256 check (corrupted)")
            state[name] = array
    model.load_state_dict(state)
    model.eval()
    return model
