"""Recurrent classifiers for images read row by row: each row is one time step."""

from __future__ import annotations

from .. import nn
from ..errors import ConfigError, ShapeError
from ..tensor import Tensor

_MODES = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN}


class ImageRows(nn.Module):
    """(N, C, H, W) -> (N, H, C·W): an image as a sequence of H steps, each row's pixels of
    every channel as one step's features."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ShapeError(f"ImageRows expects (N, C, H, W) images, got shape {tuple(x.shape)}")
        n, c, h, w = x.shape
        return x.permute(0, 2, 1, 3).reshape(n, h, c * w)


class RecurrentLast(nn.Module):
    """An RNN, LSTM or GRU over (N, L, input_size) that keeps only the last layer's final
    hidden state: (N, L, input_size) -> (N, D·hidden_size), D = 2 when bidirectional.

    Without bidirectional this is PyTorch's ``output[:, -1]``; with it, the forward
    direction's state after step L and the backward direction's after step 1, concatenated.
    The gradient of the loss reaches step 1 only through L - 1 steps of the recurrence.
    state_dict keys: rnn.weight_ih_l0, ... as in the wrapped layer.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        if mode not in _MODES:
            raise ConfigError(f"RecurrentLast: mode must be one of {list(_MODES)}, got {mode!r}")
        options = {"nonlinearity": mode[4:].lower()} if mode.startswith("RNN_") else {}
        self.rnn = _MODES[mode](
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
            **options,
        )
        self.directions = 2 if bidirectional else 1

    def forward(self, x: Tensor) -> Tensor:
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state  # (layers·D, N, H)
        last = h_n[-self.directions :]  # (D, N, H): the last layer's directions
        return last.permute(1, 0, 2).reshape(last.shape[1], -1)


def build_rnn(
    in_shape: tuple[int, int, int],
    num_classes: int,
    mode: str = "LSTM",
    hidden: int = 128,
    num_layers: int = 1,
) -> nn.Sequential:
    """Unflatten → ImageRows → RecurrentLast → Linear: an image of (C, H, W) read as H steps
    of C·W features, classified from the last step's hidden state."""
    c, _, w = in_shape
    if hidden < 1:
        raise ConfigError(f"hidden size must be positive, got {hidden}")
    return nn.Sequential(
        nn.Unflatten(1, in_shape),
        ImageRows(),
        RecurrentLast(mode, c * w, hidden, num_layers),
        nn.Linear(hidden, num_classes),
    )
