"""The torch.* spellings: each free function is the method of the same name."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_free_functions_call_the_methods() -> None:
    x = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert cr.sum(x, dim=1).tolist() == [-1.0, 7.0]
    assert cr.max(x).item() == 4.0
    values, indices = cr.max(x, 1)
    assert values.tolist() == [1.0, 4.0] and indices.tolist() == [0, 1]
    assert cr.max(x, cr.zeros(2, 2)).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert cr.abs(x).sum().item() == 10.0
    assert cr.argmax(x, dim=1, keepdim=True).shape == (2, 1)
    assert cr.exp.__doc__ == cr.Tensor.exp.__doc__


def test_out_argument() -> None:
    out = cr.zeros(2)
    cr.add(cr.ones(2), 1, out=out)
    assert out.tolist() == [2.0, 2.0]


def test_cat_stack_where_einsum() -> None:
    a, b = cr.ones(2, 3), cr.zeros(2, 3)
    assert cr.cat([a, b], dim=0).shape == (4, 3) and cr.cat((a, b), 1).shape == (2, 6)
    assert cr.stack([a, b]).shape == (2, 2, 3) and cr.stack([a, b], dim=-1).shape == (2, 3, 2)
    assert cr.where(a > 0, a, b).sum().item() == 6.0
    assert cr.einsum("ij,kj->ik", a, b).shape == (2, 2)
    assert cr.hstack([a, b]).shape == (2, 6) and cr.vstack([a, b]).shape == (4, 3)
    with pytest.raises(cr.ChainruleError, match="does not match"):
        cr.cat([a, cr.ones(3, 2)], dim=0)


def test_unknown_names_say_what_is_missing() -> None:
    with pytest.raises(AttributeError, match="fft"):
        cr.fft  # noqa: B018
    with pytest.raises(AttributeError, match="stft"):
        cr.ones(2).stft  # noqa: B018


def test_functions_accept_arrays() -> None:
    assert cr.mean(np.array([1.0, 3.0])).item() == 2.0
    assert cr.softmax(cr.zeros(2), dim=0).tolist() == [0.5, 0.5]
