"""interpolate (nearest, nearest-exact, linear, bilinear, bicubic), Upsample and pixel shuffle:
PyTorch twins in float32 and float64, float64 gradchecks, reprs and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ShapeError


def twin(ours_fn: Any, theirs_fn: Any, x: np.ndarray, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    tolerance = {"rtol": 1e-5, "atol": 1e-5} if x.dtype == np.float32 else {"rtol": 1e-11}
    ours = cr.tensor(x, dtype=x.dtype, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, expected = ours_fn(ours), theirs_fn(theirs)
    assert out.dtype == x.dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    grad = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **tolerance)


MODES_2D = [
    ("nearest", None),
    ("nearest-exact", None),
    ("area", None),
    ("bilinear", False),
    ("bilinear", True),
    ("bicubic", False),
    ("bicubic", True),
]
# Integer and fractional factors (the factor, not in/out, enters the index formulas),
# shrinking, explicit sizes, and a factor PyTorch is told to recompute.
SIZES_2D = [
    {"scale_factor": 2},
    {"scale_factor": 1.7},
    {"scale_factor": (0.6, 2.3)},
    {"scale_factor": 2.1},  # 6 -> 12 rows: nearest's dst // 2 special case
    {"size": (5, 7)},
    {"size": (13, 3)},
    {"size": 1},
    {"scale_factor": 1.7, "recompute_scale_factor": True},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", SIZES_2D)
@pytest.mark.parametrize(("mode", "align_corners"), MODES_2D)
def test_interpolate_2d_matches_pytorch(
    mode: str, align_corners: Any, sizes: dict[str, Any], dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 5)).astype(dtype)
    twin(
        lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **sizes),
        lambda x: torch.nn.functional.interpolate(
            x, mode=mode, align_corners=align_corners, **sizes
        ),
        x,
        rng,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [{"scale_factor": 2}, {"size": 7}, {"scale_factor": 0.7}])
@pytest.mark.parametrize(
    ("mode", "align_corners"),
    [
        ("nearest", None),
        ("nearest-exact", None),
        ("area", None),
        ("linear", False),
        ("linear", True),
    ],
)
def test_interpolate_1d_matches_pytorch(
    mode: str, align_corners: Any, sizes: dict[str, Any], dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6)).astype(dtype)
    twin(
        lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **sizes),
        lambda x: torch.nn.functional.interpolate(
            x, mode=mode, align_corners=align_corners, **sizes
        ),
        x,
        rng,
    )


@pytest.mark.parametrize(("mode", "align_corners"), MODES_2D)
def test_interpolate_gradcheck(mode: str, align_corners: Any, rng: np.random.Generator) -> None:
    x = rng.standard_normal((1, 2, 4, 3))
    for sizes in ({"scale_factor": 1.5}, {"size": (3, 5)}):
        result = cr.gradcheck(
            lambda x, s=sizes: F.interpolate(x, mode=mode, align_corners=align_corners, **s), [x]
        )
        assert result.passed, str(result)


def test_interpolate_errors() -> None:
    x = cr.tensor(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set with the"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ShapeError, match="Got 4D input, but linear mode needs 3D input"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ShapeError, match="Got 3D input, but bilinear mode needs 4D input"):
        F.interpolate(cr.tensor(np.zeros((1, 1, 4))), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(x, scale_factor=2, mode="quadrilinear")
    with pytest.raises(ShapeError, match="Got 4D input, but trilinear mode needs 5D input"):
        F.interpolate(x, scale_factor=2, mode="trilinear")
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 3, 4))


# ---------------------------------------------------------------------------- layers
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("Upsample", {"scale_factor": 2}),
        ("Upsample", {"size": (4, 5), "mode": "bilinear", "align_corners": True}),
        ("Upsample", {"scale_factor": (2, 3), "mode": "bicubic"}),
        ("Upsample", {"scale_factor": 1.5, "mode": "bilinear"}),
        ("UpsamplingNearest2d", {"scale_factor": 2}),
        ("UpsamplingBilinear2d", {"size": 7}),
    ],
)
def test_upsample_layers_match_pytorch(
    name: str, kwargs: dict[str, Any], rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    twin(ours, theirs, rng.standard_normal((2, 3, 4, 5)).astype(np.float32), rng)


def test_pixel_shuffle_matches_pytorch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    for r, shape in ((2, (2, 8, 3, 4)), (3, (9, 2, 2)), (2, (2, 1, 4, 3, 5))):
        shuffle, theirs = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
        assert repr(shuffle) == repr(theirs)
        twin(shuffle, theirs, rng.standard_normal(shape), rng)
        unshuffled = (*shape[:-3], shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
        twin(
            nn.PixelUnshuffle(r),
            torch.nn.PixelUnshuffle(r),
            rng.standard_normal(unshuffled).astype(np.float32),
            rng,
        )
    x = rng.standard_normal((2, 8, 3, 4))
    x_ = cr.tensor(x, dtype=np.float64)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(x_, 2), 2).numpy(), x)
    assert cr.gradcheck(lambda x: F.pixel_shuffle(x, 2), [x]).passed
    with pytest.raises(ShapeError, match="channels divisible by 4"):
        F.pixel_shuffle(cr.tensor(np.zeros((1, 6, 2, 2))), 2)
    with pytest.raises(ShapeError, match="H and W divisible by 2"):
        F.pixel_unshuffle(cr.tensor(np.zeros((1, 1, 3, 4))), 2)


def test_channel_shuffle_matches_pytorch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    for groups, shape in ((2, (2, 6, 3, 4)), (3, (1, 6, 5)), (4, (2, 8, 2, 1, 3))):
        shuffle, theirs = nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups)
        assert repr(shuffle) == repr(theirs)
        for dtype in (np.float32, np.float64):
            twin(shuffle, theirs, rng.standard_normal(shape).astype(dtype), rng)
    x = np.arange(6.0).reshape(1, 6, 1)
    # channels 0..5 as a 2 x 3 grid, transposed: 0 3 1 4 2 5
    out = F.channel_shuffle(cr.tensor(x, dtype=cr.float64), 2)
    np.testing.assert_array_equal(out.numpy().ravel(), [0, 3, 1, 4, 2, 5])
    assert cr.gradcheck(lambda t: F.channel_shuffle(t, 3), [rng.standard_normal((2, 6, 2))]).passed
    with pytest.raises(ShapeError, match="groups=4 must be positive and divide the 6 channels"):
        F.channel_shuffle(cr.tensor(np.zeros((1, 6, 2))), 4)
    with pytest.raises(ShapeError, match="3 or more dims"):
        nn.ChannelShuffle(2)(cr.tensor(np.zeros((2, 4))))
