"""5-d interpolate (nearest, nearest-exact, trilinear, area) and Upsample, affine_grid and
grid_sample (2-d and 3-d; bicubic 2-d): PyTorch twins in float32 and float64 with the gradients
of every input, float64 gradchecks, reprs and errors."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ShapeError


def twin(ours_fn: Any, theirs_fn: Any, arrays: list[np.ndarray], rng: np.random.Generator) -> None:
    """Output and the gradient of every input against PyTorch's (None grads read as zeros)."""
    torch = pytest.importorskip("torch")
    dtype = arrays[0].dtype
    tolerance = (
        {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-12}
    )
    ours = [cr.tensor(a, dtype=a.dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    grad = rng.standard_normal(out.shape).astype(dtype)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    for mine, their in zip(ours, theirs, strict=True):
        got = np.zeros(mine.shape, dtype) if mine.grad is None else mine.grad.numpy()
        assert got.dtype == dtype
        np.testing.assert_allclose(got, their.grad.numpy(), **tolerance)


# ---------------------------------------------------------------------------- interpolate 5-d
MODES_3D = [("nearest", None), ("nearest-exact", None), ("area", None)]
MODES_3D += [("trilinear", False), ("trilinear", True)]
SIZES_3D = [
    {"scale_factor": 2},
    {"scale_factor": (2, 1.5, 0.5)},
    {"size": (3, 7, 5)},
    {"size": (2, 2, 9)},
    {"scale_factor": 1.7, "recompute_scale_factor": True},
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", SIZES_3D)
@pytest.mark.parametrize(("mode", "align_corners"), MODES_3D)
def test_interpolate_3d_matches_pytorch(
    mode: str, align_corners: Any, sizes: dict[str, Any], dtype: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    kwargs = {"mode": mode, "align_corners": align_corners, **sizes}
    twin(
        lambda x: F.interpolate(x, **kwargs),
        lambda x: torch.nn.functional.interpolate(x, **kwargs),
        [rng.standard_normal((2, 3, 4, 5, 6)).astype(dtype)],
        rng,
    )


@pytest.mark.parametrize(("mode", "align_corners"), MODES_3D)
def test_interpolate_3d_gradcheck(mode: str, align_corners: Any, rng: np.random.Generator) -> None:
    x = rng.standard_normal((1, 2, 3, 4, 2))
    for sizes in ({"scale_factor": 1.5}, {"size": (2, 5, 3)}):
        result = cr.gradcheck(
            lambda x, s=sizes: F.interpolate(x, mode=mode, align_corners=align_corners, **s), [x]
        )
        assert result.passed, str(result)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 2},
        {"size": (3, 4, 7), "mode": "trilinear", "align_corners": True},
        {"scale_factor": (2, 1, 3), "mode": "trilinear"},
        {"scale_factor": 1.5, "mode": "nearest-exact"},
        {"size": 3, "mode": "area"},
    ],
)
def test_upsample_3d_matches_pytorch(kwargs: dict[str, Any], rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    twin(ours, theirs, [rng.standard_normal((2, 3, 4, 5, 3)).astype(np.float32)], rng)


def test_interpolate_3d_errors() -> None:
    x = cr.tensor(np.zeros((1, 1, 2, 3, 4)))
    with pytest.raises(ShapeError, match="Got 5D input, but bilinear mode needs 4D input"):
        F.interpolate(x, scale_factor=2, mode="bilinear")
    with pytest.raises(ShapeError, match="Got 5D input, but bicubic mode needs 4D input"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        F.interpolate(x, size=(2, 3))
    with pytest.raises(ValueError, match="align_corners option can only be set with the"):
        F.interpolate(x, scale_factor=2, mode="nearest", align_corners=False)


# ---------------------------------------------------------------------------- affine_grid
@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid")  # PyTorch's note
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 5, 6), (2, 1, 1, 4), (2, 3, 4, 5, 6), (2, 1, 3, 1, 2)])
def test_affine_grid_matches_pytorch(size: Any, align_corners: bool, rng: Any) -> None:
    torch = pytest.importorskip("torch")
    dims = len(size) - 2
    for dtype in (np.float32, np.float64):
        theta = rng.standard_normal((2, dims, dims + 1)).astype(dtype)
        twin(
            lambda t: F.affine_grid(t, size, align_corners),
            lambda t: torch.nn.functional.affine_grid(t, size, align_corners),
            [theta],
            rng,
        )


def test_affine_grid_gradcheck(rng: np.random.Generator) -> None:
    for size in ((1, 1, 3, 4), (2, 1, 2, 3, 2)):
        dims = len(size) - 2
        theta = rng.standard_normal((size[0], dims, dims + 1))
        result = cr.gradcheck(lambda t, s=size: F.affine_grid(t, s, False), [theta])
        assert result.passed, str(result)


def test_affine_grid_identity_is_the_pixel_centres() -> None:
    theta = cr.tensor(np.array([[[1, 0, 0], [0, 1, 0]]], dtype=np.float32))
    grid = F.affine_grid(theta, (1, 1, 2, 4), align_corners=False).numpy()
    np.testing.assert_allclose(grid[0, 0, :, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(grid[0, :, 0, 1], [-0.5, 0.5])
    assert grid.dtype == np.float32


def test_affine_grid_errors() -> None:
    theta = cr.tensor(np.zeros((2, 2, 3)))
    with pytest.raises(ShapeError, match=r"Expected a batch of 2D affine matrices of shape Nx2x3"):
        F.affine_grid(theta, (3, 1, 4, 4))
    with pytest.raises(ShapeError, match=r"Expected a batch of 3D affine matrices of shape Nx3x4"):
        F.affine_grid(theta, (2, 1, 4, 4, 4))
    with pytest.raises(ShapeError, match="only supports 4D and 5D sizes"):
        F.affine_grid(theta, (2, 1, 4))
    with pytest.raises(TypeError, match="theta to be floating point"):
        F.affine_grid(cr.tensor(np.zeros((2, 2, 3), dtype=np.int64)), (2, 1, 4, 4))


# ---------------------------------------------------------------------------- grid_sample
GRID_OPTIONS = list(
    itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True])
)


BICUBIC = list(itertools.product(["bicubic"], ["zeros", "border", "reflection"], [False, True]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("mode", "padding_mode", "align_corners"), GRID_OPTIONS + BICUBIC)
def test_grid_sample_2d_matches_pytorch(
    mode: str, padding_mode: str, align_corners: bool, dtype: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    grid = rng.uniform(-1.6, 1.6, (2, 4, 7, 2)).astype(dtype)  # some points outside
    args = (mode, padding_mode, align_corners)
    twin(
        lambda x, g: F.grid_sample(x, g, *args),
        lambda x, g: torch.nn.functional.grid_sample(x, g, *args),
        [x, grid],
        rng,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("mode", "padding_mode", "align_corners"), GRID_OPTIONS)
def test_grid_sample_3d_matches_pytorch(
    mode: str, padding_mode: str, align_corners: bool, dtype: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 2, 4, 3, 5)).astype(dtype)
    grid = rng.uniform(-1.6, 1.6, (2, 3, 2, 4, 3)).astype(dtype)
    args = (mode, padding_mode, align_corners)
    twin(
        lambda x, g: F.grid_sample(x, g, *args),
        lambda x, g: torch.nn.functional.grid_sample(x, g, *args),
        [x, grid],
        rng,
    )


def test_grid_sample_of_affine_grid_matches_pytorch(rng: np.random.Generator) -> None:
    """The spatial-transformer pattern: theta -> grid -> sampled image, gradients to theta."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 6, 5))
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]] * 2) + 0.01 * rng.standard_normal(
        (2, 2, 3)
    )
    twin(
        lambda x, t: F.grid_sample(x, F.affine_grid(t, (2, 3, 4, 4), False), align_corners=False),
        lambda x, t: torch.nn.functional.grid_sample(
            x, torch.nn.functional.affine_grid(t, (2, 3, 4, 4), False), align_corners=False
        ),
        [x, theta],
        rng,
    )


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_gradcheck(padding_mode: str, align_corners: bool, rng: Any) -> None:
    # Points away from pixel boundaries (where the bilinear weights have kinks).
    cells = rng.integers(-3, 7, (1, 3, 2, 2)) + rng.uniform(0.2, 0.8, (1, 3, 2, 2))
    grid = cells / 2.5 - 1
    x = rng.standard_normal((1, 2, 3, 4))
    for mode in ("bilinear", "bicubic"):
        result = cr.gradcheck(
            lambda x, g, m=mode: F.grid_sample(x, g, m, padding_mode, align_corners), [x, grid]
        )
        assert result.passed, str(result)
    x3 = rng.standard_normal((1, 1, 2, 3, 2))
    grid3 = rng.uniform(-0.9, 0.9, (1, 2, 2, 1, 3))
    result = cr.gradcheck(
        lambda x, g: F.grid_sample(x, g, "bilinear", padding_mode, align_corners), [x3, grid3]
    )
    assert result.passed, str(result)


def test_grid_sample_errors() -> None:
    x = cr.tensor(np.zeros((1, 2, 4, 4), dtype=np.float32))
    grid = cr.tensor(np.zeros((1, 3, 3, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bic"):
        F.grid_sample(x, grid, mode="trilinear")
    with pytest.raises(ShapeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(x[None], cr.tensor(np.zeros((1, 1, 3, 3, 3), dtype=np.float32)), "bicubic")
    with pytest.raises(ValueError, match="expected padding_mode to be 'zeros', 'border'"):
        F.grid_sample(x, grid, padding_mode="circular")
    with pytest.raises(
        ShapeError, match=r"expects grid \(1, H_out, W_out, 2\), got \(1, 3, 3, 3\)"
    ):
        F.grid_sample(x, cr.tensor(np.zeros((1, 3, 3, 3), dtype=np.float32)))
    with pytest.raises(ShapeError, match=r"expects input \(N, C, H, W\) or \(N, C, D, H, W\)"):
        F.grid_sample(x[0], grid[0])
    with pytest.raises(TypeError, match="same dtype"):
        F.grid_sample(x, cr.tensor(np.zeros((1, 3, 3, 2)), dtype=np.float64))
