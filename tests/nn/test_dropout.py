"""The dropout family: identity in eval mode, the kept fraction and the scaling in training
(masks are chainrule's own random stream, so statistics are tested, not torch's masks),
channel-wise masks, AlphaDropout's preserved moments, inplace=, reprs and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ConfigError, ShapeError

LAYERS = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
          "FeatureAlphaDropout"]  # fmt: skip
SHAPES = {"Dropout1d": (4, 3, 5), "Dropout3d": (2, 3, 2, 2, 2)}


@pytest.mark.parametrize("name", LAYERS)
def test_eval_mode_is_the_identity(name: str) -> None:
    layer = getattr(nn, name)(0.7).eval()
    x = cr.tensor(np.random.default_rng(0).standard_normal(SHAPES.get(name, (2, 3, 4, 4))))
    assert layer(x) is x


@pytest.mark.parametrize("name", LAYERS)
def test_repr_is_torchs(name: str) -> None:
    torch = pytest.importorskip("torch")
    assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    assert repr(getattr(nn, name)(0.2, True)) == repr(getattr(torch.nn, name)(0.2, True))


def test_dropout_keeps_one_minus_p_and_scales() -> None:
    x = cr.tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True)
    out = F.dropout(x, 0.3)
    values = out.numpy()
    assert out.dtype == np.float32
    assert set(np.unique(values)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((values > 0).mean() - 0.7) < 0.01
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # gradient: the same mask, scaled


def test_dropout_p_one_and_zero() -> None:
    x = cr.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    assert F.dropout(x, 0.0) is x
    zeros = F.dropout(x, 1.0)
    np.testing.assert_array_equal(zeros.numpy(), 0.0)
    zeros.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


@pytest.mark.parametrize(
    ("fn", "shape", "unbatched"),
    [
        (F.dropout1d, (30, 40, 5), False),
        (F.dropout1d, (40, 5), True),
        (F.dropout2d, (30, 40, 3, 3), False),
        (F.dropout3d, (20, 40, 2, 2, 2), False),
        (F.dropout3d, (40, 2, 2, 2), True),
        (F.feature_alpha_dropout, (30, 40, 4), False),
    ],
)
def test_channel_dropout_masks_whole_channels(fn, shape: tuple, unbatched: bool) -> None:  # type: ignore[no-untyped-def]
    out = fn(cr.tensor(np.ones(shape, dtype=np.float32)), 0.4, training=True).numpy()
    assert out.shape == shape and out.dtype == np.float32
    full = out[None] if unbatched else out  # unbatched (C, *) input: one implicit sample
    channels = full.reshape(full.shape[0], full.shape[1], -1)  # (N, C, spatial)
    assert (channels.std(-1) == 0).all()  # one mask value per channel
    values = np.unique(channels)
    assert len(values) == 2
    assert 0.5 < (channels[..., 0] == values.max()).mean() < 0.7  # kept channels: 1 - p


def test_dropout2d_on_3d_input_is_channelwise_1d_with_torchs_warning() -> None:
    x = cr.tensor(np.ones((4, 50, 6), dtype=np.float32))
    with pytest.warns(UserWarning, match="3D input"):
        out = F.dropout2d(x, 0.5).numpy()
    assert ((out == 0).all(-1) | (out == 2).all(-1)).all()


def test_alpha_dropout_keeps_mean_zero_and_variance_one() -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((400, 500)).astype(np.float32), requires_grad=True)
    out = F.alpha_dropout(x, 0.2, training=True)
    values = out.numpy()
    assert out.dtype == np.float32
    assert abs(values.mean()) < 0.01 and abs(values.std() - 1) < 0.01
    out.sum().backward()
    grads = x.grad.numpy()
    a = 1 / np.sqrt((1.7580993408473766**2 * 0.2 + 1) * 0.8)
    np.testing.assert_allclose(np.unique(grads), [0.0, a], rtol=1e-6)
    # dropped units sit at a·(-α') + b, one value
    dropped = values[grads == 0]
    np.testing.assert_allclose(dropped, dropped[0], rtol=1e-6)
    assert F.alpha_dropout(x, 0.2) is x  # PyTorch's default: training=False


@pytest.mark.parametrize("name", ["dropout", "dropout2d", "alpha_dropout"])
def test_inplace(name: str) -> None:
    leaf = cr.tensor(np.ones((4, 6, 3, 3), dtype=np.float32), requires_grad=True)
    hidden = leaf * 1
    out = getattr(F, name)(hidden, 0.5, training=True, inplace=True)
    assert out is hidden
    out.sum().backward()
    assert np.isin(leaf.grad.numpy(), np.unique(leaf.grad.numpy())).all()
    assert (leaf.grad.numpy() == 0).any() and (leaf.grad.numpy() > 0).any()
    layer = nn.Dropout(0.5, inplace=True)
    y = cr.tensor(np.ones(1000, dtype=np.float32))
    assert layer(y) is y and (y.numpy() == 0).any()


def test_unbatched_inplace_writes_the_input() -> None:
    x = cr.tensor(np.ones((50, 4), dtype=np.float32))
    assert F.dropout1d(x, 0.5, inplace=True) is x
    assert ((x.numpy() == 0).all(-1) | (x.numpy() == 2).all(-1)).all()
    assert (x.numpy() == 0).any()


def test_gradcheck_with_a_fixed_mask() -> None:
    # gradcheck reseeds chainrule's generator for every evaluation: the same mask each time
    for fn in (F.dropout, F.dropout2d, F.alpha_dropout):
        result = cr.gradcheck(
            lambda x, f=fn: f(x, 0.3, training=True),
            [np.random.default_rng(1).standard_normal((2, 3, 2, 2))],
        )
        assert result.passed, str(result)


def test_errors() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        F.dropout(cr.tensor([1.0]), -0.1)
    with pytest.raises(ShapeError, match="2D or 3D"):
        F.dropout1d(cr.tensor(np.ones((2, 3, 4, 5))))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(cr.tensor(np.ones(3)), training=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout2d(cr.tensor(np.ones((2, 3, 4, 4))))  # 4-d: no warning


def test_layer_kinds_are_torchs() -> None:
    torch = pytest.importorskip("torch")
    for name in LAYERS[1:]:
        assert isinstance(getattr(nn, name)(), nn.Dropout) == isinstance(
            getattr(torch.nn, name)(), torch.nn.Dropout
        ), name
