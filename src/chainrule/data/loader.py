"""Mini-batches, normalisation, splits and input checks, all on NumPy arrays."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import DataError
from ..random import default_generator, numpy_generator


class DataLoader:
    """Mini-batches (x_batch, y_batch) of NumPy arrays, reshuffled every epoch.

    Args:
        x: inputs (N, ...); y: labels (N,) or None (then batches are x_batch only).
        batch_size: samples per batch; the last batch is smaller unless drop_last.
        shuffle: a new random order each epoch, from this loader's own seeded generator.
        seed: makes the sequence of orders reproducible; None draws one from chainrule's
            global generator, so ``chainrule.manual_seed`` fixes the orders, as in PyTorch.

    ``state_dict()`` captures the position inside an epoch, so a loader restored mid-epoch yields
    exactly the remaining batches and then the same later epochs as one never interrupted.

    Given a dataset instead (any object with ``__len__`` and ``__getitem__`` that is not a NumPy
    array, or any first argument followed by an integer batch size, as in
    ``DataLoader(train_set, 64, shuffle=True)``), this is PyTorch's loader,
    :class:`chainrule.utils.data.DataLoader`, with PyTorch's signature and defaults
    (``batch_size=1``, ``shuffle=False``) and batches of tensors.
    """

    def __new__(cls, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        if x is None and "dataset" in kwargs:
            x = kwargs.pop("dataset")
        if _is_dataset_call(x, y):
            # Imported here: this module stays NumPy-only unless a dataset asks for tensors.
            from ..utils.data import DataLoader as DatasetLoader

            positional = () if y is None else (y,)
            return DatasetLoader(x, *positional, *args, **kwargs)
        if x is None:
            raise DataError("DataLoader needs data: DataLoader(x, y) or DataLoader(dataset)")
        return super().__new__(cls)

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size < 1:
            raise DataError(f"batch_size must be a positive integer, got {batch_size}")
        if len(x) == 0:
            raise DataError("empty data set: no samples to load")
        if y is not None and len(x) != len(y):
            raise DataError(f"x has {len(x)} samples but y has {len(y)}")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        if seed is None:
            seed = int(default_generator().integers(2**63))
        self._rng = numpy_generator(seed)
        self._epoch_rng_state: dict[str, Any] | None = None  # before this epoch's permutation
        self._order: np.ndarray | None = None
        self._position = 0  # index of the next batch within the current epoch
        self._in_epoch = False
        self._resume_pending = False  # load_state_dict restored a position inside an epoch

    def __len__(self) -> int:
        full, rest = divmod(len(self.x), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _start_epoch(self) -> None:
        self._epoch_rng_state = copy.deepcopy(self._rng.bit_generator.state)
        self._order = self._rng.permutation(len(self.x)) if self.shuffle else None
        self._position, self._in_epoch = 0, True

    def __iter__(self) -> Iterator[Any]:
        if not self._resume_pending:
            self._start_epoch()  # every iter() is a new epoch, as in PyTorch, unless resuming
        self._resume_pending = False
        while self._position < len(self):
            start = self._position * self.batch_size
            stop = start + self.batch_size
            index: Any = slice(start, stop) if self._order is None else self._order[start:stop]
            self._position += 1
            xb = self.x[index]
            yield xb if self.y is None else (xb, self.y[index])
        self._in_epoch = False

    def state_dict(self) -> dict[str, Any]:
        """JSON-able: the generator state at the start of the current epoch and the position."""
        if self._in_epoch:
            return {"rng": self._epoch_rng_state, "position": self._position, "in_epoch": True}
        return {"rng": self._rng.bit_generator.state, "position": 0, "in_epoch": False}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])
        self._in_epoch = self._resume_pending = False
        if state["in_epoch"]:
            self._start_epoch()  # redraws the same permutation from the same generator state
            self._position = int(state["position"])
            self._resume_pending = True


def _is_dataset_call(x: Any, y: Any) -> bool:
    if isinstance(y, int | np.integer) and not isinstance(y, bool):
        return True  # PyTorch's second positional argument is batch_size
    return y is None and not isinstance(x, np.ndarray) and hasattr(x, "__getitem__")


def scale_to_unit(x: np.ndarray, max_value: float | None = None) -> np.ndarray:
    """x / max_value as float32 (max_value 255 for uint8, else the data's maximum)."""
    if max_value is None:
        max_value = 255.0 if x.dtype == np.uint8 else float(np.max(x))
    if not max_value:
        raise DataError("cannot scale to [0, 1]: the maximum value is 0")
    return (np.asarray(x, dtype=np.float32) / np.float32(max_value)).astype(np.float32)


class Standardizer:
    """(x - mean) / std per feature, with statistics of the training split only.

    Fit on the training data and reuse the same statistics for validation and test data: fitting
    on test data would leak it into the model.
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Standardizer:
        values = np.asarray(x, dtype=np.float64)
        self.mean = values.mean(axis=0).astype(np.float32)
        std = values.std(axis=0)
        self.std = np.where(std > 0, std, 1.0).astype(np.float32)  # constant feature: unchanged
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.mean is None or self.std is None:
            raise DataError("Standardizer.transform before fit: fit it on the training data")
        return ((np.asarray(x, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def state_dict(self) -> dict[str, np.ndarray]:
        if self.mean is None or self.std is None:
            raise DataError("Standardizer has not been fitted")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.mean = np.asarray(state["mean"], dtype=np.float32)
        self.std = np.asarray(state["std"], dtype=np.float32)


def train_val_split(
    x: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.1,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split off round(val_fraction · n_c) samples of every class c for validation.

    Returns:
        (x_train, y_train, x_val, y_val), each in a seeded random order.
    """
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} samples but y has {len(y)}")
    rng = numpy_generator(seed)
    if stratify:
        val_parts, train_parts = [], []
        for c in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == c))
            if len(members) < 2:
                raise DataError(
                    f"class {c} has {len(members)} sample(s): too few to split stratified"
                )
            n_val = min(max(1, round(val_fraction * len(members))), len(members) - 1)
            val_parts.append(members[:n_val])
            train_parts.append(members[n_val:])
        val_index = rng.permutation(np.concatenate(val_parts))
        train_index = rng.permutation(np.concatenate(train_parts))
    else:
        order = rng.permutation(len(x))
        n_val = max(1, round(val_fraction * len(x)))
        val_index, train_index = order[:n_val], order[n_val:]
    return x[train_index], y[train_index], x[val_index], y[val_index]


def fingerprint(*arrays: Any) -> str:
    """sha256 of arrays' dtypes, shapes and bytes (None entries skipped): a checkpoint keeps
    its training data's, so that a resume on other data is refused."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array.reshape(-1)).cast("B"))
    return digest.hexdigest()


def check_finite(x: np.ndarray, name: str = "input") -> None:
    """Raise DataError naming the first row (and column) holding NaN or Inf."""
    if np.asarray(x).dtype.kind != "f":
        return
    for start in range(0, len(x), 8192):  # chunks: no full-size boolean mask for MNIST
        chunk = np.asarray(x[start : start + 8192])
        bad = ~np.isfinite(chunk)
        if bad.any():
            position = np.argwhere(bad)[0]
            row = start + int(position[0])
            value = chunk[tuple(position)]
            where = f"row {row}"
            if len(position) > 1:
                where += f" (column {', '.join(str(int(p)) for p in position[1:])})"
            kind = "NaN" if np.isnan(value) else str(value).replace("inf", "Inf")
            raise DataError(f"{name} contains {kind} at {where}")


def check_labels(y: np.ndarray, num_classes: int) -> None:
    """Labels must be integers in [0, num_classes); the first bad row is named."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"labels must be one integer per sample, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(f"labels must be integers, got dtype {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"label {int(y[row])} at row {row} is out of range for {num_classes} classes "
            f"(expected 0..{num_classes - 1})"
        )
