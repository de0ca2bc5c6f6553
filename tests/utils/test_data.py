"""chainrule.utils.data against torch.utils.data: batches, defaults, collation, samplers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DataError
from chainrule.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    random_split,
)


class Squares(Dataset):
    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int) -> Any:
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


def as_numpy(batch: Any) -> Any:
    if hasattr(batch, "numpy"):
        return batch.detach().numpy() if hasattr(batch, "detach") else batch.numpy()
    if isinstance(batch, dict):
        return {k: as_numpy(v) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return [as_numpy(v) for v in batch]
    return batch


def test_unshuffled_batches_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    for kwargs in ({}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}):
        mine = list(DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), **kwargs))
        ref = list(torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), **kwargs
        ))  # fmt: skip
        assert len(mine) == len(ref)
        for a, b in zip(mine, ref, strict=True):
            assert isinstance(a, list) and len(a) == 2
            for u, v in zip(a, b, strict=True):
                np.testing.assert_array_equal(u.numpy(), v.numpy())
                assert u.dtype == np.dtype(str(v.dtype).replace("torch.", ""))


def test_default_collate_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    mine = next(iter(DataLoader(Squares(), batch_size=3)))
    ref = next(iter(torch.utils.data.DataLoader(Squares(), batch_size=3)))
    assert mine["name"] == ref["name"]
    np.testing.assert_array_equal(mine["x"].numpy(), ref["x"].numpy())
    np.testing.assert_array_equal(mine["y"].numpy(), ref["y"].numpy())
    assert mine["y"].dtype == np.int64
    floats = next(iter(DataLoader([0.5, 1.5], batch_size=2)))
    assert floats.dtype == np.float64  # as torch: Python floats collate to float64


def test_shuffle_is_a_permutation_reseeded_by_manual_seed() -> None:
    data = TensorDataset(cr.arange(20))
    cr.manual_seed(3)
    first = np.concatenate([b[0].numpy() for b in DataLoader(data, batch_size=6, shuffle=True)])
    cr.manual_seed(3)
    again = np.concatenate([b[0].numpy() for b in DataLoader(data, batch_size=6, shuffle=True)])
    assert sorted(first.tolist()) == list(range(20)) and (first == again).all()
    assert not (first == np.arange(20)).all()
    g = cr.Generator().manual_seed(1)
    a, b = random_split(data, [0.75, 0.25], generator=g)
    assert len(a) == 15 and len(b) == 5 and not set(a.indices) & set(b.indices)


def test_samplers_and_subsets() -> None:
    data = list(range(10))
    assert list(BatchSampler(SequentialSampler(data), 4, drop_last=False)) == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]
    ]  # fmt: skip
    assert len(BatchSampler(SequentialSampler(data), 4, drop_last=True)) == 2
    assert sorted(RandomSampler(data)) == data
    assert len(list(RandomSampler(data, replacement=True, num_samples=25))) == 25
    assert Subset(data, [3, 1])[1] == 1
    both = ConcatDataset([data, [10, 11]])
    assert len(both) == 12 and both[10] == 10 and both[-1] == 11
    loader = DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), 5, False))
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_errors_name_the_problem() -> None:
    with pytest.raises(DataError, match="share their first dim"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))
    with pytest.raises(DataError, match="mutually exclusive"):
        DataLoader(list(range(4)), sampler=SequentialSampler(range(4)), shuffle=True)
    with pytest.raises(DataError, match="sum to 9"):
        random_split(list(range(10)), [4, 5])
