"""Making tensors as PyTorch does: shapes, dtypes (float32 and int64 by default), devices."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError


def test_zeros_ones_full_accept_sizes_and_tuples() -> None:
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).shape == (2, 3)
    assert cr.ones([4]).dtype == cr.float32
    assert cr.zeros(2, dtype=cr.int64).dtype == cr.long
    assert cr.full((2,), 7).dtype == cr.int64 and cr.full((2,), 7.0).dtype == cr.float32
    assert cr.full((2,), True).dtype == cr.bool
    assert cr.empty(3).tolist() == [0.0, 0.0, 0.0]  # never uninitialised memory
    assert cr.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]


def test_like_functions_keep_shape_and_dtype() -> None:
    x = cr.tensor([[1, 2]], dtype=cr.int32)
    assert cr.zeros_like(x).dtype == cr.int32 and cr.ones_like(x).shape == (1, 2)
    assert cr.full_like(x, 5).tolist() == [[5, 5]]
    assert cr.rand_like(cr.zeros(3, dtype=cr.float64)).dtype == cr.float64


def test_arange_and_linspace_dtypes() -> None:
    assert cr.arange(5).dtype == cr.int64 and cr.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert cr.arange(0, 1, 0.25).dtype == cr.float32
    assert cr.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert cr.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_random_draws_follow_the_seed_and_generators() -> None:
    cr.manual_seed(3)
    a = cr.randn(2, 3)
    cr.manual_seed(3)
    assert cr.randn(2, 3).equal(a)
    assert a.dtype == cr.float32 and cr.rand(2).dtype == cr.float32
    g = cr.Generator().manual_seed(1)
    first = cr.randint(0, 10, (5,), generator=g)
    assert first.dtype == cr.int64 and first.equal(
        cr.randint(0, 10, (5,), generator=cr.Generator().manual_seed(1))
    )
    assert sorted(cr.randperm(6).tolist()) == list(range(6))
    assert cr.randint(3, (4,)).shape == (4,)


def test_tensor_copies_from_numpy_shares_as_tensor_keeps_dtype() -> None:
    array = np.ones(3)
    t = cr.tensor(array)
    assert t.dtype == cr.float32  # chainrule's float32 by default
    t.add_(1)
    assert array[0] == 1.0
    shared = cr.from_numpy(array)
    assert shared.dtype == cr.float64
    shared.add_(1)
    assert array[0] == 2.0
    assert cr.as_tensor(array).numpy() is array
    assert cr.tensor([1, 2]).dtype == cr.int64 and cr.tensor([True]).dtype == cr.bool
    assert cr.tensor(2.5).shape == () and cr.tensor([[1.0]], dtype=cr.float64).dtype == cr.float64


def test_default_dtype_can_be_float64() -> None:
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.0]).dtype == cr.float64 and cr.zeros(2).dtype == cr.float64
        assert (cr.tensor([1]) / 2).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.get_default_dtype() == cr.float32


def test_dtype_names_compare_with_numpy_and_strings() -> None:
    x = cr.zeros(2)
    assert x.dtype == cr.float32 == np.float32 and x.dtype == cr.float
    assert x.to(cr.float64).dtype == cr.double and x.to("float16").dtype == cr.half
    assert x.long().dtype == cr.int64 and x.int().dtype == cr.int32 and x.bool().dtype == cr.bool
    assert x.type(cr.int64).dtype == cr.int64 and x.type_as(cr.tensor([1])).dtype == cr.int64


def test_devices_are_the_cpu() -> None:
    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    assert str(device) == "cpu" and device == "cpu" and device.type == "cpu"
    x = cr.ones(2).to(device)
    assert x.to("cpu", cr.float64).dtype == cr.float64
    assert x.device == cr.device("cpu") and x.cpu() is x
    with pytest.raises(ChainruleError, match="CPU only"):
        x.to("cuda")
    with pytest.raises(ChainruleError, match="CPU only"):
        cr.zeros(2, device="cuda:0")
    assert not cr.backends.mps.is_available()


def test_meshgrid_and_broadcast_tensors() -> None:
    x, y = cr.meshgrid(cr.arange(3), cr.arange(2), indexing="ij")
    assert x.shape == y.shape == (3, 2) and x[:, 0].tolist() == [0, 1, 2]
    a, b = cr.broadcast_tensors(cr.ones(3, 1), cr.ones(4))
    assert a.shape == b.shape == (3, 4)
