"""The small real data sets that ship inside chainrule (see shipped/README.md for credits)."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

DIGITS_CLASSES = tuple(str(d) for d in range(10))
BREAST_CANCER_CLASSES = ("malignant", "benign")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")


def _read_csv(name: str, header: bool) -> np.ndarray:
    raw = resources.files("chainrule.data").joinpath("shipped", name).read_bytes()
    lines = gzip.decompress(raw).decode().splitlines()
    return np.loadtxt(lines[1:] if header else lines, delimiter=",", dtype=np.float64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """UCI handwritten digits: x (1797, 64) float32 pixel values 0..16 (8x8 images, row-major),
    y (1797,) int64 classes 0..9."""
    table = _read_csv("digits.csv.gz", header=False)
    return table[:, :64].astype(np.float32), table[:, 64].astype(np.int64)


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Breast Cancer Wisconsin (Diagnostic): x (569, 30) float32 features of cell nuclei,
    y (569,) int64: 0 malignant (212), 1 benign (357)."""
    table = _read_csv("breast_cancer.csv.gz", header=True)
    return table[:, :30].astype(np.float32), table[:, 30].astype(np.int64)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris: x (150, 4) float32, y (150,) int64 classes 0..2 (IRIS_CLASSES)."""
    table = _read_csv("iris.csv.gz", header=True)
    return table[:, :4].astype(np.float32), table[:, 4].astype(np.int64)
