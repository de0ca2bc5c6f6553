"""nn.utils.rnn: pad_sequence and unpad_sequence as PyTorch's; packing is refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn.utils.rnn import pack_padded_sequence, pad_sequence, unpad_sequence


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


def test_bad_sequences_and_packing_are_named() -> None:
    with pytest.raises(ShapeError, match="share every dim"):
        pad_sequence([cr.zeros(2, 3), cr.zeros(2, 4)])
    with pytest.raises(ConfigError, match="not supported"):
        pack_padded_sequence(cr.zeros(2, 1, 3), [2])
