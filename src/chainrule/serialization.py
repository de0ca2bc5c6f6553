"""Model and checkpoint files that never execute code on load.

Layout (format version 1; docs/file-format.md says the same for users). A file is a plain,
uncompressed zip archive (so ``np.load`` and ``unzip -l`` can look inside) with exactly these
members, in this order:

- ``header.json``: UTF-8 JSON, at most 4 MiB, an object with
    - ``format``: ``"chainrule-model"`` or ``"chainrule-checkpoint"``; ``version``: 1;
    - ``tensors``: one entry ``{"dtype", "shape", "sha256"}`` per tensor member; a model file
      keys them by parameter name (``"1.weight"``), a checkpoint lists them in member order;
    - a model file: ``architecture``, the layer tree as ``{"type", "config", "layers"}`` where
      ``type`` names a class of ``chainrule.nn`` that has a size rule (``SIZE_RULES``) and
      ``config`` holds its constructor arguments as JSON values;
    - a checkpoint: ``state``, the training state as JSON in which ``{"__tensor__": i}``
      stands for tensor member i;
    - ``metadata``: free JSON (the run's settings), never interpreted by the loader.
- ``t0.npy``, ``t1.npy``, ...: one NumPy .npy array per tensor entry, stored (not compressed),
  little-endian, C order, of an allowed dtype (``ALLOWED_DTYPES``: no object arrays).

What loading guarantees:
- Nothing is unpickled or evaluated: .npy headers are parsed by NumPy's literal parser with
  object dtypes refused, layer types are looked up in a registry of chainrule.nn classes, and
  names read from the file are only compared with names the code expects, never used as paths.
- Sizes are checked before anything is allocated: the zip directory (at most 10,000 members,
  2 MiB), the header (at most 4 MiB, read with a bounded reader), every tensor's declared bytes
  against its member's size, and the total against the file's size; for a model file the
  parameter shapes are computed from the architecture (``declared_tensors``) and compared with
  the stored ones before any layer is built. A file can therefore make the loader allocate at
  most about its own size.
- Every tensor's bytes match its sha256, and every member its zip CRC-32.
- Any truncated, corrupted, foreign, too new or inconsistent file raises ``FormatError`` with a
  message naming the problem; nothing else escapes.

Writes are atomic (``fileio.atomic_open``): a reader sees the previous file or the new one.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import nn
from .errors import ChainruleError, FormatError
from .fileio import atomic_write_with

FORMAT = "chainrule-model"
VERSION = 1
CHECKPOINT_FORMAT = "chainrule-checkpoint"
CHECKPOINT_VERSION = 1

MAX_HEADER_BYTES = 4 << 20  # an architecture is a few kB, a checkpoint's history some more
MAX_MEMBERS = 10_000  # zip entries; a model has tens of tensors, a checkpoint a few times that
MAX_DIRECTORY_BYTES = 2 << 20  # the zip central directory, parsed (into objects) before anything
MAX_NPY_HEADER = 4096  # NumPy writes 128 bytes; more is not a file we wrote
MAX_DIMS = 32  # NumPy's own limit is 64
MAX_DEPTH = 64  # nesting of the architecture and of checkpoint state
ALLOWED_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")

# What can go wrong inside zipfile and NumPy's .npy parser on a damaged file. Our own checks
# raise FormatError directly; this list is only caught around calls into those libraries.
_DAMAGE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,  # includes UnicodeDecodeError and NumPy's header errors
    struct.error,
    zlib.error,
    NotImplementedError,  # zipfile: unsupported zip version or compression
    RuntimeError,  # zipfile: encrypted member
    OverflowError,
    RecursionError,
    SyntaxError,
    TypeError,
    KeyError,
)


# ----------------------------------------------------------------------------- layer registry
def _layer_types() -> dict[str, type[nn.Module]]:
    """Every layer class exported by chainrule.nn (losses excluded): the only loadable types."""
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

Shape = tuple[int, ...]
SizeRule = Callable[[dict[str, Any]], dict[str, Shape]]


def _int_arg(config: dict[str, Any], key: str, layer: str, default: Any = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise FormatError(
            f"{layer}: argument {key!r} must be a non-negative integer, got {value!r}"
        )
    return value


def _pair_arg(config: dict[str, Any], key: str, layer: str, default: Any = None) -> Shape:
    value = config.get(key, default)
    values = value if isinstance(value, list) else [value, value]
    if len(values) != 2:
        raise FormatError(f"{layer}: argument {key!r} must be an integer or a pair, got {value!r}")
    return tuple(_int_arg({key: v}, key, layer) for v in values)


def _bias(config: dict[str, Any], layer: str) -> bool:
    bias = config.get("bias", True)
    if not isinstance(bias, bool):
        raise FormatError(f"{layer}: argument 'bias' must be true or false, got {bias!r}")
    return bias


def _linear_sizes(config: dict[str, Any]) -> dict[str, Shape]:
    in_f = _int_arg(config, "in_features", "Linear")
    out_f = _int_arg(config, "out_features", "Linear")
    shapes: dict[str, Shape] = {"weight": (out_f, in_f)}
    if _bias(config, "Linear"):
        shapes["bias"] = (out_f,)
    return shapes


def _conv2d_sizes(config: dict[str, Any]) -> dict[str, Shape]:
    in_c = _int_arg(config, "in_channels", "Conv2d")
    out_c = _int_arg(config, "out_channels", "Conv2d")
    kh, kw = _pair_arg(config, "kernel_size", "Conv2d")
    shapes: dict[str, Shape] = {"weight": (out_c, in_c, kh, kw)}
    if _bias(config, "Conv2d"):
        shapes["bias"] = (out_c,)
    return shapes


def _batch_norm_sizes(config: dict[str, Any]) -> dict[str, Shape]:
    n = (_int_arg(config, "num_features", "BatchNorm"),)
    return {"weight": n, "bias": n, "running_mean": n, "running_var": n}


def _normalize_sizes(config: dict[str, Any]) -> dict[str, Shape]:
    shape = config.get("shape", [1])
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise FormatError(f"Normalize: argument 'shape' must be a list of sizes, got {shape!r}")
    dims = tuple(_int_arg({"shape": d}, "shape", "Normalize") for d in shape)
    return {"mean": dims, "std": dims}


def _no_tensors(config: dict[str, Any]) -> dict[str, Shape]:
    return {}


# The tensors each layer type creates, computed from its config alone, so that a file's claims
# are checked before any layer allocates. Save refuses a type that has no rule here.
SIZE_RULES: dict[str, SizeRule] = {
    "Linear": _linear_sizes,
    "Conv2d": _conv2d_sizes,
    "BatchNorm1d": _batch_norm_sizes,
    "BatchNorm2d": _batch_norm_sizes,
    "Normalize": _normalize_sizes,
    **dict.fromkeys(
        ("ReLU", "Sigmoid", "Tanh", "Identity", "LeakyReLU", "Softmax", "LogSoftmax", "Flatten",
         "Unflatten", "Dropout", "MaxPool2d", "AvgPool2d", "Sequential"),
        _no_tensors,
    ),
}  # fmt: skip


def _size_rule(name: str, cls: type[nn.Module]) -> SizeRule | None:
    """SIZE_RULES, or a layer's own ``tensor_shapes(config)`` static method (a new layer can
    describe itself there instead of being added here)."""
    rule = SIZE_RULES.get(name)
    if rule is None:
        rule = getattr(cls, "tensor_shapes", None)
    return rule if callable(rule) else None


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
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float | str):
            # The default's type, or a list of it (Conv2d saves stride=1 as [1, 1]).
            ok = all(_like(v, default) for v in (value if isinstance(value, list) else [value]))
        else:
            ok = True  # no default or a structured one: the size rule checks what matters
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
    if cls is None or _size_rule(name, cls) is None:
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


def declared_tensors(architecture: Any, prefix: str = "", depth: int = 0) -> dict[str, Shape]:
    """The shape of every parameter and buffer the architecture would create, by dotted name,
    computed from the configs without building (or allocating) anything."""
    name, cls, config = _entry(architecture, depth)
    rule = _size_rule(name, cls)
    if rule is None:  # _entry checked it; this keeps type checkers informed
        raise FormatError(f"unknown layer type {name!r} in model file")
    try:
        declared = rule(config)
    except FormatError:
        raise
    except (TypeError, ValueError) as exc:
        raise FormatError(f"bad arguments for {name} in model file: {exc}") from exc
    shapes = {f"{prefix}{key}": tuple(shape) for key, shape in declared.items()}
    if cls is nn.Sequential:
        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise FormatError("Sequential entry has no 'layers' list")
        for i, layer in enumerate(layers):
            shapes.update(declared_tensors(layer, f"{prefix}{i}.", depth + 1))
    return shapes


def describe(model: nn.Module) -> dict[str, Any]:
    """The architecture as JSON-able data: {'type': ..., 'config': ..., 'layers': [...]}."""
    name = type(model).__name__
    if LAYER_TYPES.get(name) is not type(model):
        raise FormatError(f"cannot save a {name}: only chainrule.nn layers can be described")
    if _size_rule(name, type(model)) is None:
        raise FormatError(
            f"cannot save a {name}: it has no size rule (serialization.SIZE_RULES, or a "
            "tensor_shapes(config) static method on the class)"
        )
    entry: dict[str, Any] = {"type": name, "config": model.config()}
    if isinstance(model, nn.Sequential):
        entry["layers"] = [describe(child) for child in model]
    elif model._modules:
        raise FormatError(f"cannot save {name}: it has sub-modules but is not a Sequential")
    return entry


def build(architecture: Any, depth: int = 0) -> nn.Module:
    """Rebuild a model from ``describe``'s output, allowing registered layer types only.

    Call ``declared_tensors`` first on untrusted input: building allocates the parameters.
    """
    name, cls, config = _entry(architecture, depth)
    if cls is nn.Sequential:
        layers = architecture.get("layers")
        if not isinstance(layers, list):
            raise FormatError("Sequential entry has no 'layers' list")
        return nn.Sequential(*(build(layer, depth + 1) for layer in layers))
    try:
        return cls(**config)
    except (TypeError, ValueError, ChainruleError) as exc:
        raise FormatError(f"bad arguments for {name} in model file: {exc}") from exc


# ----------------------------------------------------------------------------- writing
def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _spec(array: np.ndarray) -> dict[str, Any]:
    if str(array.dtype) not in ALLOWED_DTYPES:
        raise FormatError(
            f"cannot store an array of dtype {array.dtype} (allowed: {ALLOWED_DTYPES})"
        )
    return {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
    }


def _write_archive(path: str | os.PathLike[str], header: dict[str, Any], arrays: list[Any]) -> None:
    """header.json then t{i}.npy, uncompressed, through an atomic write."""
    text = json.dumps(header, indent=1, allow_nan=True)

    def write(handle: Any) -> None:
        archive = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED)
        try:
            archive.writestr("header.json", text)
            for i, array in enumerate(arrays):
                archive.writestr(f"t{i}.npy", _npy_bytes(np.asarray(array)))
        except BaseException:
            # Abandon the archive (atomic_open deletes the temporary file): ZipFile.close()
            # would write a directory, or raise a ValueError of its own in the middle of a
            # member, hiding the real error (a full disk, a second Ctrl-C).
            archive.fp = None
            raise
        archive.close()

    atomic_write_with(path, write)


def save(model: nn.Module, path: str | os.PathLike[str], metadata: Any = None) -> None:
    """Write ``model`` (architecture and weights) to ``path`` atomically.

    Args:
        model: a chainrule.nn layer or Sequential of them.
        metadata: JSON-able data stored beside the model (e.g. the training settings).

    Example:
        >>> import chainrule, tempfile, os
        >>> model = chainrule.nn.Sequential(chainrule.nn.Linear(4, 2), chainrule.nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> chainrule.save(model, path)
        >>> chainrule.load(path)[0].weight.shape
        (2, 4)
    """
    architecture = describe(model)
    state = model.state_dict()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "tensors": {name: _spec(array) for name, array in state.items()},
        "metadata": metadata if metadata is not None else {},
    }
    _write_archive(path, header, list(state.values()))


# ----------------------------------------------------------------------------- reading
def _zip_directory_size(handle: BinaryIO, file_size: int, what: str) -> tuple[int, int]:
    """(entries, central directory bytes) from the end record, read before zipfile parses the
    directory into one Python object per entry (a file of a million tiny entries would
    otherwise cost a gigabyte before any check)."""
    tail_size = min(file_size, 22 + 0xFFFF)
    handle.seek(file_size - tail_size)
    tail = handle.read(tail_size)
    # As zipfile: an end record without comment sits in the last 22 bytes, else search back.
    pos = tail_size - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06")
    if pos < 0 or tail_size - pos < 22:
        raise FormatError(f"{what} (not a zip archive, or truncated)")
    entries, directory_bytes = struct.unpack("<HI", tail[pos + 10 : pos + 16])
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:  # Zip64: the real numbers are before
        locator = pos - 20
        if locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
            raise FormatError(f"{what} (damaged zip64 end record)")
        (offset,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        if offset + 56 > file_size:
            raise FormatError(f"{what} (damaged zip64 end record)")
        handle.seek(offset)
        record = handle.read(56)
        if record[:4] != b"PK\x06\x06":
            raise FormatError(f"{what} (damaged zip64 end record)")
        entries, directory_bytes = struct.unpack("<QQ", record[32:48])
    return entries, directory_bytes


def _dims(value: Any, what: str) -> Shape:
    if not isinstance(value, list) or len(value) > MAX_DIMS:
        raise FormatError(
            f"{what}: shape must be a list of at most {MAX_DIMS} sizes, got {value!r}"
        )
    for d in value:
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < 2**62:
            raise FormatError(f"{what}: shape {value!r} holds an invalid size {d!r}")
    return tuple(value)


class _Archive:
    """An open chainrule file whose zip structure and header have passed the size checks."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, version: int) -> None:
        self.path = path
        self.not_ours = (
            f"{path} is not a chainrule {'model file' if fmt == FORMAT else 'checkpoint'}"
        )
        try:
            self.handle: BinaryIO = open(path, "rb")  # closed by close()
        except FileNotFoundError as exc:
            raise FormatError(f"file {path} does not exist") from exc
        except OSError as exc:
            raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            self._open(fmt, version)
        except BaseException:
            self.handle.close()
            raise

    def _open(self, fmt: str, version: int) -> None:
        path = self.path
        try:
            self.file_size = os.fstat(self.handle.fileno()).st_size
            entries, directory_bytes = _zip_directory_size(
                self.handle, self.file_size, self.not_ours
            )
        except _DAMAGE as exc:
            raise FormatError(f"{self.not_ours} ({exc})") from exc
        if entries > MAX_MEMBERS or directory_bytes > min(MAX_DIRECTORY_BYTES, self.file_size):
            raise FormatError(
                f"{path}: the zip directory declares {entries} members in {directory_bytes} "
                f"bytes, more than a chainrule file holds (limits {MAX_MEMBERS} members, "
                f"{MAX_DIRECTORY_BYTES} bytes, the file's {self.file_size} bytes)"
            )
        try:
            self.handle.seek(0)
            self.zip = zipfile.ZipFile(self.handle)
            members = self.zip.infolist()
        except _DAMAGE as exc:
            raise FormatError(f"{self.not_ours} ({exc})") from exc
        self.members: dict[str, zipfile.ZipInfo] = {}
        stored = 0
        for info in members:
            if info.filename in self.members:
                raise FormatError(f"{path}: member {info.filename!r} appears twice")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                raise FormatError(
                    f"{path}: member {info.filename!r} is compressed or encrypted; chainrule "
                    "files store every member as is"
                )
            if info.compress_size != info.file_size:
                raise FormatError(
                    f"{path}: member {info.filename!r} declares {info.file_size} bytes but "
                    f"stores {info.compress_size}"
                )
            stored += info.compress_size
            self.members[info.filename] = info
        if stored > self.file_size:
            raise FormatError(
                f"{path}: members declare {stored} bytes in all, more than the file's "
                f"{self.file_size} (truncated or forged sizes)"
            )
        if next(iter(self.members), None) != "header.json":
            raise FormatError(f"{self.not_ours} (no header.json first)")
        self.header = self._read_header(fmt, version)

    def _read_header(self, fmt: str, version: int) -> dict[str, Any]:
        info = self.members["header.json"]
        if info.file_size > MAX_HEADER_BYTES:
            raise FormatError(
                f"{self.path}: header of {info.file_size} bytes exceeds the "
                f"{MAX_HEADER_BYTES >> 20} MiB limit"
            )
        try:
            with self.zip.open(info) as stream:
                raw = stream.read(MAX_HEADER_BYTES + 1)
            header = json.loads(raw)
        except _DAMAGE as exc:
            raise FormatError(f"{self.path}: header is damaged or not JSON ({exc})") from exc
        if not isinstance(header, dict):
            raise FormatError(f"{self.not_ours} (header is not an object)")
        if header.get("format") != fmt:
            found = header.get("format")
            raise FormatError(f"{self.not_ours} (its format is {found!r}, not {fmt!r})")
        found_version = header.get("version")
        if isinstance(found_version, bool) or not isinstance(found_version, int):
            raise FormatError(f"{self.path}: format version {found_version!r} is not a number")
        if found_version > version:
            raise FormatError(
                f"{self.path} has format version {found_version}; this chainrule reads up to "
                f"{version} (upgrade chainrule)"
            )
        if found_version < 1:
            raise FormatError(f"{self.path}: format version {found_version} does not exist")
        return header

    def check_tensors(self, specs: list[tuple[str, Any]]) -> list[tuple[np.dtype, Shape, str]]:
        """Validate each (label, spec) and its member t{i}.npy; sizes before any allocation."""
        expected = {"header.json", *(f"t{i}.npy" for i in range(len(specs)))}
        extra = sorted(set(self.members) - expected)
        if extra:
            raise FormatError(f"{self.path}: unexpected members {extra[:5]}")
        checked = []
        total = 0
        for i, (label, spec) in enumerate(specs):
            what = f"{self.path}: tensor {label!r}"
            if not isinstance(spec, dict):
                raise FormatError(f"{what} has no description")
            dtype_name = spec.get("dtype")
            if dtype_name not in ALLOWED_DTYPES:
                raise FormatError(f"{what} has dtype {dtype_name!r}; allowed are {ALLOWED_DTYPES}")
            shape = _dims(spec.get("shape"), what)
            digest = spec.get("sha256")
            if not isinstance(digest, str) or len(digest) != 64:
                raise FormatError(f"{what} has no sha256")
            dtype = np.dtype(dtype_name)
            nbytes = math.prod(shape) * dtype.itemsize
            info = self.members.get(f"t{i}.npy")
            if info is None:
                raise FormatError(f"{what} is missing (no member t{i}.npy: truncated?)")
            if not nbytes <= info.file_size <= nbytes + MAX_NPY_HEADER:
                raise FormatError(
                    f"{what} declares {dtype_name} {list(shape)} ({nbytes} bytes) but its "
                    f"member holds {info.file_size} bytes"
                )
            total += nbytes
            checked.append((dtype, shape, digest))
        if total > self.file_size:
            raise FormatError(
                f"{self.path}: tensors declare {total} bytes in all, more than the file's "
                f"{self.file_size}"
            )
        return checked

    def read_tensor(self, i: int, label: str, dtype: np.dtype, shape: Shape, digest: str) -> Any:
        """Read member t{i}.npy in bounded chunks into a fresh array and verify its sha256."""
        what = f"{self.path}: tensor {label!r}"
        try:
            with self.zip.open(self.members[f"t{i}.npy"]) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    header = np.lib.format.read_array_header_1_0(stream, MAX_NPY_HEADER)
                elif version == (2, 0):
                    header = np.lib.format.read_array_header_2_0(stream, MAX_NPY_HEADER)
                else:
                    raise FormatError(f"{what}: unsupported .npy version {version}")
                stored_shape, fortran_order, stored_dtype = header
                if stored_shape != shape or stored_dtype != dtype or fortran_order:
                    raise FormatError(
                        f"{what}: its .npy header says {stored_dtype} {list(stored_shape)}"
                        f"{' (Fortran order)' if fortran_order else ''}, the file header says "
                        f"{dtype} {list(shape)}"
                    )
                array = np.empty(shape, dtype=dtype)
                raw = array.reshape(-1).view(np.uint8)  # the array's bytes, filled in place
                sha = hashlib.sha256()
                filled = 0
                while filled < raw.size:
                    chunk = stream.read(min(1 << 20, raw.size - filled))
                    if not chunk:
                        raise FormatError(f"{what} is truncated")
                    raw[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                    sha.update(chunk)
                    filled += len(chunk)
                if stream.read(1):  # also makes zipfile check the member's CRC-32
                    raise FormatError(f"{what} has bytes beyond its declared shape")
        except FormatError:
            raise
        except _DAMAGE as exc:
            raise FormatError(f"{what} cannot be read ({exc})") from exc
        if sha.hexdigest() != digest:
            raise FormatError(f"{what} fails its sha256 check (corrupted)")
        return array

    def close(self) -> None:
        self.zip.close()
        self.handle.close()

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed header.json of a model file (architecture, tensor table, metadata)."""
    with _Archive(path, FORMAT, VERSION) as archive:
        return archive.header


def load(path: str | os.PathLike[str]) -> nn.Module:
    """Read a model file written by ``save``: check every size, build, then fill the weights.

    Returns:
        The model in eval mode.

    Raises:
        FormatError: the file is missing, truncated, corrupted, foreign, of a newer format
            version, declares an unknown layer type, or its tensors disagree with the
            architecture; the message names the problem.
    """
    with _Archive(path, FORMAT, VERSION) as archive:
        header = archive.header
        declared = declared_tensors(header.get("architecture"))
        table = header.get("tensors")
        if not isinstance(table, dict):
            raise FormatError(f"{path}: header has no 'tensors' table")
        missing = [name for name in declared if name not in table]
        unexpected = [name for name in table if name not in declared]
        if missing or unexpected:
            raise FormatError(
                f"{path}: stored tensors do not match the architecture (missing {missing[:5]}, "
                f"unexpected {unexpected[:5]})"
            )
        for name, spec in table.items():
            shape = spec.get("shape") if isinstance(spec, dict) else None
            if shape != list(declared[name]):
                raise FormatError(
                    f"{path}: tensor {name!r} has shape {shape}, the architecture needs "
                    f"{list(declared[name])}"
                )
        checked = archive.check_tensors(list(table.items()))
        float_dtypes = {str(d) for d, _, _ in checked if d.kind == "f"}
        if len(float_dtypes) > 1:
            raise FormatError(f"{path}: tensors mix the float dtypes {sorted(float_dtypes)}")
        model = build(header["architecture"])
        if float_dtypes == {"float64"}:
            model.double()
        state = {
            name: archive.read_tensor(i, name, *spec)
            for i, (name, spec) in enumerate(zip(table, checked, strict=True))
        }
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        raise FormatError(f"{path}: weights do not fit the architecture ({exc})") from exc
    model.eval()
    return model


# ----------------------------------------------------------------------------- checkpoints
def _encode(value: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    """JSON-able copy of value with every array replaced by {"__tensor__": index}."""
    if depth > MAX_DEPTH:
        raise ChainruleError(f"checkpoint state is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__tensor__": len(arrays) - 1}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "__tensor__" or not isinstance(key, str | int):
                raise ChainruleError(f"cannot checkpoint a dict with key {key!r}")
            out[str(key)] = _encode(item, arrays, depth + 1)
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
