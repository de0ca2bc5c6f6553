"""The hardened archive that model files and checkpoints share: written atomically, read
without ever executing code.

Layout (format version 1; docs/file-format.md says the same for users). A file is a plain,
uncompressed zip archive (so ``np.load`` and ``unzip -l`` can look inside) with exactly these
members, in this order:

- ``header.json``: UTF-8 JSON, at most 4 MiB, an object with
    - ``format``: ``"chainrule-model"`` or ``"chainrule-checkpoint"``; ``version``: 1;
    - ``tensors``: one entry ``{"dtype", "shape", "sha256"}`` per tensor member; a model file
      keys them by parameter name (``"1.weight"``), a checkpoint lists them in member order;
    - a model file: ``architecture``, the layer tree as ``{"type", "config", "layers"}`` where
      ``type`` names a layer class exported by ``chainrule.nn`` and ``config`` holds its
      recorded constructor arguments as JSON values;
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
  against its member's size, and the total against the file's size; a model file's layers are
  built under an allocation budget of the bytes its tensors take (each Parameter and buffer is
  refused before it is allocated past it), then their shapes are compared with the stored
  ones. A file can therefore make the loader allocate at most about its own size.
- Every tensor's bytes match its sha256, and every member its zip CRC-32.
- Any truncated, corrupted, foreign, too new or inconsistent file raises ``FormatError`` with a
  message naming the problem; nothing else escapes.

Writes are atomic (``fileio.atomic_open``): a reader sees the previous file or the new one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from ..errors import FormatError
from ..fileio import atomic_write_with, open_regular

Shape = tuple[int, ...]

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


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.require(array, requirements="C"), allow_pickle=False)
    return buffer.getvalue()


def _spec(array: np.ndarray) -> dict[str, Any]:
    if str(array.dtype) not in ALLOWED_DTYPES:
        raise FormatError(
            f"cannot store an array of dtype {array.dtype} (allowed: {ALLOWED_DTYPES})"
        )
    return {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "sha256": hashlib.sha256(np.require(array, requirements="C").tobytes()).hexdigest(),
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
            self.handle: BinaryIO = open_regular(path)  # type: ignore[assignment]  # close()
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
        except FormatError:
            raise  # it names the file and the damage already
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
            raise FormatError(
                f"{self.path}: format version {found_version!r} is not a whole number (versions "
                f"are 1, 2, ...; this chainrule reads up to {version})"
            )
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
