"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ChainruleError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``.

    The rename is atomic on POSIX, so the previous file survives a crash, a kill or a full disk
    until the new one is complete; on any failure the temporary file is removed.
    """
    target = Path(path)
    folder = target.parent
    try:
        # The temporary name adds 14 characters: keep it within a file system's 255 (a valid
        # name of 249 characters would otherwise fail with ENAMETOOLONG).
        stem = target.name if len(target.name) <= 200 else target.name[:200]
        fd, tmp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ChainruleError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise ChainruleError(f"cannot write {target}: {exc.strerror or exc}") from exc
        raise
    _fsync_folder(folder)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask sets it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_regular(path: str | os.PathLike[str], limit: int | None = None) -> IO[bytes]:
    """Open a file for reading only if it is a regular file (of at most ``limit`` bytes).

    A FIFO would block the read forever, and /dev/zero never ends: the file is opened without
    blocking, checked by fstat, and only then read. Raises FileNotFoundError and OSError as
    open() does, and ChainruleError for anything else."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChainruleError(f"{path} is not a regular file (a folder, FIFO or device)")
        if limit is not None and info.st_size > limit:
            raise ChainruleError(
                f"{path} holds {info.st_size} bytes, more than the {limit} such a file may"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Strict JSON (RFC 8259): a NaN or infinite number is written as null, never as the NaN or
    Infinity tokens that strict parsers reject."""
    text = json.dumps(_finite_or_null(obj), indent=2, default=_jsonable, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def _finite_or_null(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_null(v) for v in obj]
    converted = _jsonable(obj) if type(obj).__module__ == "numpy" else obj
    return converted if converted is obj else _finite_or_null(converted)


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None]) -> None:
    with atomic_open(path, "wb") as handle:
        writer(handle)


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
