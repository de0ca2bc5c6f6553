"""Data: IDX files and MNIST, the shipped UCI sets, mini-batches, normalisation and splits.

Everything here yields NumPy arrays and never imports the autodiff engine.
"""

from .datasets import (
    BREAST_CANCER_CLASSES,
    DIGITS_CLASSES,
    IRIS_CLASSES,
    load_breast_cancer,
    load_digits,
    load_iris,
)
from .idx import read_idx, write_idx
from .loader import (
    DataLoader,
    Standardizer,
    check_finite,
    check_labels,
    fingerprint,
    scale_to_unit,
    train_val_split,
)
from .mnist import load_idx_folder, load_mnist

__all__ = [
    "BREAST_CANCER_CLASSES",
    "DIGITS_CLASSES",
    "IRIS_CLASSES",
    "DataLoader",
    "Standardizer",
    "check_finite",
    "check_labels",
    "fingerprint",
    "load_breast_cancer",
    "load_digits",
    "load_idx_folder",
    "load_iris",
    "load_mnist",
    "read_idx",
    "scale_to_unit",
    "train_val_split",
    "write_idx",
]
