"""IDX reader: round trips, every error message, and fuzzing of truncations and bit flips."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from chainrule.data import read_idx, write_idx
from chainrule.errors import DataError


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    array=arrays(
        st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
        array_shapes(min_dims=1, max_dims=3, max_side=5),
    ),
    gz=st.booleans(),
)
def test_round_trip(tmp_path: Path, array: np.ndarray, gz: bool) -> None:
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00", "truncated header"),
        (b"\x12\x34\x08\x01" + b"\x00" * 8, "bad magic number 0x12340801"),
        (b"\x00\x00\x07\x01" + b"\x00" * 8, "bad magic number 0x00000701"),
        (header(0x08, (3,))[:6], "truncated header (declares 1 dimensions)"),
        (header(0x08, (60000, 28, 28)) + b"\x00" * 1000, "more than the file can hold"),
        (header(0x08, (10,)) + b"\x00" * 5, "declares 10 = 10 bytes of data but holds 5"),
        (header(0x08, (4,)) + b"\x00" * 6, "size mismatch"),
    ],
)
def test_errors_name_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_huge_declaration_in_gzip_fails_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.idx.gz"
    path.write_bytes(gzip.compress(header(0x08, (2**31, 2**31, 16)) + b"\x00" * 100))
    tracemalloc.start()
    with pytest.raises(DataError, match="more than the file can hold"):
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_idx(tmp_path / "nothing.idx")


def test_fuzz_truncations_and_bit_flips(tmp_path: Path) -> None:
    """Every malformed variant loads identically or raises DataError; nothing else, ever."""
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    tried = 0
    for gz in (False, True):
        path = tmp_path / ("x.idx.gz" if gz else "x.idx")
        write_idx(path, original)
        good = path.read_bytes()
        variants = [good[:n] for n in range(len(good))]
        for _ in range(1500):
            flipped = bytearray(good)
            for _ in range(rng.integers(1, 4)):
                flipped[rng.integers(len(flipped))] ^= 1 << int(rng.integers(8))
            variants.append(bytes(flipped))
        for content in variants:
            path.write_bytes(content)
            tried += 1
            try:
                loaded = read_idx(path)
            except DataError:
                continue
            # A flip inside the pixel data of a raw file changes values legitimately; anything
            # that loads must at least be a well-formed array of the declared shape.
            assert loaded.size * loaded.itemsize <= len(content) * 1032
            if not gz and content[:16] == good[:16]:
                assert loaded.shape == original.shape
    assert tried > 3000
