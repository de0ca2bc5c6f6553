"""MNIST and any data set in its layout (Fashion-MNIST, KMNIST): find, download, verify, load."""

from __future__ import annotations

import hashlib
import os
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import DataError
from .idx import read_idx

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# sha256 of the decompressed bytes: gzip output differs between compressors, content does not.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SIZES = {  # decompressed bytes: a 16-byte header (8 for labels) and one byte per pixel or label
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

Split = tuple[np.ndarray, np.ndarray]


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _missing(folder: Path) -> list[str]:
    return [name for name in FILES.values() if _find(folder, name) is None]


def load_idx_folder(data_dir: str | os.PathLike[str]) -> tuple[Split, Split]:
    """Load the four MNIST-layout files (each raw or .gz) from a folder; no download, no checksum.

    Returns:
        ((x_train (N, H, W) uint8, y_train (N,) int64), (x_test, y_test)).
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"data folder {folder} {what}")
    missing = _missing(folder)
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)} (raw or .gz)")
    arrays = {key: read_idx(_find(folder, name)) for key, name in FILES.items()}  # type: ignore[arg-type]
    splits = []
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1:
            raise DataError(
                f"{folder}: {part} images must be (N, H, W) and labels (N,), got "
                f"{images.shape} and {labels.shape}"
            )
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {len(images)} {part} images but {len(labels)} {part} labels"
            )
        if 0 in images.shape[1:]:
            raise DataError(f"{folder}: {part} images of {images.shape[1]}x{images.shape[2]} "
                            "pixels hold nothing")  # fmt: skip
        splits.append((images, _class_labels(labels, f"{folder}: {part} labels")))
    (train_images, train_labels), (test_images, test_labels) = splits
    if train_images.shape[1:] != test_images.shape[1:]:
        raise DataError(
            f"{folder}: the test images are {test_images.shape[1]}x{test_images.shape[2]} "
            f"pixels, the training images {train_images.shape[1]}x{train_images.shape[2]}"
        )
    classes = int(train_labels.max()) + 1 if len(train_labels) else 0
    if len(test_labels) and test_labels.max() >= classes:
        row = int(np.argmax(test_labels >= classes))
        raise DataError(
            f"{folder}: test label {int(test_labels[row])} at row {row} is not a class of the "
            f"training labels (0..{classes - 1})"
        )
    return splits[0], splits[1]


MAX_CLASSES = (
    2**16
)  # a larger label is a damaged file: its model and confusion matrix would not fit


def _class_labels(labels: np.ndarray, what: str) -> np.ndarray:
    """Class labels as int64, each in 0..MAX_CLASSES-1, the first bad row named."""
    if labels.dtype.kind not in "iu":
        raise DataError(f"{what} are {labels.dtype} numbers, not integer class labels")
    if len(labels):
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= MAX_CLASSES:
            bad = low if low < 0 else high
            row = int(np.argmax(labels == bad))
            raise DataError(
                f"{what}: label {bad} at row {row} is not a class label (0..{MAX_CLASSES - 1})"
            )
    return labels.astype(np.int64)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "chainrule" / "mnist"


def _fetch(url: str) -> Iterator[bytes]:
    """Stream url in chunks, with a progress bar and a short timeout (fails fast offline)."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=10) as response:
        total = int(response.headers.get("Content-Length") or 0)
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1]) as bar:
            while chunk := response.read(1 << 16):
                bar.update(len(chunk))
                yield chunk


class _NotMnistError(ValueError):
    """A download that is not the MNIST file it claims to be."""


class _NetworkError(Exception):
    """The download itself failed (not an OSError: atomic_open would call it a failed write)."""


def _received(chunks: Iterable[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except OSError as exc:  # urllib's URLError, a timeout, a reset connection
        raise _NetworkError(getattr(exc, "reason", None) or exc) from exc


def _stream_verified(chunks: Iterable[bytes], name: str, handle: IO[bytes]) -> None:
    """Write the .gz chunks to handle as they arrive while inflating them, a megabyte at a time,
    into a sha256: memory stays bounded, and a file larger than MNIST's (a gzip bomb, a wrong
    file) is refused as soon as it is."""
    size_limit = SIZES[name]
    packed_limit = size_limit + size_limit // 100 + 1024  # gzip's worst case: stored blocks
    digest, size, packed = hashlib.sha256(), 0, 0
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the gzip wrapper
    for chunk in _received(chunks):
        packed += len(chunk)
        if packed > packed_limit:
            raise _NotMnistError(f"{name}.gz is larger than MNIST's ({packed_limit} bytes at most)")
        handle.write(chunk)
        pending = chunk
        while True:
            if inflate.eof and pending:  # a further gzip member (cat a.gz b.gz)
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = inflate.decompress(pending, 1 << 20)
            size += len(out)
            if size > size_limit:
                raise _NotMnistError(f"{name} inflates past MNIST's {size_limit} bytes")
            digest.update(out)
            pending = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
            if not pending and len(out) < 1 << 20:  # a full megabyte: more may be waiting
                break
    if not inflate.eof:
        raise _NotMnistError(f"{name}.gz ended early ({packed} bytes): the download was cut off")
    if digest.hexdigest() != SHA256[name]:
        raise _NotMnistError(f"sha256 mismatch for {name}")


def download_mnist(folder: Path, fetch: Callable[[str], Iterable[bytes] | bytes] = _fetch) -> None:
    """Download the four files into folder, streamed to disk and checked against the sha256 of
    their decompressed bytes on the way; a file that fails the check is never in folder.

    fetch(url) gives the file's bytes, whole or as an iterable of chunks.
    """
    from ..fileio import atomic_open

    folder.mkdir(parents=True, exist_ok=True)
    for name in _missing(folder):
        errors = []
        for mirror in MIRRORS:
            try:
                chunks = fetch(f"{mirror}{name}.gz")
                if isinstance(chunks, bytes | bytearray):
                    chunks = [bytes(chunks)]
                with atomic_open(folder / f"{name}.gz", "wb") as handle:
                    _stream_verified(chunks, name, handle)
            except (OSError, ValueError, zlib.error, _NetworkError) as exc:
                errors.append(f"{mirror}: {exc}")
                continue
            break
        else:
            raise DataError(f"could not download {name}: " + "; ".join(errors))


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    fetch: Callable[[str], Iterable[bytes] | bytes] = _fetch,
) -> tuple[Split, Split]:
    """Load MNIST: from data_dir if given; else $CHAINRULE_DATA; else ~/.cache/chainrule/mnist,
    downloading there (sha256-checked) when a network is reachable.

    Returns:
        ((x_train (60000, 28, 28) uint8, y_train (60000,) int64), (x_test, y_test)).
    """
    if data_dir is not None:
        return load_idx_folder(data_dir)
    tried = []
    env = os.environ.get("CHAINRULE_DATA")
    if env:
        for folder in (Path(env), Path(env) / "mnist"):
            tried.append(folder)
            if folder.is_dir() and not _missing(folder):
                return load_idx_folder(folder)
    cache = cache_dir()
    tried.append(cache)
    if cache.is_dir() and not _missing(cache):
        return load_idx_folder(cache)
    if download:
        try:
            download_mnist(cache, fetch)
            return load_idx_folder(cache)
        except DataError as exc:
            reason = f" (download failed: {exc})"
    else:
        reason = ""
    names = ", ".join(f"{name}.gz" for name in FILES.values())
    raise DataError(
        f"MNIST not found in {', '.join(map(str, tried))}{reason}; put {names} in one of these "
        "folders, or pass --data-dir DIR (data_dir=DIR)"
    )
