"""nn.utils.rnn: pad_sequence, unpad_sequence, PackedSequence and (un)packing as PyTorch's:
values, indices, batch sizes, errors and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DataError, ShapeError
from chainrule.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_pytorch(batch_first: bool, side: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 1, 2)]
    mine = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = pad_sequence(mine, batch_first, -1.0, side)
    ref = torch.nn.utils.rnn.pad_sequence(theirs, batch_first, -1.0, side)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    weights = rng.standard_normal(out.shape)
    (out * cr.tensor(weights, dtype=cr.float64)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for m, t in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy())
    back = unpad_sequence(out, [3, 1, 2], batch_first) if side == "right" else None
    if back is not None:
        for b, a in zip(back, arrays, strict=True):
            np.testing.assert_array_equal(b.detach().numpy(), a)


def test_bad_sequences_are_named() -> None:
    with pytest.raises(ShapeError, match="share every dim"):
        pad_sequence([cr.zeros(2, 3), cr.zeros(2, 4)])


def _indices(t: object) -> object:
    return None if t is None else t.tolist()  # type: ignore[attr-defined]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    ("lengths", "enforce_sorted"),
    [([5, 3, 3, 1], True), ([2, 5, 1, 3], False), ([4, 4, 4, 4], False)],
    ids=["sorted", "unsorted", "equal"],
)
@pytest.mark.parametrize("total_length", [None, 7])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_and_pad_match_pytorch(
    batch_first: bool,
    lengths: list[int],
    enforce_sorted: bool,
    total_length: int | None,
    as_tensor: bool,
) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    steps = 6 if total_length is None else 5
    shape = (4, steps, 2, 3) if batch_first else (steps, 4, 2, 3)
    x = rng.standard_normal(shape)
    mine = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    my_lengths = cr.tensor(lengths) if as_tensor else lengths
    their_lengths = torch.tensor(lengths) if as_tensor else lengths
    packed = pack_padded_sequence(mine, my_lengths, batch_first, enforce_sorted)
    ref = torch.nn.utils.rnn.pack_padded_sequence(
        theirs, their_lengths, batch_first, enforce_sorted
    )
    assert isinstance(packed, PackedSequence) and isinstance(packed, tuple)
    assert packed._fields == ref._fields
    np.testing.assert_array_equal(packed.data.numpy(), ref.data.detach().numpy())
    assert packed.batch_sizes.dtype == np.int64
    assert packed.batch_sizes.tolist() == ref.batch_sizes.tolist()
    assert _indices(packed.sorted_indices) == _indices(ref.sorted_indices)
    assert _indices(packed.unsorted_indices) == _indices(ref.unsorted_indices)

    padded, out_lengths = pad_packed_sequence(packed, batch_first, -2.0, total_length)
    ref_padded, ref_lengths = torch.nn.utils.rnn.pad_packed_sequence(
        ref, batch_first, -2.0, total_length
    )
    np.testing.assert_array_equal(padded.numpy(), ref_padded.detach().numpy())
    assert out_lengths.dtype == np.int64 and out_lengths.tolist() == ref_lengths.tolist()

    weights = rng.standard_normal(padded.shape)
    packed_weights = rng.standard_normal(packed.data.shape)
    (
        (padded * cr.tensor(weights, dtype=cr.float64)).sum()
        + (packed.data * cr.tensor(packed_weights, dtype=cr.float64)).sum()
    ).backward()
    (
        (ref_padded * torch.tensor(weights)).sum() + (ref.data * torch.tensor(packed_weights)).sum()
    ).backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_match_pytorch(enforce_sorted: bool) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    sizes = (4, 2, 2, 1) if enforce_sorted else (2, 4, 1, 3)
    arrays = [rng.standard_normal((n, 3)).astype(np.float32) for n in sizes]
    mine = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    packed = pack_sequence(mine, enforce_sorted)
    ref = torch.nn.utils.rnn.pack_sequence(theirs, enforce_sorted)
    assert packed.data.dtype == np.float32
    np.testing.assert_array_equal(packed.data.numpy(), ref.data.detach().numpy())
    assert packed.batch_sizes.tolist() == ref.batch_sizes.tolist()
    back = unpack_sequence(packed)
    for b, a in zip(back, arrays, strict=True):
        np.testing.assert_array_equal(b.detach().numpy(), a)
    sum((s * float(i + 1)).sum() for i, s in enumerate(back)).backward()
    for i, m in enumerate(mine):
        np.testing.assert_array_equal(m.grad.numpy(), np.full(m.shape, i + 1, np.float32))


def test_pack_errors_are_pytorchs() -> None:
    x = cr.zeros(4, 3, 2)
    with pytest.raises(DataError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(DataError, match="greater than 0"):
        pack_padded_sequence(x, [3, 0, 0])
    with pytest.raises(DataError, match="greater than 0"):
        pack_padded_sequence(x, [0, 3, 1], enforce_sorted=False)
    with pytest.raises(ShapeError, match=r"equal to batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [3, 2])
    # PyTorch reads past the padded batch here; chainrule refuses
    with pytest.raises(ShapeError, match=r"a length \(5\) is longer than .* \(4 steps"):
        pack_padded_sequence(x, [5, 3, 1])
    packed = pack_padded_sequence(x, [3, 2, 1])
    with pytest.raises(ShapeError, match="total_length=2 and max sequence length being 3"):
        pad_packed_sequence(packed, total_length=2)


def test_packed_sequence_conveniences() -> None:
    packed = pack_sequence([cr.ones(2, 3), cr.ones(3, 3)], enforce_sorted=False)
    assert packed.to("cpu") is packed and packed.float() is packed and packed.cpu() is packed
    assert packed.to(cr.float32) is packed and not packed.is_cuda and not packed.is_pinned()
    double = packed.double()
    assert double.data.dtype == np.float64
    assert double.sorted_indices.tolist() == [1, 0] == double.unsorted_indices.tolist()
    assert packed.to(dtype=cr.float64).data.dtype == np.float64
    data, batch_sizes, sorted_indices, _ = packed  # a tuple, as PyTorch's
    assert batch_sizes.tolist() == [2, 2, 1] and sorted_indices.tolist() == [1, 0]
    rebuilt = PackedSequence(data, batch_sizes, sorted_indices)
    assert rebuilt.unsorted_indices.tolist() == [1, 0]
    assert PackedSequence((data, batch_sizes)).sorted_indices is None
    assert invert_permutation(None) is None
    assert invert_permutation(cr.tensor([2, 0, 1])).tolist() == [1, 2, 0]
