"""IDX files (the MNIST format), raw or gzipped, read with every size checked before allocating.

Layout (big-endian): two zero bytes, a dtype code, the number of dimensions, one uint32 per
dimension, then the values.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import ChainruleError, DataError
from ..fileio import open_regular

DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
GZIP_MAGIC = b"\x1f\x8b"
# gzip cannot expand data by more than about 1032:1; a declared size beyond that is a lie.
MAX_GZIP_RATIO = 1032


def _open(path: Path) -> tuple[BinaryIO, int, bool]:
    """The stream of IDX bytes, an upper bound on how many it can hold, and whether gzipped."""
    raw = open_regular(path)
    size = os.fstat(raw.fileno()).st_size
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw), size * MAX_GZIP_RATIO, True  # type: ignore[return-value]
    raw.seek(0)
    return raw, size, False


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip, detected by content) into an array in native byte order.

    Raises:
        DataError: bad magic number, unknown dtype, truncated header or data, trailing bytes,
            or a declared size the file cannot hold (checked before anything large is allocated).
    """
    path = Path(path)
    try:
        stream, bound, gzipped = _open(path)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except ChainruleError as exc:
        raise DataError(str(exc)) from None
    try:
        with stream:
            return _read(stream, bound, path)
    except (OSError, EOFError, zlib.error) as exc:
        kind = "gzip stream" if gzipped else "file"
        raise DataError(f"{path}: corrupt {kind} ({exc})") from None


def _read(stream: BinaryIO, bound: int, path: Path) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise DataError(f"{path}: truncated header ({len(head)} bytes; an IDX header needs 4+)")
    if head[:2] != b"\x00\x00" or head[2] not in DTYPES:
        raise DataError(
            f"{path}: bad magic number 0x{head.hex()} (expected 0x000008NN for IDX data, "
            "e.g. 0x00000803 for images, 0x00000801 for labels)"
        )
    dtype, ndim = DTYPES[head[2]], head[3]
    if ndim > 32:  # NumPy's arrays stop at 32 (1.x) or 64 dims; IDX data sets use 1 to 4
        raise DataError(f"{path}: the header declares {ndim} dimensions, more than an array holds")
    dims_raw = stream.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataError(f"{path}: truncated header (declares {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", dims_raw)
    expected = math.prod(dims) * dtype.itemsize
    shape_text = "x".join(map(str, dims)) or "scalar"
    if expected > bound:
        raise DataError(
            f"{path}: declares {shape_text} = {expected} bytes of data, more than the file can hold"
        )
    # Read straight into the array: no second copy of the data as a bytes object.
    array = np.empty(dims, dtype=dtype)
    view = memoryview(array.reshape(-1).view(np.uint8))
    filled = 0
    while filled < expected:
        count = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    if filled < expected:
        raise DataError(
            f"{path}: declares {shape_text} = {expected} bytes of data but holds {filled}"
        )
    if stream.read(1):
        raise DataError(f"{path}: size mismatch: extra bytes after the {shape_text} data")
    return array.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write an array as IDX (gzipped when the name ends in .gz), atomically."""
    from ..fileio import atomic_write_bytes

    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in CODES:
        raise DataError(f"IDX cannot hold dtype {array.dtype}")
    code = CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    if str(path).endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
            gz.write(payload)
        payload = buffer.getvalue()
    atomic_write_bytes(path, payload)
