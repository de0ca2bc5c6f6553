"""RNN, LSTM, GRU and their cells: PyTorch twins (outputs, states and every gradient), float64
gradchecks, parameter names, init, reprs, dropout and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError, DataError, ShapeError

torch = pytest.importorskip("torch")

MODES = [
    ("RNN", {"nonlinearity": "tanh"}),
    ("RNN", {"nonlinearity": "relu"}),
    ("LSTM", {}),
    ("GRU", {}),
]
MODE_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]

# (layer options, batched, with initial state)
CONFIGS = [
    ({}, True, False),
    ({"num_layers": 2}, True, True),
    ({"bidirectional": True}, True, True),
    ({"num_layers": 2, "bidirectional": True}, True, False),
    ({"batch_first": True, "bias": False}, True, True),
    ({"num_layers": 2, "bidirectional": True, "batch_first": True}, True, True),
    ({}, False, False),
    ({"num_layers": 2, "bidirectional": True}, False, True),
]
CONFIG_IDS = [
    "plain",
    "2layers_h0",
    "bidir_h0",
    "2layers_bidir",
    "batch_first_nobias_h0",
    "2layers_bidir_batch_first_h0",
    "unbatched",
    "unbatched_2layers_bidir_h0",
]

L, N, H_IN, H = 5, 3, 4, 6


def _twin(name: str, options: dict[str, Any]) -> tuple[Any, nn.Module]:
    """A torch layer and a chainrule layer holding torch's own state_dict."""
    theirs = getattr(torch.nn, name)(H_IN, H, **options)
    ours = getattr(nn, name)(H_IN, H, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _flatten(out: Any) -> list[Any]:
    """(output, h_n) or (output, (h_n, c_n)) as a flat list."""
    first, state = out
    return [first, *state] if isinstance(state, tuple) else [first, state]


def _compare(
    theirs: Any, ours: nn.Module, args: list[np.ndarray], rng: np.random.Generator
) -> None:
    """Outputs, and gradients of every input and parameter under random upstream gradients."""
    t_args = [torch.tensor(a, requires_grad=True) for a in args]
    c_args = [cr.tensor(a, requires_grad=True) for a in args]
    t_in, c_in = t_args[0], c_args[0]
    if len(args) == 3:  # LSTM: (input, (h0, c0))
        t_out, c_out = theirs(t_in, tuple(t_args[1:])), ours(c_in, tuple(c_args[1:]))
    elif len(args) == 2:
        t_out, c_out = theirs(t_in, t_args[1]), ours(c_in, c_args[1])
    else:
        t_out, c_out = theirs(t_in), ours(c_in)
    t_flat, c_flat = _flatten(t_out), _flatten(c_out)
    t_loss, c_loss = 0, 0
    for t, c in zip(t_flat, c_flat, strict=True):
        assert c.shape == tuple(t.shape)
        assert c.dtype == np.float32
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
        direction = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        t_loss = t_loss + (t * torch.tensor(direction)).sum()
        c_loss = c_loss + (c * cr.tensor(direction)).sum()
    t_loss.backward()
    c_loss.backward()
    for t, c in zip(t_args, c_args, strict=True):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_params = dict(ours.named_parameters())
    for param_name, param in theirs.named_parameters():
        grad = ours_params[param_name].grad
        assert grad is not None, param_name
        assert grad.dtype == np.float32
        np.testing.assert_allclose(
            grad.numpy(), param.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=param_name
        )


@pytest.mark.parametrize(("name", "mode_options"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize(("options", "batched", "with_state"), CONFIGS, ids=CONFIG_IDS)
def test_layer_matches_pytorch(
    name: str,
    mode_options: dict[str, Any],
    options: dict[str, Any],
    batched: bool,
    with_state: bool,
    rng: np.random.Generator,
) -> None:
    theirs, ours = _twin(name, {**mode_options, **options})
    if not batched:
        shape: tuple[int, ...] = (L, H_IN)
    else:
        shape = (N, L, H_IN) if options.get("batch_first") else (L, N, H_IN)
    args = [rng.standard_normal(shape).astype(np.float32)]
    if with_state:
        directions = 2 if options.get("bidirectional") else 1
        layers = options.get("num_layers", 1) * directions
        state_shape = (layers, N, H) if batched else (layers, H)
        for _ in range(2 if name == "LSTM" else 1):
            args.append(rng.standard_normal(state_shape).astype(np.float32))
    _compare(theirs, ours, args, rng)


@pytest.mark.parametrize(
    ("options", "batched", "with_state"),
    [
        ({"proj_size": 2}, True, True),
        ({"proj_size": 3, "num_layers": 2, "bidirectional": True, "batch_first": True}, True, True),
        ({"proj_size": 2, "num_layers": 2, "bias": False}, True, False),
        ({"proj_size": 4, "bidirectional": True}, False, True),
    ],
)
@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
def test_lstm_projection_matches_pytorch(
    options: dict[str, Any], batched: bool, with_state: bool, rng: np.random.Generator
) -> None:
    theirs, ours = _twin("LSTM", options)
    if not batched:
        shape: tuple[int, ...] = (L, H_IN)
    else:
        shape = (N, L, H_IN) if options.get("batch_first") else (L, N, H_IN)
    args = [rng.standard_normal(shape).astype(np.float32)]
    if with_state:
        layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
        for size in (options["proj_size"], H):  # h_0 has P features, c_0 has H
            state_shape = (layers, N, size) if batched else (layers, size)
            args.append(rng.standard_normal(state_shape).astype(np.float32))
    _compare(theirs, ours, args, rng)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu"}),
        ("RNNCell", {"bias": False}),
        ("LSTMCell", {}),
        ("LSTMCell", {"bias": False}),
        ("GRUCell", {}),
        ("GRUCell", {"bias": False}),
    ],
)
@pytest.mark.parametrize(("batched", "with_state"), [(True, True), (True, False), (False, True)])
def test_cell_matches_pytorch(
    name: str, options: dict[str, Any], batched: bool, with_state: bool, rng: np.random.Generator
) -> None:
    theirs, ours = _twin(name, options)
    x = rng.standard_normal((N, H_IN) if batched else (H_IN,)).astype(np.float32)
    states = [rng.standard_normal((N, H) if batched else (H,)).astype(np.float32)]
    states *= 2 if name == "LSTMCell" else 1
    t_x, c_x = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    t_s = [torch.tensor(s, requires_grad=True) for s in states]
    c_s = [cr.tensor(s, requires_grad=True) for s in states]
    if not with_state:
        t_out, c_out = theirs(t_x), ours(c_x)
    elif name == "LSTMCell":
        t_out, c_out = theirs(t_x, tuple(t_s)), ours(c_x, tuple(c_s))
    else:
        t_out, c_out = theirs(t_x, t_s[0]), ours(c_x, c_s[0])
    t_flat = list(t_out) if isinstance(t_out, tuple) else [t_out]
    c_flat = list(c_out) if isinstance(c_out, tuple) else [c_out]
    t_loss, c_loss = 0, 0
    for t, c in zip(t_flat, c_flat, strict=True):
        assert c.shape == tuple(t.shape)
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
        direction = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        t_loss = t_loss + (t * torch.tensor(direction)).sum()
        c_loss = c_loss + (c * cr.tensor(direction)).sum()
    t_loss.backward()
    c_loss.backward()
    pairs = [(t_x, c_x)] + (list(zip(t_s, c_s, strict=True)) if with_state else [])
    for t, c in pairs:
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == {k for k, _ in theirs.named_parameters()}
    for param_name, param in theirs.named_parameters():
        np.testing.assert_allclose(
            ours_params[param_name].grad.numpy(), param.grad.numpy(), rtol=1e-4, atol=1e-5
        )


# ---------------------------------------------------------------------------- gradchecks
class _Flat(nn.Module):
    """Every output of a recurrent layer in one vector, so gradcheck sees them all."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: cr.Tensor, *state: cr.Tensor) -> cr.Tensor:
        hx: Any = None
        if state:
            hx = tuple(state) if len(state) == 2 else state[0]
        result = self.layer(x, hx)
        if isinstance(self.layer, nn.RNNBase):
            outputs = _flatten(result)
        else:
            outputs = list(result) if isinstance(result, tuple) else [result]
        return cr.cat([o.reshape(-1) for o in outputs])


@pytest.mark.parametrize(("name", "mode_options"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_gradcheck(
    name: str, mode_options: dict[str, Any], batch_first: bool, rng: np.random.Generator
) -> None:
    layer = getattr(nn, name)(
        3, 3, num_layers=2, bidirectional=True, batch_first=batch_first, **mode_options
    )
    x = rng.standard_normal((2, 3, 3) if batch_first else (3, 2, 3))  # seq 3, batch 2
    states = [rng.standard_normal((4, 2, 3)) for _ in range(2 if name == "LSTM" else 1)]
    result = cr.gradcheck(_Flat(layer), [x, *states], max_elements=12)
    assert result.passed, str(result)
    assert len(result.errors) == len(list(layer.parameters())) + 1 + len(states)


def test_lstm_projection_gradcheck(rng: np.random.Generator) -> None:
    layer = nn.LSTM(3, 3, num_layers=2, bidirectional=True, proj_size=2)
    x = rng.standard_normal((3, 2, 3))
    h0, c0 = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 3))
    result = cr.gradcheck(_Flat(layer), [x, h0, c0], max_elements=12)
    assert result.passed, str(result)
    assert "layer.weight_hr_l1_reverse" in result.errors


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(name: str, rng: np.random.Generator) -> None:
    cell = getattr(nn, name)(3, 3)
    x = rng.standard_normal((2, 3))
    states = [rng.standard_normal((2, 3)) for _ in range(2 if name == "LSTMCell" else 1)]
    result = cr.gradcheck(_Flat(cell), [x, *states])
    assert result.passed, str(result)


def test_float64_model_stays_float64(rng: np.random.Generator) -> None:
    layer = nn.LSTM(3, 4, bidirectional=True).double()
    x = cr.tensor(rng.standard_normal((5, 2, 3)), dtype=cr.float64, requires_grad=True)
    out, (h_n, c_n) = layer(x)
    assert out.dtype == h_n.dtype == c_n.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float64 and layer.weight_hh_l0.grad.dtype == np.float64


# ---------------------------------------------------------------------------- structure
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("RNN", {"num_layers": 2, "bidirectional": True}),
        ("LSTM", {"num_layers": 3, "bias": False}),
        ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 3}),
        ("GRU", {"bidirectional": True, "batch_first": True}),
        ("RNNCell", {}),
        ("LSTMCell", {"bias": False}),
        ("GRUCell", {}),
    ],
)
def test_state_dict_names_and_shapes_are_pytorchs(name: str, options: dict[str, Any]) -> None:
    theirs = getattr(torch.nn, name)(5, 7, **options)
    ours = getattr(nn, name)(5, 7, **options)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_init_is_uniform_within_one_over_sqrt_hidden(name: str) -> None:
    layer = getattr(nn, name)(20, 25)
    bound = 1 / np.sqrt(25)
    for param_name, param in layer.named_parameters():
        values = param.numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound, param_name
        assert np.abs(values).max() > 0.9 * bound, param_name
        assert abs(values.mean()) < 0.2 * bound, param_name  # centred, biases included


@pytest.mark.parametrize(
    ("name", "args", "options"),
    [
        ("RNN", (3, 4), {"nonlinearity": "relu"}),
        ("LSTM", (3, 4, 2), {"dropout": 0.5, "bidirectional": True, "batch_first": True}),
        ("LSTM", (3, 4), {"proj_size": 2, "num_layers": 2}),
        ("GRU", (3, 4), {"bias": False}),
        ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
        ("LSTMCell", (3, 4), {}),
        ("GRUCell", (3, 4), {"bias": False}),
    ],
)
def test_repr_is_pytorchs(name: str, args: tuple[int, ...], options: dict[str, Any]) -> None:
    assert repr(getattr(nn, name)(*args, **options)) == repr(
        getattr(torch.nn, name)(*args, **options)
    )


def test_attributes_and_all_weights() -> None:
    layer = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    assert (layer.input_size, layer.hidden_size, layer.num_layers) == (3, 4, 2)
    assert layer.bidirectional and layer.batch_first and layer.bias and layer.dropout == 0.0
    assert layer.mode == "GRU" and nn.RNN(3, 4, nonlinearity="relu").mode == "RNN_RELU"
    assert [p.shape for p in layer.all_weights[3]] == [(12, 8), (12, 4), (12,), (12,)]
    layer.flatten_parameters()  # a no-op, as on the CPU in PyTorch


# ---------------------------------------------------------------------------- dropout
def test_dropout_between_layers_in_training_only(rng: np.random.Generator) -> None:
    theirs, ours = _twin("LSTM", {"num_layers": 2, "dropout": 0.5})
    x = rng.standard_normal((L, N, H_IN)).astype(np.float32)
    ours.eval()
    out_eval, (h_eval, _) = ours(cr.tensor(x))
    np.testing.assert_allclose(
        out_eval.numpy(), theirs.eval()(torch.tensor(x))[0].detach(), atol=1e-6
    )
    ours.train()
    out_train, (h_train, _) = ours(cr.tensor(x))
    # The first layer is not dropped out; the second layer's input is, so its output changes.
    np.testing.assert_allclose(h_train.numpy()[0], h_eval.numpy()[0], atol=1e-6)
    assert not np.allclose(out_train.numpy(), out_eval.numpy(), atol=1e-3)


def test_dropout_warns_with_one_layer_and_rejects_bad_values() -> None:
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
    with pytest.raises(ConfigError, match="dropout"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ConfigError, match="dropout"):
        nn.LSTM(3, 4, num_layers=2, dropout=True)


# ---------------------------------------------------------------------------- errors
def test_constructor_errors() -> None:
    with pytest.raises(ConfigError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ConfigError, match="Unknown nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ConfigError, match="hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(ConfigError, match="num_layers"):
        nn.GRU(3, 4, num_layers=0)
    with pytest.raises(ConfigError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ConfigError, match="proj_size should be a positive integer"):
        nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(ConfigError, match="bias"):
        nn.RNN(3, 4, bias=1)


def test_forward_shape_errors() -> None:
    layer = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ShapeError, match="Expected 3, got 5"):
        layer(cr.zeros(6, 2, 5))
    with pytest.raises(ShapeError, match="2D"):
        layer(cr.zeros(1, 6, 2, 3))
    with pytest.raises(ShapeError, match=r"Expected hx\[0\] size \(2, 2, 4\), got \(1, 2, 4\)"):
        layer(cr.zeros(6, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(ShapeError, match="should also be 3-D"):
        layer(cr.zeros(6, 2, 3), (cr.zeros(2, 4), cr.zeros(2, 4)))
    with pytest.raises(ShapeError, match="tuple"):
        layer(cr.zeros(6, 2, 3), cr.zeros(2, 2, 4))
    with pytest.raises(ShapeError, match="should also be 2-D"):
        nn.GRU(3, 4)(cr.zeros(6, 3), cr.zeros(1, 2, 4))
    with pytest.raises(ShapeError, match="inconsistent input_size"):
        nn.GRUCell(3, 4)(cr.zeros(2, 5))
    with pytest.raises(ShapeError, match=r"hidden of shape \(2, 4\), got \(3, 4\)"):
        nn.RNNCell(3, 4)(cr.zeros(2, 3), cr.zeros(3, 4))


def test_dtype_mismatch_and_pytorchs_packed_sequence_are_refused() -> None:
    with pytest.raises(DataError, match="does not match weight dtype"):
        nn.RNN(3, 4)(cr.zeros(5, 2, 3, dtype=cr.float64))
    packed = torch.nn.utils.rnn.pack_sequence([torch.zeros(3, 3), torch.zeros(2, 3)])
    with pytest.raises(ConfigError, match=r"torch\.nn\.utils\.rnn\.PackedSequence; pack the batch"):
        nn.LSTM(3, 4)(packed)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: nn.LSTM(3, 4, num_layers=2, batch_first=True, proj_size=2),
        lambda: nn.RNN(3, 4, nonlinearity="relu", bidirectional=True),
        lambda: nn.GRUCell(3, 4, bias=False),
    ],
)
def test_model_file_round_trip(layer: Any, tmp_path: Any, rng: np.random.Generator) -> None:
    model = nn.Sequential(layer())
    path = tmp_path / "model.npz"
    cr.save(model, path)
    loaded = cr.load(path)
    assert repr(loaded) == repr(model)
    x = cr.tensor(rng.standard_normal((2, 5, 3) if isinstance(model[0], nn.LSTM) else (2, 3)))
    first, second = model[0](x), loaded[0](x)
    first = first[0] if isinstance(first, tuple) else first
    second = second[0] if isinstance(second, tuple) else second
    np.testing.assert_array_equal(first.numpy(), second.numpy())


# ------------------------------------------------------------------ packed sequences
PACKED_CONFIGS = [
    ({}, False),
    ({"num_layers": 2}, True),
    ({"bidirectional": True}, True),
    ({"num_layers": 2, "bidirectional": True, "batch_first": True}, False),
    ({"batch_first": True, "bias": False}, True),
]
PACKED_IDS = ["plain", "2layers_h0", "bidir_h0", "2layers_bidir_batch_first", "batch_first_h0"]


def _packed_twin_compare(
    name: str,
    options: dict[str, Any],
    with_state: bool,
    lengths: list[int],
    enforce_sorted: bool,
    rng: np.random.Generator,
    hidden: int = H,
) -> None:
    """Pack a padded batch, run both layers, unpack; compare packed data, padded output, states
    and every gradient (input, initial states, parameters)."""
    from chainrule.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    theirs = getattr(torch.nn, name)(H_IN, hidden, **options)
    ours = getattr(nn, name)(H_IN, hidden, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    batch_first = options.get("batch_first", False)
    steps, batch = max(lengths) + 1, len(lengths)  # one step of padding past the longest
    x = rng.standard_normal((batch, steps, H_IN) if batch_first else (steps, batch, H_IN))
    arrays = [x.astype(np.float32)]
    if with_state:
        layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
        sizes = [options.get("proj_size") or hidden] + ([hidden] if name == "LSTM" else [])
        arrays += [rng.standard_normal((layers, batch, s)).astype(np.float32) for s in sizes]
    t_args = [torch.tensor(a, requires_grad=True) for a in arrays]
    c_args = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_in = torch.nn.utils.rnn.pack_padded_sequence(t_args[0], lengths, batch_first, enforce_sorted)
    c_in = pack_padded_sequence(c_args[0], lengths, batch_first, enforce_sorted)
    t_hx: Any = None
    c_hx: Any = None
    if with_state:
        t_hx = tuple(t_args[1:]) if name == "LSTM" else t_args[1]
        c_hx = tuple(c_args[1:]) if name == "LSTM" else c_args[1]
    t_out, t_state = theirs(t_in, t_hx)
    c_out, c_state = ours(c_in, c_hx)
    assert isinstance(c_out, PackedSequence)
    assert c_out.batch_sizes.tolist() == t_out.batch_sizes.tolist()
    assert (c_out.sorted_indices is None) == (t_out.sorted_indices is None)
    np.testing.assert_allclose(
        c_out.data.numpy(), t_out.data.detach().numpy(), rtol=1e-5, atol=1e-6
    )
    t_padded, t_lengths = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first)
    c_padded, c_lengths = pad_packed_sequence(c_out, batch_first)
    assert c_lengths.tolist() == t_lengths.tolist() == lengths
    t_states = list(t_state) if isinstance(t_state, tuple) else [t_state]
    c_states = list(c_state) if isinstance(c_state, tuple) else [c_state]
    t_loss, c_loss = 0, 0
    for t, c in zip([t_padded, *t_states], [c_padded, *c_states], strict=True):
        assert c.shape == tuple(t.shape) and c.dtype == np.float32
        np.testing.assert_allclose(c.numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
        direction = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        t_loss = t_loss + (t * torch.tensor(direction)).sum()
        c_loss = c_loss + (c * cr.tensor(direction)).sum()
    t_loss.backward()
    c_loss.backward()
    for t, c in zip(t_args, c_args, strict=True):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_params = dict(ours.named_parameters())
    for param_name, param in theirs.named_parameters():
        np.testing.assert_allclose(
            ours_params[param_name].grad.numpy(),
            param.grad.numpy(),
            rtol=1e-4,
            atol=1e-5,
            err_msg=param_name,
        )


@pytest.mark.parametrize(("name", "mode_options"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize(("options", "with_state"), PACKED_CONFIGS, ids=PACKED_IDS)
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
def test_packed_input_matches_pytorch(
    name: str,
    mode_options: dict[str, Any],
    options: dict[str, Any],
    with_state: bool,
    enforce_sorted: bool,
    rng: np.random.Generator,
) -> None:
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 3]
    _packed_twin_compare(
        name, {**mode_options, **options}, with_state, lengths, enforce_sorted, rng
    )


@pytest.mark.parametrize(
    "options",
    [{"proj_size": 2}, {"proj_size": 3, "num_layers": 2, "bidirectional": True}],
)
@pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")
def test_packed_lstm_projection_matches_pytorch(
    options: dict[str, Any], rng: np.random.Generator
) -> None:
    _packed_twin_compare("LSTM", options, True, [3, 4, 1], False, rng)


def test_packed_lstm_gradcheck(rng: np.random.Generator) -> None:
    from chainrule.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Packed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True)

        def forward(self, x: cr.Tensor, h0: cr.Tensor, c0: cr.Tensor) -> cr.Tensor:
            packed = pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False)
            out, (h_n, c_n) = self.lstm(packed, (h0, c0))
            padded, _ = pad_packed_sequence(out)
            return cr.cat([padded.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])

    x = rng.standard_normal((3, 3, 2))
    h0, c0 = rng.standard_normal((4, 3, 3)), rng.standard_normal((4, 3, 3))
    result = cr.gradcheck(Packed(), [x, h0, c0], max_elements=8)
    assert result.passed, str(result)
    assert "lstm.weight_hh_l1_reverse" in result.errors and "input 0" in result.errors


def test_packed_script_fragment_trains_as_pytorchs(rng: np.random.Generator) -> None:
    """embedding -> pack (unsorted) -> LSTM -> unpack -> Linear -> loss -> backward -> step."""
    from chainrule import optim
    from chainrule.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    def build(lib: Any) -> Any:
        class Tagger(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embedding = lib.nn.Embedding(10, 4, padding_idx=0)
                self.lstm = lib.nn.LSTM(4, 5, batch_first=True, bidirectional=True)
                self.out = lib.nn.Linear(10, 3)

        return Tagger()

    theirs, ours = build(torch), build(cr)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    lengths = [3, 5, 2]
    tokens = np.zeros((3, 5), dtype=np.int64)
    labels = np.full((3, 5), -100, dtype=np.int64)
    for b, n in enumerate(lengths):
        tokens[b, :n] = rng.integers(1, 10, n)
        labels[b, :n] = rng.integers(0, 3, n)

    def step(lib: Any, model: Any, opt: Any, pack: Any, pad: Any) -> float:
        opt.zero_grad()
        emb = model.embedding(lib.tensor(tokens))
        packed = pack(emb, lib.tensor(lengths), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = model.lstm(packed)
        padded, _ = pad(out, batch_first=True, total_length=5)
        logits = model.out(padded)
        loss = lib.nn.functional.cross_entropy(
            logits.reshape(-1, 3), lib.tensor(labels).reshape(-1)
        )
        loss = loss + (h_n**2).mean()
        loss.backward()
        opt.step()
        return float(loss.item())

    class TorchSGD:  # plain SGD by hand: torch.optim's first step costs a second of imports
        def __init__(self, params: Any) -> None:
            self.params = list(params)

        def zero_grad(self) -> None:
            for param in self.params:
                param.grad = None

        def step(self) -> None:
            with torch.no_grad():
                for param in self.params:
                    param -= 0.5 * param.grad

    t_opt = TorchSGD(theirs.parameters())
    c_opt = optim.SGD(ours.parameters(), lr=0.5)
    t_pack, t_pad = torch.nn.utils.rnn.pack_padded_sequence, torch.nn.utils.rnn.pad_packed_sequence
    for _ in range(2):
        t_loss = step(torch, theirs, t_opt, t_pack, t_pad)
        c_loss = step(cr, ours, c_opt, pack_padded_sequence, pad_packed_sequence)
        np.testing.assert_allclose(c_loss, t_loss, rtol=1e-5)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(
            ours.state_dict()[key], value.numpy(), rtol=1e-4, atol=1e-6, err_msg=key
        )


def test_packed_input_errors() -> None:
    from chainrule.nn.utils.rnn import PackedSequence, pack_sequence

    packed = pack_sequence([cr.zeros(3, 3), cr.zeros(2, 3)])
    with pytest.raises(ShapeError, match=r"input_size\. Expected 4, got 3"):
        nn.LSTM(4, 4)(packed)
    with pytest.raises(ShapeError, match=r"Expected hx size \(1, 2, 4\), got \(1, 3, 4\)"):
        nn.GRU(3, 4)(packed, cr.zeros(1, 3, 4))
    with pytest.raises(ShapeError, match="must have 2 dimensions, got 3"):
        nn.RNN(3, 4)(PackedSequence(cr.zeros(5, 1, 3), packed.batch_sizes))
    with pytest.raises(DataError, match="does not match weight dtype"):
        nn.RNN(3, 4)(packed.double())
