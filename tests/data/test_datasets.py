"""Shipped data sets and the MNIST loader's search order and messages."""

from __future__ import annotations

import gzip
import hashlib
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
