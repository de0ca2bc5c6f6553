"""Transformer layers: PyTorch twins (outputs, input and parameter gradients, float64) with every
mask kind, a float64 gradcheck, state_dict keys, reprs, model files and errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ConfigError, FormatError, ShapeError
from chainrule.nn.transformer import _is_causal_mask
from chainrule.serialization import load, save

torch = pytest.importorskip("torch")

S, T, N, E, H, FF = 4, 3, 2, 8, 2, 16  # source and target lengths, batch, d_model, heads, ff


def _pair(ours: nn.Module, theirs: Any) -> tuple[nn.Module, Any]:
    """Both in float64 eval mode, ours holding torch's own weights."""
    theirs = theirs.double().eval()
    ours = ours.double().eval()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _inputs(rng: np.random.Generator, *shapes: tuple[int, ...]) -> tuple[list[Any], list[Any]]:
    arrays = [rng.standard_normal(s) for s in shapes]
    return (
        [torch.tensor(a, requires_grad=True) for a in arrays],
        [cr.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays],
    )


def _masks(kwargs: dict[str, np.ndarray | None]) -> tuple[dict[str, Any], dict[str, Any]]:
    theirs = {k: None if v is None else torch.tensor(v) for k, v in kwargs.items()}
    ours = {k: None if v is None else cr.tensor(v, dtype=v.dtype) for k, v in kwargs.items()}
    return theirs, ours


def _compare(
    ours: nn.Module,
    theirs: Any,
    c_in: list[Any],
    t_in: list[Any],
    c_kw: dict[str, Any],
    t_kw: dict[str, Any],
    rng: np.random.Generator,
) -> None:
    t_out = theirs(*t_in, **t_kw)
    c_out = ours(*c_in, **c_kw)
    assert c_out.dtype == np.float64 and c_out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    direction = rng.standard_normal(tuple(t_out.shape))
    (t_out * torch.tensor(direction)).sum().backward()
    (c_out * cr.tensor(direction, dtype=np.float64)).sum().backward()
    for t, c in zip(t_in, c_in, strict=True):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)
    t_params = dict(theirs.named_parameters())
    c_params = dict(ours.named_parameters())
    assert list(c_params) == list(t_params)
    for name, t in t_params.items():
        np.testing.assert_allclose(
            c_params[name].grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name
        )


def _shape(length: int, batch_first: bool) -> tuple[int, int, int]:
    return (N, length, E) if batch_first else (length, N, E)


def _padding(length: int, kind: str = "bool") -> np.ndarray:
    """The first sequence one shorter: bool (True = padding) or float (-inf there), to go with
    a mask of the same kind (PyTorch deprecates mixing them)."""
    padding = np.zeros((N, length), dtype=bool)
    padding[0, -1] = True
    return padding if kind == "bool" else np.where(padding, -np.inf, 0.0)


def _causal(length: int) -> np.ndarray:
    return np.triu(np.full((length, length), -np.inf), 1)


def _src_masks(kind: str, rng: np.random.Generator) -> dict[str, Any]:
    if kind == "none":
        return {}
    if kind == "float":
        return {"src_mask": rng.standard_normal((S, S))}
    if kind == "bool":
        mask = rng.random((S, S)) > 0.5
        np.fill_diagonal(mask, False)  # every position may attend to itself
        return {"src_mask": mask}
    if kind == "padding":
        return {"src_key_padding_mask": _padding(S)}
    if kind == "float+padding":
        return {
            "src_mask": rng.standard_normal((S, S)),
            "src_key_padding_mask": _padding(S, "float"),
        }
    assert kind == "causal"
    return {"src_mask": _causal(S), "is_causal": True}


# ---------------------------------------------------------------------------- encoder layer
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "float", "bool", "padding", "float+padding", "causal"])
def test_encoder_layer_matches_torch(
    activation: str, norm_first: bool, batch_first: bool, masks: str, rng: np.random.Generator
) -> None:
    args = (E, H, FF, 0.0, activation)
    flags = {"batch_first": batch_first, "norm_first": norm_first}
    ours, theirs = _pair(
        nn.TransformerEncoderLayer(*args, **flags), torch.nn.TransformerEncoderLayer(*args, **flags)
    )
    kwargs = _src_masks(masks, rng)
    is_causal = kwargs.pop("is_causal", False)
    t_kw, c_kw = _masks(kwargs)
    t_in, c_in = _inputs(rng, _shape(S, batch_first))
    _compare(
        ours,
        theirs,
        c_in,
        t_in,
        {**c_kw, "is_causal": is_causal},
        {**t_kw, "is_causal": is_causal},
        rng,
    )


def test_encoder_layer_callable_and_module_activations_match_torch(
    rng: np.random.Generator,
) -> None:
    for ours_act, their_act in ((F.gelu, torch.nn.functional.gelu), (nn.GELU(), torch.nn.GELU())):
        ours, theirs = _pair(
            nn.TransformerEncoderLayer(E, H, FF, 0.0, ours_act),
            torch.nn.TransformerEncoderLayer(E, H, FF, 0.0, their_act),
        )
        assert repr(ours) == repr(theirs)
        assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu == 2
        t_in, c_in = _inputs(rng, (S, N, E))
        _compare(ours, theirs, c_in, t_in, {}, {}, rng)


def test_encoder_layer_unbatched_and_float32(rng: np.random.Generator) -> None:
    ours, theirs = _pair(
        nn.TransformerEncoderLayer(E, H, FF, 0.0), torch.nn.TransformerEncoderLayer(E, H, FF, 0.0)
    )
    t_in, c_in = _inputs(rng, (S, E))
    _compare(ours, theirs, c_in, t_in, {}, {}, rng)
    layer = nn.TransformerEncoderLayer(E, H, FF)
    out = layer(cr.tensor(rng.standard_normal((S, N, E)), requires_grad=True))
    assert out.dtype == np.float32 and out.shape == (S, N, E)
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_encoder_layer_gradcheck(rng: np.random.Generator) -> None:
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, activation="gelu")
    mask = rng.standard_normal((3, 3))
    padding = np.where([[False, False, True], [False, False, False]], -np.inf, 0.0)

    class Masked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return self.layer(x, src_mask=mask, src_key_padding_mask=padding)

    result = cr.gradcheck(Masked(), [rng.standard_normal((3, 2, 4))])
    assert result.passed, str(result)
    assert len(result.errors) == len(list(layer.parameters())) + 1
    relu = nn.TransformerEncoderLayer(4, 2, 8, 0.0, norm_first=True, batch_first=True)
    result = cr.gradcheck(relu, [rng.standard_normal((2, 3, 4))])
    assert result.passed, str(result)


# ---------------------------------------------------------------------------- decoder layer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(
    norm_first: bool, batch_first: bool, rng: np.random.Generator
) -> None:
    flags = {"batch_first": batch_first, "norm_first": norm_first}
    ours, theirs = _pair(
        nn.TransformerDecoderLayer(E, H, FF, 0.0, "gelu", **flags),
        torch.nn.TransformerDecoderLayer(E, H, FF, 0.0, "gelu", **flags),
    )
    t_kw, c_kw = _masks(
        {
            "tgt_mask": _causal(T),
            "memory_mask": rng.standard_normal((T, S)),
            "memory_key_padding_mask": _padding(S, "float"),
        }
    )
    t_in, c_in = _inputs(rng, _shape(T, batch_first), _shape(S, batch_first))
    _compare(ours, theirs, c_in, t_in, c_kw, t_kw, rng)


def test_decoder_layer_causal_hint_and_padding_match_torch(rng: np.random.Generator) -> None:
    ours, theirs = _pair(
        nn.TransformerDecoderLayer(E, H, FF, 0.0), torch.nn.TransformerDecoderLayer(E, H, FF, 0.0)
    )
    masks = {"tgt_mask": _causal(T), "tgt_key_padding_mask": _padding(T, "float")}
    t_kw, c_kw = _masks(masks)
    t_in, c_in = _inputs(rng, (T, N, E), (S, N, E))
    hint = {"tgt_is_causal": True}
    _compare(ours, theirs, c_in, t_in, {**c_kw, **hint}, {**t_kw, **hint}, rng)


# ---------------------------------------------------------------------------- stacks
def test_encoder_with_norm_matches_torch(rng: np.random.Generator) -> None:
    def build(lib: Any) -> Any:
        layer = lib.TransformerEncoderLayer(E, H, FF, 0.0, batch_first=True)
        return lib.TransformerEncoder(layer, 2, norm=lib.LayerNorm(E), enable_nested_tensor=False)

    ours, theirs = _pair(build(nn), build(torch.nn))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours.state_dict())[-2:] == ["norm.weight", "norm.bias"]
    for masks in (
        {"mask": _causal(S)},  # detected as causal (is_causal=None)
        {"mask": np.triu(np.ones((S, S), dtype=bool), 1), "src_key_padding_mask": _padding(S)},
        {"mask": rng.standard_normal((S, S))},
    ):
        t_kw, c_kw = _masks(masks)
        t_in, c_in = _inputs(rng, (N, S, E))
        ours.zero_grad()
        theirs.zero_grad()
        _compare(ours, theirs, c_in, t_in, c_kw, t_kw, rng)


def test_stack_layers_are_independent_copies() -> None:
    layer = nn.TransformerEncoderLayer(E, H, FF)
    stack = nn.TransformerEncoder(layer, 3)
    assert isinstance(stack.layers, nn.ModuleList) and len(stack.layers) == 3
    assert stack.norm is None and stack.num_layers == 3
    first, second = stack.layers[0], stack.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), layer.linear1.weight.numpy())
    np.testing.assert_array_equal(first.linear1.weight.numpy(), second.linear1.weight.numpy())
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), 2, nn.LayerNorm(E))
    assert len(list(decoder.parameters())) == 2 * len(list(decoder.layers[0].parameters())) + 2


def test_causal_mask_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    sa_block = nn.TransformerEncoderLayer._sa_block

    def spy(self: Any, x: Any, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Any:
        seen.append(is_causal)
        return sa_block(self, x, attn_mask, key_padding_mask, is_causal)

    monkeypatch.setattr(nn.TransformerEncoderLayer, "_sa_block", spy)
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, batch_first=True), 1)
    x = cr.zeros(N, S, E)
    stack(x, mask=nn.Transformer.generate_square_subsequent_mask(S))
    stack(x, mask=np.zeros((S, S), dtype=np.float32))
    stack(x, mask=np.zeros((S, S), dtype=np.float32), is_causal=True)  # the hint is trusted
    stack(x)
    assert seen == [True, False, True, False]
    assert _is_causal_mask(_causal(3), 3)
    assert _is_causal_mask(np.triu(np.ones((3, 3), dtype=bool), 1), None)
    assert not _is_causal_mask(_causal(3), 4)
    assert not _is_causal_mask(np.zeros((3, 3)), 3)
    assert not _is_causal_mask(np.tril(np.ones((3, 3), dtype=bool), -1), 3)


# ---------------------------------------------------------------------------- Transformer
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first: bool, rng: np.random.Generator) -> None:
    args = {"d_model": E, "nhead": H, "num_encoder_layers": 2, "num_decoder_layers": 1}
    args |= {"dim_feedforward": FF, "dropout": 0.0, "batch_first": batch_first}
    ours, theirs = _pair(nn.Transformer(**args), torch.nn.Transformer(**args))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "encoder.norm.weight" in ours.state_dict() and "decoder.norm.bias" in ours.state_dict()
    t_kw, c_kw = _masks(
        {
            "tgt_mask": nn.Transformer.generate_square_subsequent_mask(T, dtype=np.float64).numpy(),
            "src_key_padding_mask": _padding(S),
            "memory_key_padding_mask": _padding(S),
        }
    )
    t_in, c_in = _inputs(rng, _shape(S, batch_first), _shape(T, batch_first))
    _compare(ours, theirs, c_in, t_in, c_kw, t_kw, rng)


def test_transformer_defaults_and_mask() -> None:
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    expected = torch.nn.Transformer.generate_square_subsequent_mask(3).numpy()
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask.numpy(), expected)
    small = nn.Transformer(E, H, 1, 1, FF)
    assert small.d_model == E and small.nhead == H and not small.batch_first
    assert small.encoder.layers[0].dropout.p == 0.1 and small.encoder.norm.eps == 1e-5
    # Every matrix starts Glorot uniform: bound √(6 / (fan_in + fan_out)).
    weight = small.encoder.layers[0].linear1.weight.numpy()
    bound = np.sqrt(6 / (E + FF))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    custom = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1)
    assert nn.Transformer(E, H, custom_encoder=custom, num_decoder_layers=1).encoder is custom


# ---------------------------------------------------------------------------- files, errors
def test_model_files(tmp_path: Path, rng: np.random.Generator) -> None:
    layer = nn.TransformerDecoderLayer(E, H, FF, 0.0, F.gelu, batch_first=True).eval()
    save(layer, tmp_path / "layer.npz")
    loaded = load(tmp_path / "layer.npz")
    assert loaded.activation is F.gelu and repr(loaded) == repr(layer)
    tgt, memory = (cr.tensor(rng.standard_normal(s)) for s in ((N, T, E), (N, S, E)))
    np.testing.assert_array_equal(loaded(tgt, memory).numpy(), layer(tgt, memory).numpy())
    for unsaveable, what in (
        (nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 2), "encoder_layer"),
        (nn.TransformerEncoderLayer(E, H, FF, activation=nn.GELU()), "activation"),
        (nn.TransformerEncoderLayer(E, H, FF, activation=lambda x: x.tanh()), "activation"),
    ):
        with pytest.raises(FormatError, match=f"argument '{what}' is a .* cannot store"):
            save(unsaveable, tmp_path / "bad.npz")
    # The weights of any of them go through a state file.
    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 2)
    save(stack.state_dict(), tmp_path / "stack.safetensors")
    copy_ = copy.deepcopy(stack)
    copy_.load_state_dict(load(tmp_path / "stack.safetensors"))


def test_errors() -> None:
    with pytest.raises(
        ConfigError, match="TransformerEncoderLayer: activation should be relu/gelu"
    ):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(ConfigError, match="TransformerDecoderLayer: d_model must be"):
        nn.TransformerDecoderLayer(6, 4)
    with pytest.raises(ConfigError, match="TransformerEncoder: expected a layer Module"):
        nn.TransformerEncoder("layer", 2)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="num_layers must be at least 0"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), -1)
    model = nn.Transformer(E, H, 1, 1, FF)
    with pytest.raises(ShapeError, match="batch number of src and tgt must be equal"):
        model(cr.zeros(S, N, E), cr.zeros(T, N + 1, E))
    with pytest.raises(ShapeError, match=r"feature number of src and tgt .* d_model \(8\)"):
        model(cr.zeros(S, N, E), cr.zeros(T, N, E + 1))
    layer = nn.TransformerEncoderLayer(E, H, FF)
    with pytest.raises(ShapeError, match="Need attn_mask if specifying the is_causal hint"):
        layer(cr.zeros(S, N, E), is_causal=True)


def test_dropout_in_training_only_and_dtype(rng: np.random.Generator) -> None:
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.5)
    x = cr.tensor(rng.standard_normal((S, N, E)))
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    model = nn.Transformer(E, H, 1, 1, FF, dtype=np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
