"""scaled_dot_product_attention and MultiheadAttention: PyTorch twins with every mask kind,
float64 gradchecks, parameter names and init, reprs and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ConfigError, DataError, ShapeError

torch = pytest.importorskip("torch")


def _tensors(arrays: list[np.ndarray]) -> tuple[list[Any], list[cr.Tensor]]:
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    return theirs, ours


def _check_backward(
    t_out: Any, c_out: cr.Tensor, pairs: list[tuple[Any, cr.Tensor]], rng: np.random.Generator
) -> None:
    direction = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.tensor(direction)).sum().backward()
    (c_out * cr.tensor(direction)).sum().backward()
    for t, c in pairs:
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- SDPA
def _mask(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray | None:
    if kind == "none":
        return None
    if kind == "bool":
        mask = rng.random(shape) > 0.4
        mask[..., 0] = True  # every query may attend somewhere
        return mask
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    ("q_shape", "k_shape", "v_shape"),
    [
        ((3, 4), (5, 4), (5, 2)),
        ((2, 3, 4), (2, 5, 4), (2, 5, 6)),
        ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)),
        ((1, 3, 4), (2, 5, 4), (2, 5, 6)),  # batch dims broadcast
    ],
)
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_pytorch(
    q_shape: tuple[int, ...],
    k_shape: tuple[int, ...],
    v_shape: tuple[int, ...],
    mask_kind: str,
    scale: float | None,
    rng: np.random.Generator,
) -> None:
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (q_shape, k_shape, v_shape)]
    mask = _mask(mask_kind, (q_shape[-2], k_shape[-2]), rng)
    theirs, ours = _tensors(arrays)
    t_out = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if mask is None else torch.tensor(mask), scale=scale
    )
    c_out = F.scaled_dot_product_attention(*ours, attn_mask=mask, scale=scale)
    assert c_out.shape == tuple(t_out.shape) and c_out.dtype == np.float32
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    _check_backward(t_out, c_out, list(zip(theirs, ours, strict=True)), rng)


@pytest.mark.parametrize(("length", "source"), [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal_matches_pytorch(length: int, source: int, rng: np.random.Generator) -> None:
    arrays = [rng.standard_normal((2, n, 4)).astype(np.float32) for n in (length, source, source)]
    theirs, ours = _tensors(arrays)
    t_out = torch.nn.functional.scaled_dot_product_attention(*theirs, is_causal=True)
    c_out = F.scaled_dot_product_attention(*ours, is_causal=True)
    # With L > S the causal mask is aligned at the top left, as PyTorch's: row 0 sees key 0.
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_out.numpy()[:, 0], arrays[2][:, 0], rtol=1e-6)
    _check_backward(t_out, c_out, list(zip(theirs, ours, strict=True)), rng)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients(rng: np.random.Generator) -> None:
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6))]
    bool_mask = rng.random((3, 5)) > 0.3
    bool_mask[1] = False
    float_mask = np.where(bool_mask, 0, -np.inf).astype(np.float32)
    for mask in (bool_mask, float_mask):
        theirs, ours = _tensors(arrays)
        t_out = torch.nn.functional.scaled_dot_product_attention(
            *theirs, attn_mask=torch.tensor(mask)
        )
        c_out = F.scaled_dot_product_attention(*ours, attn_mask=mask)
        assert not np.isnan(c_out.numpy()).any()
        np.testing.assert_array_equal(c_out.numpy()[:, 1], 0)
        np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        _check_backward(t_out, c_out, list(zip(theirs, ours, strict=True)), rng)
        np.testing.assert_array_equal(ours[0].grad.numpy()[:, 1], 0)


def test_sdpa_grouped_query_attention(rng: np.random.Generator) -> None:
    shapes = ((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    theirs, ours = _tensors(arrays)
    t_out = torch.nn.functional.scaled_dot_product_attention(*theirs, enable_gqa=True)
    c_out = F.scaled_dot_product_attention(*ours, enable_gqa=True)
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    _check_backward(t_out, c_out, list(zip(theirs, ours, strict=True)), rng)
    with pytest.raises(ShapeError, match="divide"):
        F.scaled_dot_product_attention(
            cr.zeros(2, 4, 3, 4), cr.zeros(2, 3, 5, 4), cr.zeros(2, 3, 5, 6), enable_gqa=True
        )


def test_sdpa_float_mask_gets_a_gradient_and_gradchecks(rng: np.random.Generator) -> None:
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    mask = rng.standard_normal((3, 5))
    result = cr.gradcheck(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.6),
        [q, k, v, mask],
    )
    assert result.passed, str(result)
    assert set(result.errors) == {"input 0", "input 1", "input 2", "input 3"}
    causal = cr.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [q, k, v]
    )
    assert causal.passed, str(causal)


def test_sdpa_dropout_is_seeded_and_applied_regardless_of_mode(rng: np.random.Generator) -> None:
    q, k, v = (cr.tensor(rng.standard_normal(s)) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    plain = F.scaled_dot_product_attention(q, k, v).numpy()
    cr.manual_seed(3)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    cr.manual_seed(3)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, plain)


def test_sdpa_errors() -> None:
    q, k, v = cr.zeros(2, 3, 4), cr.zeros(2, 5, 4), cr.zeros(2, 5, 6)
    with pytest.raises(ShapeError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ShapeError, match="same E"):
        F.scaled_dot_product_attention(q, cr.zeros(2, 5, 3), v)
    with pytest.raises(ShapeError, match="same S"):
        F.scaled_dot_product_attention(q, k, cr.zeros(2, 4, 6))
    with pytest.raises(ShapeError, match="at least 2-D"):
        F.scaled_dot_product_attention(cr.zeros(4), cr.zeros(4), cr.zeros(4))
    with pytest.raises(DataError, match="one dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(DataError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=cr.zeros(3, 5, dtype=cr.float64))
    with pytest.raises(DataError, match="bool and floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.zeros((3, 5), dtype=np.int64))


# ---------------------------------------------------------------------------- MultiheadAttention
E, HEADS, L, S, N = 8, 2, 3, 5, 2


def _mha_twin(**options: Any) -> tuple[Any, nn.MultiheadAttention]:
    theirs = torch.nn.MultiheadAttention(E, HEADS, **options)
    ours = nn.MultiheadAttention(E, HEADS, **options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _as_torch(x: Any) -> Any:
    return torch.tensor(x) if isinstance(x, np.ndarray) else x


MHA_CASES = [
    ("self", {}, {}),
    ("self", {"batch_first": True}, {}),
    ("self", {}, {"need_weights": False}),
    ("self", {"batch_first": True}, {"average_attn_weights": False}),
    ("cross", {}, {}),
    ("cross", {"kdim": 3, "vdim": 5}, {}),
    ("cross", {"kdim": 3, "vdim": 5, "batch_first": True}, {"need_weights": False}),
    ("cross", {"bias": False}, {}),
    ("cross", {"add_bias_kv": True}, {}),
    ("cross", {"add_zero_attn": True}, {"need_weights": False}),
    ("cross", {"add_bias_kv": True, "add_zero_attn": True}, {"average_attn_weights": False}),
    ("kv_shared", {}, {}),
    ("unbatched", {}, {}),
    ("unbatched", {"kdim": 3, "vdim": 5}, {"need_weights": False}),
]
MASKS = ["none", "padding_bool", "padding_float", "attn_bool", "attn_float", "attn_3d", "both"]


def _mha_masks(
    kind: str, batched: bool, length: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    padding = np.zeros((N, S), dtype=bool)
    padding[0, [1, 3]] = True
    padding[1, 4] = True
    attn = rng.random((length, S)) > 0.7
    attn[:, 0] = False  # every query may attend to key 0
    masks: dict[str, np.ndarray] = {}
    if kind in ("padding_bool", "both"):
        masks["key_padding_mask"] = padding
    if kind == "padding_float":
        masks["key_padding_mask"] = np.where(padding, -1e9, 0).astype(np.float32)
    if kind in ("attn_bool", "both"):
        masks["attn_mask"] = attn
    if kind == "attn_float":
        masks["attn_mask"] = rng.standard_normal((length, S)).astype(np.float32)
    if kind == "attn_3d":
        heads = N * HEADS if batched else HEADS
        masks["attn_mask"] = rng.standard_normal((heads, length, S)).astype(np.float32)
    if not batched and "key_padding_mask" in masks:
        masks["key_padding_mask"] = masks["key_padding_mask"][0]
    return masks


@pytest.mark.parametrize(("kind", "options", "call"), MHA_CASES)
@pytest.mark.parametrize("mask_kind", MASKS)
def test_mha_matches_pytorch(
    kind: str,
    options: dict[str, Any],
    call: dict[str, Any],
    mask_kind: str,
    rng: np.random.Generator,
) -> None:
    theirs, ours = _mha_twin(**options)
    batched = kind != "unbatched"
    batch_first = options.get("batch_first", False)

    def shape(length: int, features: int) -> tuple[int, ...]:
        if not batched:
            return (length, features)
        return (N, length, features) if batch_first else (length, N, features)

    query = rng.standard_normal(shape(L if kind != "self" else S, E)).astype(np.float32)
    if kind == "self":
        arrays = [query]
    elif kind == "kv_shared":
        arrays = [query, rng.standard_normal(shape(S, E)).astype(np.float32)]
    else:
        kdim, vdim = options.get("kdim", E), options.get("vdim", E)
        arrays = [
            query,
            rng.standard_normal(shape(S, kdim)).astype(np.float32),
            rng.standard_normal(shape(S, vdim)).astype(np.float32),
        ]
    t_in, c_in = _tensors(arrays)
    masks = _mha_masks(mask_kind, batched, S if kind == "self" else L, rng)
    t_args = [t_in[0]] * 3 if kind == "self" else [t_in[0], t_in[1], t_in[-1]]
    c_args = [c_in[0]] * 3 if kind == "self" else [c_in[0], c_in[1], c_in[-1]]
    t_out, t_weights = theirs(*t_args, **{k: _as_torch(v) for k, v in masks.items()}, **call)
    c_out, c_weights = ours(*c_args, **masks, **call)
    assert c_out.shape == tuple(t_out.shape) and c_out.dtype == np.float32
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    if t_weights is None:
        assert c_weights is None
    else:
        assert c_weights.shape == tuple(t_weights.shape)
        np.testing.assert_allclose(
            c_weights.numpy(), t_weights.detach().numpy(), rtol=1e-5, atol=1e-6
        )
    _check_backward(t_out, c_out, list(zip(t_in, c_in, strict=True)), rng)
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == {name for name, _ in theirs.named_parameters()}
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(
            ours_params[name].grad.numpy(), param.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name
        )


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("padding", [False, True])
def test_mha_is_causal_hint_matches_pytorch(
    need_weights: bool, padding: bool, rng: np.random.Generator
) -> None:
    theirs, ours = _mha_twin(batch_first=True)
    x = rng.standard_normal((N, L, E)).astype(np.float32)
    causal = np.triu(np.ones((L, L), dtype=bool), 1)  # True above the diagonal: not allowed
    masks: dict[str, Any] = {"attn_mask": causal}
    if padding:
        masks["key_padding_mask"] = np.array([[False, True, False], [False, False, True]])
    t_x, c_x = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    t_masks = {k: torch.tensor(v) for k, v in masks.items()}
    t_out, _ = theirs(t_x, t_x, t_x, need_weights=need_weights, is_causal=True, **t_masks)
    c_out, _ = ours(c_x, c_x, c_x, need_weights=need_weights, is_causal=True, **masks)
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    _check_backward(t_out, c_out, [(t_x, c_x)], rng)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_mha_fully_masked_rows_as_pytorch(rng: np.random.Generator) -> None:
    theirs, ours = _mha_twin()
    x = rng.standard_normal((S, N, E)).astype(np.float32)
    padding = np.zeros((N, S), dtype=bool)
    padding[0] = True  # batch element 0 may attend nowhere
    for need_weights in (True, False):
        t_out, _ = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(padding),
                          need_weights=need_weights)  # fmt: skip
        c_out, _ = ours(*[cr.tensor(x)] * 3, key_padding_mask=padding, need_weights=need_weights)
        # NaN with weights (plain softmax), zeros without (PyTorch's safe softmax in SDPA).
        np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert np.isnan(c_out.numpy()[:, 0]).all() == need_weights


def test_mha_dropout_only_in_training(rng: np.random.Generator) -> None:
    theirs, ours = _mha_twin(dropout=0.5)
    x = rng.standard_normal((L, N, E)).astype(np.float32)
    ours.eval()
    out_eval, w_eval = ours(*[cr.tensor(x)] * 3)
    t_out, _ = theirs.eval()(*[torch.tensor(x)] * 3)
    np.testing.assert_allclose(out_eval.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    ours.train()
    _, w_train = ours(*[cr.tensor(x)] * 3)
    assert not np.allclose(w_train.numpy(), w_eval.numpy())


def test_mha_gradcheck(rng: np.random.Generator) -> None:
    layer = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True)
    query, key, value = (rng.standard_normal(s) for s in ((2, 2, 4), (3, 2, 3), (3, 2, 5)))
    padding = np.where([[False, True, False], [False, False, False]], -np.inf, 0.0)
    mask = rng.standard_normal((2, 3))  # (L, S); padded for bias_k inside

    class Both(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = layer

        def forward(self, q: cr.Tensor, k: cr.Tensor, v: cr.Tensor) -> cr.Tensor:
            out, weights = self.attn(q, k, v, key_padding_mask=padding, attn_mask=mask)
            return cr.cat([out.reshape(-1), weights.reshape(-1)])

    result = cr.gradcheck(Both(), [query, key, value], max_elements=12)
    assert result.passed, str(result)
    assert len(result.errors) == len(list(layer.parameters())) + 3
    self_attn = nn.MultiheadAttention(4, 2, batch_first=True)
    x = rng.standard_normal((2, 3, 4))
    attn_mask = rng.standard_normal((3, 3))
    result = cr.gradcheck(
        lambda x: self_attn(x, x, x, attn_mask=attn_mask, need_weights=False)[0], [x]
    )
    assert result.passed, str(result)


def test_mha_parameters_init_and_repr() -> None:
    for options in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        theirs = torch.nn.MultiheadAttention(16, 4, **options)
        ours = nn.MultiheadAttention(16, 4, **options)
        assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
            (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
        ]
        assert repr(ours) == repr(theirs)
        assert isinstance(ours.out_proj, nn.Linear)
    layer = nn.MultiheadAttention(16, 4)
    bound = np.sqrt(6 / (16 + 48))  # Glorot uniform over (3E, E)
    weight = layer.in_proj_weight.numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert not layer.in_proj_bias.numpy().any() and not layer.out_proj.bias.numpy().any()
    out_bound = 1 / np.sqrt(16)  # Linear's default, He uniform with a = √5
    assert np.abs(layer.out_proj.weight.numpy()).max() <= out_bound
    assert layer.head_dim == 4 and layer._qkv_same_embed_dim
    assert layer.in_proj_weight.dtype == np.float32


def test_mha_errors() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ConfigError, match="greater than 0"):
        nn.MultiheadAttention(0, 1)
    layer = nn.MultiheadAttention(E, HEADS)
    x = cr.zeros(L, N, E)
    with pytest.raises(ShapeError, match="Need attn_mask"):
        layer(x, x, x, is_causal=True)
    with pytest.raises(ShapeError, match=r"2D attn_mask is \(2, 2\), but should be \(3, 3\)"):
        layer(x, x, x, attn_mask=np.zeros((2, 2), dtype=bool))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        layer(x, x, x, key_padding_mask=np.zeros((N, 4), dtype=bool))
    with pytest.raises(ShapeError, match="embedding dimension of 8"):
        layer(cr.zeros(L, N, 6), cr.zeros(L, N, 6), cr.zeros(L, N, 6))
    with pytest.raises(ShapeError, match="3-D"):
        layer(x, cr.zeros(L, E), cr.zeros(L, E))
    with pytest.raises(DataError, match="bool and floating"):
        layer(x, x, x, attn_mask=cr.zeros(L, L, dtype=cr.int64))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        layer(
            x, x, x, attn_mask=np.zeros((L, L), np.float32), key_padding_mask=np.zeros((N, L), bool)
        )


def test_sdpa_broadcast_masks_match_pytorch(rng: np.random.Generator) -> None:
    shapes = ((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    bool_mask = rng.random((2, 1, 3, 5)) > 0.4  # (N, 1, L, S): one mask for every head
    bool_mask[..., 0] = True
    for mask in (bool_mask, rng.standard_normal((2, 1, 1, 5)).astype(np.float32)):
        theirs, ours = _tensors(arrays)
        t_out = torch.nn.functional.scaled_dot_product_attention(
            *theirs, attn_mask=torch.tensor(mask)
        )
        c_out = F.scaled_dot_product_attention(*ours, attn_mask=mask)
        np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        _check_backward(t_out, c_out, list(zip(theirs, ours, strict=True)), rng)


def test_multi_head_attention_forward_with_static_keys_matches_pytorch(
    rng: np.random.Generator,
) -> None:
    theirs, ours = _mha_twin()
    query = rng.standard_normal((L, N, E)).astype(np.float32)
    static = [rng.standard_normal((N * HEADS, S, E // HEADS)).astype(np.float32) for _ in "kv"]
    t_in, c_in = _tensors([query, *static])
    params = dict(theirs.named_parameters())
    mine = dict(ours.named_parameters())

    def call(fn: Any, inputs: list[Any], p: dict[str, Any]) -> Any:
        q, k, v = inputs
        return fn(
            q, q, q, E, HEADS, p["in_proj_weight"], p["in_proj_bias"], None, None, False, 0.0,
            p["out_proj.weight"], p["out_proj.bias"], static_k=k, static_v=v,
        )  # fmt: skip

    t_out, t_w = call(torch.nn.functional.multi_head_attention_forward, t_in, params)
    c_out, c_w = call(F.multi_head_attention_forward, c_in, mine)
    np.testing.assert_allclose(c_out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_w.numpy(), t_w.detach().numpy(), rtol=1e-5, atol=1e-6)
    _check_backward(t_out, c_out, list(zip(t_in, c_in, strict=True)), rng)
