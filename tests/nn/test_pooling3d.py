"""3-d max, average and adaptive pooling, LP pooling and max unpooling (1-d, 2-d, 3-d):
PyTorch twins in float32 and float64 with PyTorch's indices, float64 gradchecks, layer reprs
and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ShapeError


def distinct(shape: tuple[int, ...], rng: np.random.Generator, dtype: Any = np.float64) -> Any:
    """Inputs without ties (a scaled permutation), so that every max has one argmax."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0).astype(dtype)


def twin(ours_fn: Any, theirs_fn: Any, x: np.ndarray, rng: np.random.Generator) -> None:
    """Output (and indices, for a pair) and the input's gradient against PyTorch's."""
    torch = pytest.importorskip("torch")
    float32 = x.dtype == np.float32
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if float32 else {"rtol": 1e-12, "atol": 1e-12}
    ours = cr.tensor(x, dtype=x.dtype, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, expected = ours_fn(ours), theirs_fn(theirs)
    if isinstance(expected, tuple):
        (out, indices), (expected, expected_indices) = out, expected
        assert indices.dtype == np.int64
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert out.dtype == x.dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    grad = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    assert ours.grad.dtype == x.dtype
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), **tolerance)


SHAPE = (2, 3, 5, 6, 7)

# (kernel_size, stride, padding, dilation, ceil_mode)
MAX_POOL_3D = [
    (2, None, 0, 1, False),
    (2, None, 0, 1, True),
    (3, 2, 1, 1, False),
    (3, 2, 1, 2, True),
    ((2, 3, 2), (1, 2, 3), (1, 1, 0), (2, 1, 1), True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "ceil_mode"), MAX_POOL_3D)
def test_max_pool3d_matches_pytorch(
    kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    twin(
        lambda x: F.max_pool3d(x, *args),
        lambda x: torch.nn.functional.max_pool3d(x, *args),
        distinct(SHAPE, rng, dtype),
        rng,
    )


# (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_POOL_3D = [
    (2, None, 0, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((2, 3, 1), (1, 2, 3), (1, 1, 0), False, True, 5),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil", "include", "divisor"), AVG_POOL_3D)
def test_avg_pool3d_matches_pytorch(
    kernel: Any, stride: Any, padding: Any, ceil: bool, include: bool, divisor: Any, dtype: Any
) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    args = (kernel, stride, padding, ceil, include, divisor)
    twin(
        lambda x: F.avg_pool3d(x, *args),
        lambda x: torch.nn.functional.avg_pool3d(x, *args),
        rng.standard_normal(SHAPE).astype(dtype),
        rng,
    )


@pytest.mark.parametrize("output_size", [1, 2, (2, None, 3), (3, 4, 5), (5, 6, 7), (4, 2, 7)])
def test_adaptive_pool3d_matches_pytorch(output_size: Any, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        x = distinct(SHAPE, rng, dtype)
        twin(
            lambda x: F.adaptive_avg_pool3d(x, output_size),
            lambda x: torch.nn.functional.adaptive_avg_pool3d(x, output_size),
            x,
            rng,
        )
        twin(
            lambda x: F.adaptive_max_pool3d(x, output_size, True),
            lambda x: torch.nn.functional.adaptive_max_pool3d(x, output_size, True),
            x,
            rng,
        )


def test_pool3d_gradcheck(rng: np.random.Generator) -> None:
    x = [distinct((1, 2, 4, 3, 5), rng)]
    functions = [
        lambda x: F.max_pool3d(x, 2, (1, 2, 2), 1, ceil_mode=True),
        lambda x: F.avg_pool3d(x, 3, 2, 1, True, False),
        lambda x: F.adaptive_avg_pool3d(x, (3, 2, 4)),
        lambda x: F.adaptive_max_pool3d(x, (3, 2, 4)),
        lambda x: F.lp_pool3d(x / 10, 2, 2, ceil_mode=True),
        lambda x: F.lp_pool2d(x[0] / 10 + 2, 3, (2, 3), 1),
    ]
    for function in functions:
        result = cr.gradcheck(function, x)
        assert result.passed, result


def test_pooling3d_one_unbatched_volume(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((3, 4, 5, 6), rng)
    twin(
        lambda x: F.max_pool3d(x, 2, return_indices=True),
        lambda x: torch.nn.functional.max_pool3d(x, 2, return_indices=True),
        x,
        rng,
    )
    twin(
        lambda x: F.avg_pool3d(x, 3, 1, 1),
        lambda x: torch.nn.functional.avg_pool3d(x, 3, 1, 1),
        x,
        rng,
    )


# ---------------------------------------------------------------------------- LP pooling
@pytest.mark.parametrize(
    ("dims", "norm_type", "kernel", "stride", "ceil_mode"),
    [
        (1, 2, 3, None, False),
        (1, 1.5, 3, 2, True),
        (2, 2, 3, 2, False),
        (2, 3, (2, 3), 1, True),
        (3, 2, 2, None, False),
        (3, 1, (2, 1, 3), (1, 2, 2), True),
    ],
)
def test_lp_pool_matches_pytorch(
    dims: int, norm_type: float, kernel: Any, stride: Any, ceil_mode: bool, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    shape = SHAPE[: 2 + dims]
    ours = getattr(F, f"lp_pool{dims}d")
    theirs = getattr(torch.nn.functional, f"lp_pool{dims}d")
    for dtype in (np.float32, np.float64):
        x = (rng.random(shape) + 0.1).astype(dtype)  # the root of a negative sum is NaN
        twin(
            lambda x: ours(x, norm_type, kernel, stride, ceil_mode),
            lambda x: theirs(x, norm_type, kernel, stride, ceil_mode),
            x,
            rng,
        )


# ---------------------------------------------------------------------------- unpooling
@pytest.mark.parametrize(
    ("dims", "shape", "kernel", "stride", "padding"),
    [
        (1, (2, 3, 9), 3, 2, 1),
        (1, (3, 8), 2, None, 0),
        (2, (2, 3, 7, 9), 3, 2, 1),
        (2, (2, 3, 6, 8), (2, 3), (2, 1), 0),
        (2, (3, 6, 6), 2, None, 0),
        (3, (2, 2, 5, 7, 9), 3, 2, 1),
        (3, (2, 2, 4, 6, 4), (2, 3, 2), None, (1, 0, 0)),
    ],
)
def test_max_unpool_inverts_max_pool_as_pytorch(
    dims: int, shape: Any, kernel: Any, stride: Any, padding: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    pool, unpool = getattr(F, f"max_pool{dims}d"), getattr(F, f"max_unpool{dims}d")
    their_pool = getattr(torch.nn.functional, f"max_pool{dims}d")
    their_unpool = getattr(torch.nn.functional, f"max_unpool{dims}d")
    for dtype in (np.float32, np.float64):
        x = distinct(shape, rng, dtype)
        pooled, indices = pool(
            cr.tensor(x, dtype=dtype), kernel, stride, padding, return_indices=True
        )
        _, their_indices = their_pool(torch.tensor(x), kernel, stride, padding, return_indices=True)
        np.testing.assert_array_equal(indices.numpy(), their_indices.numpy())
        batched = len(shape) == dims + 2  # PyTorch takes the full shape of a batch only
        for output_size in (None, shape[-dims:], *([shape] if batched else [])):
            twin(
                lambda v, i=indices, o=output_size: unpool(v, i, kernel, stride, padding, o),
                lambda v, i=their_indices, o=output_size: their_unpool(
                    v, i, kernel, stride, padding, o
                ),
                pooled.numpy(),
                rng,
            )


def test_max_unpool_gradcheck(rng: np.random.Generator) -> None:
    x = distinct((2, 2, 5, 6), rng)
    _, indices = F.max_pool2d(cr.tensor(x, dtype=np.float64), 2, return_indices=True)
    pooled = rng.standard_normal(indices.shape)
    result = cr.gradcheck(lambda v: F.max_unpool2d(v, indices, 2, output_size=(5, 6)), [pooled])
    assert result.passed, result


def test_max_unpool_errors() -> None:
    x = cr.tensor(np.ones((1, 1, 2, 2), dtype=np.float32))
    indices = cr.tensor(np.zeros((1, 1, 2, 2), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"MaxUnpool2d: invalid output_size \[9, 4\]"):
        F.max_unpool2d(x, indices, 2, output_size=(9, 4))
    with pytest.raises(ShapeError, match="output_size must have 2 or 4 entries"):
        F.max_unpool2d(x, indices, 2, output_size=(4, 4, 4))
    with pytest.raises(ShapeError, match=r"indices \(1, 1, 2\) must have the input's shape"):
        F.max_unpool2d(x, np.zeros((1, 1, 2), dtype=np.int64), 2)
    with pytest.raises(ShapeError, match="found an invalid max index 16 for output size"):
        F.max_unpool2d(x, np.full((1, 1, 2, 2), 16), 2)
    with pytest.raises(ShapeError, match=r"MaxUnpool3d expects input \(N, C, D, H, W\)"):
        F.max_unpool3d(x[0, 0], indices[0, 0], 2)


# ---------------------------------------------------------------------------- layers
LAYERS = [
    ("MaxPool3d", (2,), {}),
    ("MaxPool3d", ((2, 3, 2), 1, 1, 2), {"ceil_mode": True}),
    ("MaxPool3d", (3,), {"stride": 2, "padding": 1, "return_indices": True}),
    ("AvgPool3d", (2,), {}),
    ("AvgPool3d", (3, 2, 1, True, False, 4), {}),
    ("AvgPool3d", ((1, 2, 3),), {"stride": 1, "padding": (0, 1, 1)}),
    ("AdaptiveAvgPool3d", ((4, None, 3),), {}),
    ("AdaptiveMaxPool3d", (3,), {"return_indices": True}),
    ("AdaptiveMaxPool3d", ((2, 3, 4),), {}),
    ("LPPool1d", (2, 3), {}),
    ("LPPool2d", (1.5, (2, 3)), {"stride": 2, "ceil_mode": True}),
    ("LPPool3d", (2, 2), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS)
def test_pooling3d_layers_match_pytorch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attribute in ("kernel_size", "stride", "padding", "dilation", "output_size", "norm_type"):
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert list(ours.state_dict()) == []
    dims = int(name[-2])
    x = distinct(SHAPE[: 2 + dims], rng, np.float32)
    twin(ours, theirs, np.abs(x) + 0.1 if name.startswith("LP") else x, rng)


@pytest.mark.parametrize(
    ("name", "args"),
    [("MaxUnpool1d", (3, 2, 1)), ("MaxUnpool2d", (2,)), ("MaxUnpool3d", ((2, 2, 3), 1, (1, 0, 1)))],
)
def test_max_unpool_layers_match_pytorch(
    name: str, args: tuple[Any, ...], rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    for attribute in ("kernel_size", "stride", "padding"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    dims = int(name[-2])
    pool = getattr(torch.nn, f"MaxPool{dims}d")(*args, return_indices=True)
    x = distinct(SHAPE[: 2 + dims], rng, np.float32)
    pooled, indices = pool(torch.tensor(x))
    twin(
        lambda v: ours(v, cr.tensor(indices.numpy()), output_size=x.shape),
        lambda v: theirs(v, indices, output_size=x.shape),
        pooled.numpy(),
        rng,
    )


def test_pooling3d_errors_name_the_layer() -> None:
    with pytest.raises(ShapeError) as info:
        F.max_pool3d(cr.tensor(np.zeros((4, 4, 4))), 2)
    assert str(info.value) == (
        "MaxPool3d(kernel 2x2x2, stride 2x2x2) expects input (N, C, D, H, W) or (C, D, H, W), "
        "got (4, 4, 4)"
    )
    with pytest.raises(ShapeError) as info:
        F.avg_pool3d(cr.tensor(np.zeros((1, 1, 2, 4, 4))), 3, 1)
    assert str(info.value) == (
        "AvgPool3d(kernel 3x3x3, stride 1x1x1): kernel 3x3x3 is larger than the padded input "
        "2x4x4 (input (1, 1, 2, 4, 4), padding (0, 0, 0))"
    )
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.MaxPool3d(2, padding=2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.AvgPool3d((3, 3, 2), padding=(1, 1, 2))
    with pytest.raises(ValueError, match="kernel_size must be an int or a triple of ints"):
        F.max_pool3d(cr.tensor(np.zeros((1, 1, 4, 4, 4))), (2, 2))
    with pytest.raises(ValueError, match="output_size must have 3 entries"):
        F.adaptive_avg_pool3d(cr.tensor(np.zeros((1, 1, 4, 4, 4))), (1, 2))
    with pytest.raises(ShapeError, match=r"AdaptiveMaxPool3d expects input \(N, C, D, H, W\)"):
        F.adaptive_max_pool3d(cr.tensor(np.zeros((4, 4, 4))), 2)


def test_float32_stays_float32_through_3d_pooling(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.random((2, 3, 4, 6, 6)).astype(np.float32), requires_grad=True)
    outs = [
        F.max_pool3d(x, 3, 2, 1, 2, True),
        F.avg_pool3d(x, 3, 2, 1, True, False),
        F.adaptive_avg_pool3d(x, (3, 4, 5)),
        F.adaptive_max_pool3d(x, 3),
        F.lp_pool3d(x, 2, 2),
        F.lp_pool2d(x[:, :, 0], 3, 2),
    ]
    total = sum(out.sum() for out in outs)
    total.backward()
    assert all(out.dtype == np.float32 for out in outs) and x.grad.dtype == np.float32
