"""DataLoader, splits, normalisation and input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    DataLoader,
    Standardizer,
    check_finite,
    check_labels,
    scale_to_unit,
    train_val_split,
)
from chainrule.errors import DataError


def test_batches_and_drop_last() -> None:
    x, y = np.arange(10)[:, None], np.arange(10)
    assert [len(b[0]) for b in DataLoader(x, y, batch_size=4, shuffle=False)] == [4, 4, 2]
    assert len(DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    seen = np.concatenate([yb for _, yb in DataLoader(x, y, batch_size=3, seed=1)])
    assert sorted(seen) == list(range(10))


def test_shuffle_is_seeded_and_changes_each_epoch() -> None:
    x = np.arange(20)
    a, b = DataLoader(x, batch_size=20, seed=3), DataLoader(x, batch_size=20, seed=3)
    first_a, second_a = next(iter(a)), next(iter(a))
    assert np.array_equal(first_a, next(iter(b)))
    assert not np.array_equal(first_a, second_a)


def test_state_round_trip_mid_epoch() -> None:
    x = np.arange(23)
    reference = DataLoader(x, batch_size=5, seed=7)
    expected = [list(b) for _ in range(3) for b in reference]

    interrupted = DataLoader(x, batch_size=5, seed=7)
    got = [list(b) for b in interrupted]  # epoch 1
    iterator = iter(interrupted)
    got += [list(next(iterator)), list(next(iterator))]  # two batches of epoch 2
    state = json.loads(json.dumps(interrupted.state_dict()))  # JSON-able

    resumed = DataLoader(x, batch_size=5, seed=999)
    resumed.load_state_dict(state)
    got += [list(b) for _ in range(2) for b in resumed]
    assert got == expected


def test_loader_errors() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(DataError, match="batch_size must be a positive integer, got 0"):
        DataLoader(x, batch_size=0)
    with pytest.raises(DataError, match="x has 4 samples but y has 3"):
        DataLoader(x, np.zeros(3))
    with pytest.raises(DataError, match="empty data set"):
        DataLoader(x[:0])


def test_stratified_split() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100)
    x_tr, _, x_val, y_val = train_val_split(x, y, val_fraction=0.2, seed=0)
    assert np.bincount(y_val).tolist() == [10, 6, 4]
    assert sorted(np.concatenate([x_tr, x_val]).tolist()) == list(range(100))
    again = train_val_split(x, y, val_fraction=0.2, seed=0)
    assert np.array_equal(again[2], x_val)
    with pytest.raises(DataError, match="val_fraction"):
        train_val_split(x, y, val_fraction=1.5)
    with pytest.raises(DataError, match="too few"):
        train_val_split(x[:51], y[:51], val_fraction=0.2)


def test_standardizer_uses_training_statistics() -> None:
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    scaler = Standardizer().fit(train)
    out = scaler.transform(np.array([[4.0, 6.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[3.0, 1.0]])  # std of the constant column is taken as 1


def test_scale_to_unit() -> None:
    x = np.array([0, 51, 255], dtype=np.uint8)
    np.testing.assert_allclose(scale_to_unit(x), [0, 0.2, 1])
    assert scale_to_unit(x).dtype == np.float32


def test_check_finite_and_labels() -> None:
    x = np.zeros((20, 5), dtype=np.float32)
    x[17, 3] = np.nan
    with pytest.raises(DataError, match=r"input contains NaN at row 17 \(column 3\)"):
        check_finite(x)
    x[17, 3] = 0
    x[2, 0] = -np.inf
    with pytest.raises(DataError, match="contains -Inf at row 2"):
        check_finite(x)
    with pytest.raises(DataError, match="label 12 at row 1 is out of range for 10 classes"):
        check_labels(np.array([3, 12]), 10)
    with pytest.raises(DataError, match="must be integers"):
        check_labels(np.array([0.5]), 10)


def test_a_dataset_gets_pytorchs_loader_and_defaults() -> None:
    from chainrule.utils.data import DataLoader as TorchStyleLoader
    from chainrule.utils.data import TensorDataset

    x, y = np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10)
    dataset = TensorDataset(cr.tensor(x), cr.tensor(y))
    for loader in (
        DataLoader(dataset, batch_size=4),
        DataLoader(dataset, 4),  # PyTorch's second positional argument is batch_size
        DataLoader(dataset=dataset, batch_size=4),
    ):
        assert isinstance(loader, TorchStyleLoader)
        batches = list(loader)
        assert [len(b) for b, _ in batches] == [4, 4, 2]
        np.testing.assert_array_equal(batches[0][1].numpy(), y[:4])  # shuffle=False by default
    assert len(DataLoader(dataset)) == 10  # batch_size=1 by default
    assert [b.tolist() for b in DataLoader([1, 2, 3], batch_size=2)] == [[1, 2], [3]]
    array_loader = DataLoader(x, y, batch_size=4)  # arrays keep this loader and its defaults
    assert isinstance(array_loader, DataLoader) and array_loader.shuffle
    with pytest.raises(DataError, match="needs data"):
        DataLoader()
