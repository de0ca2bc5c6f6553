"""Padded and packed variable-length sequences, as ``torch.nn.utils.rnn``.

Packing and unpacking are gathers (one fancy index each), so gradients flow between the packed
data and the padded batch; RNN, LSTM and GRU take a PackedSequence as PyTorch's do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ...errors import ConfigError, DataError, ShapeError
from ...tensor import Tensor, cat, stack, tensor


def pad_sequence(
    sequences: Sequence[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack tensors of shape (L_i, *) into (L_max, B, *) (or (B, L_max, *) with batch_first),
    padding each with padding_value on the right (or the left); gradients flow to each."""
    if padding_side not in ("right", "left"):
        raise ConfigError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    items = [s if isinstance(s, Tensor) else tensor(s) for s in sequences]
    if not items:
        raise ShapeError("pad_sequence needs at least one sequence")
    trailing = {s.shape[1:] for s in items}
    if len(trailing) != 1 or any(s.ndim == 0 for s in items):
        raise ShapeError(
            "pad_sequence: sequences must share every dim after the first, got shapes "
            + ", ".join(str(s.shape) for s in items)
        )
    longest = max(s.shape[0] for s in items)
    padded = []
    for s in items:
        missing = longest - s.shape[0]
        if missing:
            fill = s.new_full((missing, *s.shape[1:]), padding_value)
            s = cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Any, batch_first: bool = False
) -> list[Tensor]:
    """The sequences pad_sequence padded, cut back to their lengths."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    sizes = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [x[i, : int(n)] for i, n in enumerate(sizes)]


def _int64(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values.tolist() if isinstance(values, Tensor) else values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ShapeError(f"{what} must be a 1-D sequence of integers, got {array!r}")
    return array.astype(np.int64)


def _index_tensor(array: np.ndarray) -> Tensor:
    return tensor(np.ascontiguousarray(array, dtype=np.int64), dtype=np.int64)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse p⁻¹ of a permutation p (p⁻¹[p[i]] = i), or None for None."""
    if permutation is None:
        return None
    p = _int64(permutation, "invert_permutation: permutation")
    inverse = np.empty_like(p)
    inverse[p] = np.arange(len(p), dtype=np.int64)
    return _index_tensor(inverse)


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A batch of variable-length sequences, time step after time step, as PyTorch's.

    ``data`` (sum of lengths, *) holds step 0 of every sequence, then step 1 of every sequence
    still running, ...; the sequences sorted by length, longest first. ``batch_sizes`` (int64,
    one per step) counts the sequences running at each step; ``sorted_indices`` maps sorted
    positions to the original batch (None when the batch was already sorted) and
    ``unsorted_indices`` is its inverse. Build one with pack_padded_sequence or pack_sequence.
    """

    __slots__ = ()

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as PyTorch allows
            if not (isinstance(data, list | tuple) and len(data) == 2):
                raise ConfigError(
                    "PackedSequence: without batch_sizes, data must be a pair (data, batch_sizes)"
                )
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; self when that changes nothing (indices stay int64)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to(*args, **kwargs)

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        self.data.cuda(*args, **kwargs)  # raises: chainrule computes on the CPU
        return self

    def pin_memory(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self.to(dtype=np.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=np.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=np.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=np.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=np.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=np.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=np.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=np.uint8)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) whose b-th sequence has
    lengths[b] steps; unless enforce_sorted, the batch is sorted by length first (longest
    first, ties in batch order). Gradients flow to the padded input's unpadded entries."""
    x = input if isinstance(input, Tensor) else tensor(input)
    sizes = _int64(lengths, "pack_padded_sequence: lengths")
    if x.ndim < 2:
        raise ShapeError(
            "pack_padded_sequence: input must have at least 2 dims "
            f"({'B, T' if batch_first else 'T, B'}, *), got shape {x.shape}"
        )
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    if len(sizes) != batch:
        raise ShapeError(
            f"pack_padded_sequence: Expected `len(lengths)` to be equal to batch_size, but got "
            f"{len(sizes)} (batch_size={batch})"
        )
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-sizes, kind="stable")
        sizes = sizes[order]
        sorted_indices = _index_tensor(order)
    else:
        order = np.arange(batch)
    # PyTorch's checks, in its order: the shortest length, then the order
    if batch == 0 or sizes[-1] <= 0:
        raise DataError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, but found an "
            f"element in 'lengths' that is <= 0 (lengths {sizes.tolist()})"
        )
    if np.any(np.diff(sizes) > 0):
        raise DataError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability."
        )
    if sizes[0] > steps:
        raise ShapeError(
            f"pack_padded_sequence: a length ({sizes[0]}) is longer than the padded "
            f"sequences ({steps} steps, input shape {x.shape})"
        )
    batch_sizes = (sizes[None, :] > np.arange(sizes[0])[:, None]).sum(1)
    # packed row (t, j) is padded row (t, order[j]), flattened over the two leading dims
    t = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    j = np.concatenate([np.arange(n) for n in batch_sizes])
    rows = order[j] * steps + t if batch_first else t * batch + order[j]
    data = x.reshape(steps * batch, *x.shape[2:])[rows]
    return PackedSequence(data, _index_tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The padded batch (T, B, *) (or (B, T, *)) of a PackedSequence, in the original batch
    order, and the int64 lengths; T is the longest length, or total_length."""
    data = sequence.data
    batch_sizes = _int64(sequence.batch_sizes, "pad_packed_sequence: batch_sizes")
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ShapeError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    batch = int(batch_sizes[0])
    sorted_lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    unsorted = (
        np.arange(batch)
        if sequence.unsorted_indices is None
        else _int64(sequence.unsorted_indices, "pad_packed_sequence: unsorted_indices")
    )
    # padded (t, b) is packed row offset[t] + unsorted[b] while that sequence runs, else the
    # padding row appended after the data
    per_step = np.concatenate([batch_sizes, np.zeros(steps - len(batch_sizes), np.int64)])
    offsets = np.cumsum(per_step) - per_step
    j = unsorted[None, :]
    rows = np.where(j < per_step[:, None], offsets[:, None] + j, len(data))  # (T, B)
    if batch_first:
        rows = rows.T
    source = cat([data, data.new_full((1, *data.shape[1:]), padding_value)])
    padded = source[rows.ravel()].reshape(*rows.shape, *data.shape[1:])
    return padded, _index_tensor(sorted_lengths[unsorted])


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (longest first unless enforce_sorted=False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of (L_i, *) tensors a PackedSequence holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
