"""Shipped data sets and the MNIST loader's search order and messages."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import load_breast_cancer, load_digits, load_idx_folder, load_iris, load_mnist
from chainrule.data import mnist as mnist_module
from chainrule.errors import DataError
from conftest import MNIST_DIR, needs_mnist


def test_digits() -> None:
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.bincount(y).size == 10


def test_breast_cancer() -> None:
    x, y = load_breast_cancer()
    assert x.shape == (569, 30) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [212, 357]


def test_iris() -> None:
    x, y = load_iris()
    assert x.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]


@needs_mnist
def test_mnist_from_shared_folder() -> None:
    (x_train, _), (x_test, y_test) = load_mnist(MNIST_DIR)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.max() == 9
    raw = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == mnist_module.SHA256["t10k-labels-idx1-ubyte"]


def make_folder(folder: Path, n: int = 6, classes: int = 3) -> None:
    from chainrule.data import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part in ("train", "t10k"):
        images = rng.integers(0, 255, (n, 4, 4), np.uint8)
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{part}-labels-idx1-ubyte", rng.integers(0, classes, n, np.uint8))


def test_idx_folder_any_layout(tmp_path: Path) -> None:
    make_folder(tmp_path)
    (x, y), _ = load_idx_folder(tmp_path)
    assert x.shape == (6, 4, 4) and y.dtype == np.int64


def test_missing_files_are_listed(tmp_path: Path) -> None:
    make_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="lacks t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def test_search_order_and_where_to_put_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "env"))

    def offline(url: str) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(DataError) as info:
        load_mnist(fetch=offline)
    message = str(info.value)
    assert str(tmp_path / "env") in message
    assert str(tmp_path / "cache" / "chainrule" / "mnist") in message
    assert "train-images-idx3-ubyte.gz" in message and "network unreachable" in message

    make_folder(tmp_path / "env" / "mnist")
    (x, _), _ = load_mnist(fetch=offline)
    assert x.shape == (6, 4, 4)


def test_download_checks_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    with pytest.raises(DataError, match="sha256 mismatch"):
        load_mnist(fetch=lambda url: gzip.compress(b"tampered"))
    assert not list((tmp_path / "cache" / "chainrule" / "mnist").glob("*.gz"))


def _idx_set(folder: Path, train: dict | None = None, test: dict | None = None) -> None:
    """A small IDX folder; train/test override 'images' or 'labels'."""
    from chainrule.data import write_idx

    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    for part, n, override in (("train", 12, train or {}), ("t10k", 6, test or {})):
        images = override.get("images", rng.integers(0, 255, (n, 4, 4), np.uint8))
        labels = override.get("labels", np.arange(n, dtype=np.uint8) % 3)
        write_idx(folder / f"{part}-images-idx3-ubyte", images)
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels)


@pytest.mark.parametrize(
    ("train", "test", "message"),
    [
        ({}, {"labels": np.array([0, 1, 2, 20000, 1, 0], np.int32)},
         "test label 20000 at row 3 is not a class of the training labels (0..2)"),
        ({"labels": np.array([0, 1, 2, 2 * 10**9, 1, 0] * 2, np.int32)}, {},
         "label 2000000000 at row 3 is not a class label"),
        ({"labels": np.array([0, 1, -1, 2, 1, 0] * 2, np.int8)}, {},
         "label -1 at row 2 is not a class label"),
        ({"labels": np.array([0, 1.5, 2, 2, 1, 0] * 2, np.float32)}, {},
         "are float32 numbers, not integer class labels"),
        ({}, {"images": np.zeros((6, 5, 4), np.uint8)},
         "the test images are 5x4 pixels, the training images 4x4"),
        ({"images": np.zeros((12, 28, 0), np.uint8)}, {"images": np.zeros((6, 28, 0), np.uint8)},
         "images of 28x0 pixels hold nothing"),
    ],
)  # fmt: skip
def test_idx_sets_that_cannot_train_are_named(
    tmp_path: Path, train: dict, test: dict, message: str
) -> None:
    _idx_set(tmp_path, train, test)
    with pytest.raises(DataError) as caught:
        load_idx_folder(tmp_path)
    assert message in str(caught.value)


def test_a_one_class_set_and_a_many_dimensioned_header_are_refused(tmp_path: Path) -> None:
    from chainrule.train.recipes import load_dataset

    _idx_set(tmp_path, {"labels": np.full(12, 2, np.uint8)}, {"labels": np.full(6, 2, np.uint8)})
    with pytest.raises(DataError, match=r"hold one class \(2\): nothing to learn"):
        load_dataset("idx", tmp_path)
    header = bytes([0, 0, 0x08, 65]) + b"\x00\x00\x00\x01" * 65
    (tmp_path / "many.idx").write_bytes(header + b"\x00")
    from chainrule.data import read_idx

    with pytest.raises(DataError, match="declares 65 dimensions"):
        read_idx(tmp_path / "many.idx")


def _chunks(data: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@needs_mnist
def test_download_streams_and_verifies_mnist(tmp_path: Path) -> None:
    from chainrule.data.mnist import FILES, download_mnist

    served = {name: (MNIST_DIR / f"{name}.gz").read_bytes() for name in FILES.values()}
    # Recompressed in two gzip members: the content's sha256 still matches.
    labels = gzip.decompress(served["t10k-labels-idx1-ubyte"])
    served["t10k-labels-idx1-ubyte"] = gzip.compress(labels[:5000]) + gzip.compress(labels[5000:])
    asked = []

    def fetch(url: str) -> Iterator[bytes]:
        asked.append(url)
        return _chunks(served[url.rsplit("/", 1)[-1].removesuffix(".gz")], 4093)

    tracemalloc.start()
    download_mnist(tmp_path, fetch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20  # streamed: the 47 MB of training images are never in memory at once
    assert len(asked) == 4
    for name in FILES.values():
        assert (tmp_path / f"{name}.gz").read_bytes() == served[name]
    (x, _), (_, y_test) = load_mnist(tmp_path)
    assert x.shape == (60000, 28, 28) and y_test.shape == (10000,)


def test_a_download_that_is_not_mnist_is_refused_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.data.mnist import download_mnist

    read = []

    def bomb(url: str) -> Iterator[bytes]:  # 1 GB of zeros, about 1 MB packed, made lazily
        deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(1 << 20)
        for _ in range(1024):
            if chunk := deflate.compress(zeros):
                read.append(len(chunk))
                yield chunk
        yield deflate.flush()

    tracemalloc.start()
    with pytest.raises(DataError, match="inflates past MNIST's 47040016 bytes"):
        download_mnist(tmp_path, bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20 and sum(read) < 200_000  # stopped at 47 MB inflated, not 1 GB
    assert not list(tmp_path.iterdir())  # no file, no temporary left
    cut = gzip.compress(bytes(range(256)) * 100)[:-30]
    with pytest.raises(DataError, match="ended early"):
        download_mnist(tmp_path, lambda url: _chunks(cut))

    def reset(url: str) -> Iterator[bytes]:
        yield cut[:100]
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(DataError, match="mnist/: connection reset by peer") as caught:
        download_mnist(tmp_path, reset)
    assert "cannot write" not in str(caught.value)  # the network failed, not the disk
    monkeypatch.setitem(mnist_module.SIZES, "train-images-idx3-ubyte", 1000)
    empty_members = gzip.compress(b"") * 200  # inflate to nothing, but never end
    with pytest.raises(DataError, match="larger than MNIST's"):
        download_mnist(tmp_path, lambda url: _chunks(empty_members, 100))
    assert not list(tmp_path.iterdir())
