"""Padding variable-length sequences, as ``torch.nn.utils.rnn`` (packed sequences are not
supported: the recurrent layers take padded batches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError, ShapeError
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


def pack_padded_sequence(*args: Any, **kwargs: Any) -> Any:
    raise ConfigError(
        "pack_padded_sequence: packed sequences are not supported; pass the padded batch to "
        "the RNN and mask (or index) the outputs past each sequence's length"
    )


pack_sequence = pad_packed_sequence = pack_padded_sequence
