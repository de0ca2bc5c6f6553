"""Shared by the safety tests: the checkout's src folder, a hand-made zip writer that can lie
about sizes, and small models and data."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.train import Callback

SRC = Path(__file__).resolve().parents[2] / "src"


class InterruptAt(Callback):
    """Raises KeyboardInterrupt at the end of one step, as a Ctrl-C at that moment would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch_end(self, state: Any) -> None:
        if state.step == self.step:
            raise KeyboardInterrupt


def env() -> dict[str, str]:
    """The environment for a subprocess that must import this checkout's chainrule."""
    return {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}


def run_cli(*args: str, optimize: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    flags = ["-O"] if optimize else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "chainrule.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **{"env": env(), **kwargs},
    )


def overwrite(path: Path, data: bytes) -> None:
    """Replace a file's content without truncating it to 0 first: on ext4 that truncation makes
    close() flush to disk (auto_da_alloc), 2 ms a file, which would dominate the fuzz tests."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


@dataclass
class Member:
    name: str
    data: bytes
    declared_size: int | None = None  # what the zip directory claims (default: len(data))
    method: int = 0  # 0 stored, 8 deflated
    raw_size: int | None = None  # uncompressed size for a deflated member


def forge_zip(members: Sequence[Member], entries: int | None = None) -> bytes:
    """A zip archive written by hand, so that its directory may declare any size or count."""
    out = io.BytesIO()
    directory = []
    for m in members:
        offset = out.tell()
        name = m.name.encode()
        payload = zlib.compress(m.data)[2:-4] if m.method == 8 else m.data
        crc = zlib.crc32(m.data)
        raw = m.raw_size if m.raw_size is not None else len(m.data)
        size = m.declared_size if m.declared_size is not None else len(payload)
        if m.method == 0:
            raw = size
        local = struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, m.method, 0, 0, crc, size, raw, len(name), 0
        )
        out.write(local + name + payload)
        fields = (20, 20, 0, m.method, 0, 0, crc, size, raw, len(name), 0, 0, 0, 0, 0, offset)
        directory.append(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", *fields) + name)
    start = out.tell()
    for record in directory:
        out.write(record)
    count = len(members) if entries is None else entries
    out.write(
        struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, out.tell() - start, start, 0)
    )
    return out.getvalue()


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header).encode()


def small_model() -> nn.Sequential:
    cr.manual_seed(0)
    normalize = nn.Normalize((4,))
    normalize.mean[...] = np.arange(4, dtype=np.float32)
    return nn.Sequential(normalize, nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.25), nn.Linear(3, 2))


def digits_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from chainrule.data import load_digits, train_val_split

    x, y = load_digits()
    return train_val_split(x / 16, y, val_fraction=0.2, seed=0)
