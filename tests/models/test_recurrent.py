"""ImageRows, RecurrentLast and build_rnn: float64 gradchecks, PyTorch twins with torch's own
state_dict, model files and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError, ShapeError
from chainrule.models import ImageRows, RecurrentLast, build_rnn
from chainrule.serialization import load, save

MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]


def test_image_rows_reads_each_row_of_every_channel_as_one_step() -> None:
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    out = ImageRows()(cr.tensor(x)).numpy()
    assert out.shape == (2, 4, 15)
    np.testing.assert_array_equal(out[1, 2], np.concatenate([x[1, c, 2] for c in range(3)]))
    with pytest.raises(ShapeError, match=r"ImageRows expects \(N, C, H, W\).*\(2, 3\)"):
        ImageRows()(cr.zeros(2, 3))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_recurrent_last_gradcheck(mode: str, layers: int, bidirectional: bool) -> None:
    cr.manual_seed(0)
    layer = RecurrentLast(mode, 3, 4, num_layers=layers, bidirectional=bidirectional).double()
    x = cr.from_numpy(np.random.default_rng(0).standard_normal((2, 5, 3)))
    assert layer(x).shape == (2, 4 * (2 if bidirectional else 1))
    result = cr.gradcheck(layer, [x], max_elements=12)
    assert result.passed, result.report()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_recurrent_last_matches_pytorch(mode: str, layers: int, bidirectional: bool) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    kinds = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "RNN_TANH": torch.nn.RNN,
             "RNN_RELU": torch.nn.RNN}  # fmt: skip
    extra = {"nonlinearity": mode[4:].lower()} if mode.startswith("RNN_") else {}
    twin = kinds[mode](3, 4, layers, batch_first=True, bidirectional=bidirectional, **extra)
    layer = RecurrentLast(mode, 3, 4, num_layers=layers, bidirectional=bidirectional)
    layer.load_state_dict({f"rnn.{k}": v.detach().numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((3, 6, 3)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out, state = twin(xt)
    h_n = state[0] if mode == "LSTM" else state
    if bidirectional:  # forward direction after the last step, backward after the first
        expected = torch.cat([h_n[-2], h_n[-1]], dim=1)
        torch.testing.assert_close(expected, torch.cat([out[:, -1, :4], out[:, 0, 4:]], 1))
    else:
        expected = out[:, -1]
    weights = torch.tensor(np.random.default_rng(3).standard_normal(expected.shape),
                           dtype=torch.float32)  # fmt: skip
    (expected * weights).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    got = layer(xc)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    (got * cr.tensor(weights.numpy())).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name[4:]].grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)  # fmt: skip


def test_build_rnn_matches_the_row_by_row_pytorch_model() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lstm, fc = torch.nn.LSTM(8, 16, batch_first=True), torch.nn.Linear(16, 10)
    model = build_rnn((1, 8, 8), 10, hidden=16)
    state = {f"2.rnn.{k}": v for k, v in lstm.state_dict().items()}
    state |= {f"3.{k}": v for k, v in fc.state_dict().items()}
    model.load_state_dict({k: v.detach().numpy() for k, v in state.items()})
    x = np.random.default_rng(0).random((4, 64), dtype=np.float32)
    with torch.no_grad():
        expected = fc(lstm(torch.tensor(x).reshape(4, 8, 8))[0][:, -1]).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_recurrent_model_file_round_trip(tmp_path: Path) -> None:
    gru = RecurrentLast("GRU", 8, 6, num_layers=2, bidirectional=True)
    model = nn.Sequential(ImageRows(), gru, nn.Linear(12, 3))
    path = tmp_path / "gru.npz"
    save(model, path)
    again = load(path)
    assert repr(again) == repr(model)
    x = cr.randn(2, 1, 5, 8)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_recurrent_last_errors() -> None:
    with pytest.raises(ConfigError, match="mode must be one of"):
        RecurrentLast("TRANSFORMER", 3, 4)
    with pytest.raises(ConfigError, match="hidden size"):
        build_rnn((1, 8, 8), 10, hidden=0)
