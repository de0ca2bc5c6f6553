"""Datasets, samplers and the DataLoader of ``torch.utils.data``, yielding chainrule Tensors.

Any object with ``__len__`` and ``__getitem__`` is a dataset. ``DataLoader(dataset,
batch_size=1, shuffle=False, ...)`` draws indices from a sampler, fetches the samples and
collates them into batches (stacked tensors) with PyTorch's defaults. Batches come from the
calling process (``num_workers`` is accepted and ignored: NumPy indexing of in-memory data is
faster than worker processes would be). A TensorDataset is fetched a whole batch at a time by
fancy indexing rather than sample by sample.

For the training loop's own NumPy mini-batches (and resumable positions), see
``chainrule.data.DataLoader``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import DataError
from ...random import Generator, default_generator
from ...tensor import Tensor, stack, tensor

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "random_split",
]


def _numpy_rng(generator: Any) -> np.random.Generator:
    if generator is None:
        return default_generator()
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a chainrule.Generator, got {type(generator).__name__}")


# ---------------------------------------------------------------------------- datasets
class Dataset:
    """A map-style dataset: ``__getitem__(i)`` for i in range(len(dataset))."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is iterated rather than indexed (a stream)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")


class TensorDataset(Dataset):
    """Samples are the i-th rows of each tensor: ``(x[i], y[i])``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise DataError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise DataError(f"TensorDataset's tensors must share their first dim, got {shapes}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise DataError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise IndexError(f"index {index} is out of range for length {len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which >= len(self.datasets):
            raise IndexError(f"index {index} is out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: Any = None
) -> list[Subset]:
    """Disjoint random subsets of the given lengths (or fractions summing to 1, the remainder
    spread one by one over the first subsets, as PyTorch)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(k) for k in lengths]
    if sum(counts) != n:
        raise DataError(
            f"random_split: the lengths {list(lengths)} sum to {sum(counts)}, the dataset has {n}"
        )
    order = _numpy_rng(generator).permutation(n).tolist()
    out, start = [], 0
    for k in counts:
        out.append(Subset(dataset, order[start : start + k]))
        start += k
    return out


# ---------------------------------------------------------------------------- samplers
class Sampler:
    """Yields indices of a dataset."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} has no length")


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order each epoch (or num_samples draws with replacement)."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise DataError(f"num_samples must be a positive integer, got {num_samples!r}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), _numpy_rng(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        rounds = -(-self.num_samples // n)
        order = np.concatenate([rng.permutation(n) for _ in range(rounds)])
        return iter(order[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices, self.generator = list(indices), generator

    def __iter__(self) -> Iterator[int]:
        order = _numpy_rng(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        w = np.asarray(weights.array if isinstance(weights, Tensor) else weights, np.float64)
        if w.ndim != 1 or (w < 0).any() or not w.sum() > 0:
            raise DataError("weights must be a 1-D sequence of non-negative numbers, not all 0")
        if not replacement and num_samples > np.count_nonzero(w):
            raise DataError("num_samples exceeds the non-zero weights drawn without replacement")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = _numpy_rng(self.generator)
        p = self.weights / self.weights.sum()
        draw = rng.choice(len(p), self.num_samples, replace=self.replacement, p=p)
        return iter(draw.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of batch_size (the last one shorter unless
    drop_last)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ---------------------------------------------------------------------------- collation
def default_collate(batch: list[Any]) -> Any:
    """Stack a list of samples into a batch as PyTorch does: tensors and arrays are stacked
    along a new first dim, Python ints become an int64 tensor and floats a float64 one, and
    tuples, lists and dicts are collated field by field; strings stay a list."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, np.ndarray | np.generic):
        if isinstance(first, np.ndarray) and first.dtype.kind in "OSU":
            return batch
        return Tensor._make(np.stack([np.asarray(b) for b in batch]))
    if isinstance(first, bool):
        return tensor(batch)
    if isinstance(first, int):
        return Tensor._make(np.asarray(batch, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(first, str | bytes):
        return list(batch)
    if isinstance(first, Mapping):
        return {key: default_collate([b[key] for b in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
        return type(first)(*(default_collate(list(f)) for f in zip(*batch, strict=True)))
    if isinstance(first, Sequence):
        sizes = {len(b) for b in batch}
        if len(sizes) != 1:
            raise DataError(f"each sample in the batch must have the same size, got {sizes}")
        return [default_collate(list(f)) for f in zip(*batch, strict=True)]  # a list, as PyTorch
    raise DataError(
        f"default_collate: samples must be tensors, arrays, numbers, strings, dicts or "
        f"sequences, got {type(first).__name__}"
    )


def default_convert(data: Any) -> Any:
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSU":
        return Tensor._make(data)
    return data


# ---------------------------------------------------------------------------- the loader
class DataLoader:
    """Batches of a dataset, as ``torch.utils.data.DataLoader`` (same arguments and defaults:
    batch_size=1, shuffle=False, drop_last=False; batch_size=None yields unbatched samples)."""

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Any = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if isinstance(dataset, np.ndarray | Tensor) and not hasattr(dataset, "__getitems__"):
            pass  # an array is a dataset of its rows
        elif not hasattr(dataset, "__getitem__") and not hasattr(dataset, "__iter__"):
            raise DataError(
                f"DataLoader takes a dataset (an object with __len__ and __getitem__), got "
                f"{type(dataset).__name__}"
            )
        if num_workers < 0:
            raise DataError(f"num_workers must be >= 0, got {num_workers}")
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.timeout, self.worker_init_fn, self.generator = timeout, worker_init_fn, generator
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise DataError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise DataError("batch_size=None option disables auto-batching and is mutually "
                            "exclusive with drop_last")  # fmt: skip
        if sampler is not None and shuffle:
            raise DataError("sampler option is mutually exclusive with shuffle")
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise DataError("an IterableDataset takes no shuffle, sampler or batch_sampler")
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._auto_collation = batch_sampler is not None or (
            self._iterable and batch_size is not None
        )
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    def _fetch(self, indices: list[int]) -> Any:
        data = self.dataset
        if self.collate_fn is default_collate:
            # Whole batches by fancy indexing: one gather per tensor instead of one per sample.
            if isinstance(data, TensorDataset):
                index = np.asarray(indices, dtype=np.intp)
                return [t[index] for t in data.tensors]
            if isinstance(data, Tensor | np.ndarray):
                batch = data[np.asarray(indices, dtype=np.intp)]
                return batch if isinstance(batch, Tensor) else Tensor._make(batch)
        if hasattr(data, "__getitems__"):
            return self.collate_fn(data.__getitems__(indices))
        return self.collate_fn([data[i] for i in indices])

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(list(batch)) for batch in self.batch_sampler)

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list[Any] = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)


from .distributed import DistributedSampler  # noqa: E402
