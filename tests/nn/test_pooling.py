"""Max, average and adaptive pooling (1-d and 2-d): PyTorch twins in float32 and float64,
float64 gradchecks, PyTorch's tie rule and indices, layer reprs and errors."""

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
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if x.dtype == np.float32 else {"rtol": 1e-12}
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


# (kernel_size, stride, padding, dilation, ceil_mode): tiling windows, ragged edges, overlap,
# padding, dilation, rectangular everything, ceil mode's partial last windows.
MAX_POOL_2D = [
    (2, None, 0, 1, False),
    (2, None, 0, 1, True),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (3, 2, 1, 2, True),
    ((2, 3), (1, 2), (1, 0), (2, 1), True),
    (3, 3, 0, 1, True),
    (2, 1, 1, 1, False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "ceil_mode"), MAX_POOL_2D)
def test_max_pool2d_matches_pytorch(
    kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    args = (kernel, stride, padding, dilation, ceil_mode, True)
    twin(
        lambda x: F.max_pool2d(x, *args),
        lambda x: torch.nn.functional.max_pool2d(x, *args),
        distinct((2, 3, 9, 8), rng, dtype),
        rng,
    )


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "ceil_mode"), MAX_POOL_2D)
def test_max_pool2d_gradcheck(
    kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, rng: Any
) -> None:
    x = distinct((2, 2, 7, 6), rng)
    result = cr.gradcheck(
        lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), [x]
    )
    assert result.passed, str(result)


# (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_POOL_2D = [
    (2, None, 0, False, True, None),
    (3, 2, 1, False, True, None),
    (3, 2, 1, False, False, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((2, 3), (2, 1), (1, 1), True, False, None),
    (4, 3, 2, True, True, None),
    (3, 2, 1, True, False, 5),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil", "include", "divisor"), AVG_POOL_2D)
def test_avg_pool2d_matches_pytorch(
    kernel: Any, stride: Any, padding: Any, ceil: bool, include: bool, divisor: Any, dtype: Any,
    rng: Any,
) -> None:  # fmt: skip
    torch = pytest.importorskip("torch")
    args = (kernel, stride, padding, ceil, include, divisor)
    twin(
        lambda x: F.avg_pool2d(x, *args),
        lambda x: torch.nn.functional.avg_pool2d(x, *args),
        rng.standard_normal((2, 3, 9, 8)).astype(dtype),
        rng,
    )


@pytest.mark.parametrize(("kernel", "stride", "padding", "ceil", "include", "divisor"), AVG_POOL_2D)
def test_avg_pool2d_gradcheck(
    kernel: Any, stride: Any, padding: Any, ceil: bool, include: bool, divisor: Any, rng: Any
) -> None:
    x = rng.standard_normal((2, 2, 7, 6))
    args = (kernel, stride, padding, ceil, include, divisor)
    result = cr.gradcheck(lambda x: F.avg_pool2d(x, *args), [x])
    assert result.passed, str(result)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "ceil_mode"),
    [(2, None, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False), (4, 3, 2, 1, True)],
)
def test_pool1d_matches_pytorch(
    kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool, dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((2, 3, 11), rng, dtype)
    max_args = (kernel, stride, padding, dilation, ceil_mode, True)
    twin(
        lambda x: F.max_pool1d(x, *max_args),
        lambda x: torch.nn.functional.max_pool1d(x, *max_args),
        x,
        rng,
    )
    for include in (True, False):
        avg_args = (kernel, stride, padding, ceil_mode, include)
        twin(
            lambda x, a=avg_args: F.avg_pool1d(x, *a),
            lambda x, a=avg_args: torch.nn.functional.avg_pool1d(x, *a),
            x,
            rng,
        )


def test_pool1d_gradcheck(rng: np.random.Generator) -> None:
    x = distinct((2, 2, 9), rng)
    assert cr.gradcheck(lambda x: F.max_pool1d(x, 3, 2, 1, 2, True), [x]).passed
    assert cr.gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1, True, False), [x]).passed


def test_pooling_one_unbatched_image(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((3, 7, 6), rng, np.float32)
    twin(
        lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
        lambda x: torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True),
        x,
        rng,
    )
    twin(lambda x: F.avg_pool2d(x, 2), lambda x: torch.nn.functional.avg_pool2d(x, 2), x, rng)
    twin(
        lambda x: F.adaptive_max_pool2d(x, 3),
        lambda x: torch.nn.functional.adaptive_max_pool2d(x, 3),
        x,
        rng,
    )


# ---------------------------------------------------------------------------- ties
def test_max_pool_ties_go_to_the_first_maximum_with_every_option() -> None:
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 2, 7, 6), np.float32)  # mostly ties (a dead ReLU's output)
    x[0, 0, 2:5, 1:4] = [[1, 1, 0], [0, 1, 1], [1, 1, 1]]
    x[0, 1, ::2, ::3] = 2
    cases = [
        lambda f, x: f.max_pool2d(x, 2),
        lambda f, x: f.max_pool2d(x, 3, 1, 1),
        lambda f, x: f.max_pool2d(x, 3, 2, 1, 2, True),
        lambda f, x: f.max_pool2d(x, (2, 3), (2, 1), (1, 1), 1, True),
        lambda f, x: f.adaptive_max_pool2d(x, (3, 4)),
        lambda f, x: f.max_pool1d(x.reshape(1, 2, 42), 4, 3, 2, 1, True),
        lambda f, x: f.adaptive_max_pool1d(x.reshape(1, 2, 42), 5),
    ]
    for case in cases:
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        case(F, ours).sum().backward()
        case(torch.nn.functional, theirs).sum().backward()
        np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


# ---------------------------------------------------------------------------- adaptive
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output_size", [1, 3, (4, None), (5, 3), (2, 4), (9, 8), (None, 1)])
def test_adaptive_pool2d_matches_pytorch(output_size: Any, dtype: Any, rng: Any) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((2, 3, 9, 8), rng, dtype)
    twin(
        lambda x: F.adaptive_avg_pool2d(x, output_size),
        lambda x: torch.nn.functional.adaptive_avg_pool2d(x, output_size),
        x,
        rng,
    )
    twin(
        lambda x: F.adaptive_max_pool2d(x, output_size, True),
        lambda x: torch.nn.functional.adaptive_max_pool2d(x, output_size, True),
        x,
        rng,
    )


@pytest.mark.parametrize("output_size", [1, 4, 7, 13])
def test_adaptive_pool1d_matches_pytorch(output_size: int, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((2, 3, 10), rng, np.float32)
    twin(
        lambda x: F.adaptive_avg_pool1d(x, output_size),
        lambda x: torch.nn.functional.adaptive_avg_pool1d(x, output_size),
        x,
        rng,
    )
    twin(
        lambda x: F.adaptive_max_pool1d(x, output_size, True),
        lambda x: torch.nn.functional.adaptive_max_pool1d(x, output_size, True),
        x,
        rng,
    )


@pytest.mark.parametrize("output_size", [1, (3, 2), (2, 3), (4, 4)])
def test_adaptive_pool_gradcheck(output_size: Any, rng: np.random.Generator) -> None:
    x = distinct((2, 2, 7, 6), rng)
    for pool in (F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
        result = cr.gradcheck(lambda x, pool=pool: pool(x, output_size), [x])
        assert result.passed, str(result)


def test_adaptive_max_pool_propagates_nan() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    out = F.adaptive_max_pool2d(cr.tensor(x), 2).numpy()
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 1, 1] == 15


# ---------------------------------------------------------------------------- layers
LAYERS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((2, 3), 1, 1, 2), {"ceil_mode": True}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "return_indices": True}),
    ("MaxPool1d", (3, 2, 1), {"ceil_mode": True}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 2, 1, True, False, 4), {}),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1}),
    ("AdaptiveAvgPool2d", ((4, None),), {}),
    ("AdaptiveMaxPool2d", (3,), {"return_indices": True}),
    ("AdaptiveAvgPool1d", (5,), {}),
    ("AdaptiveMaxPool1d", (2,), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS)
def test_pooling_layers_match_pytorch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attribute in ("kernel_size", "stride", "padding", "dilation", "output_size"):
        if hasattr(theirs, attribute):
            assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert list(ours.state_dict()) == []
    shape = (2, 3, 8) if name.endswith("1d") else (2, 3, 9, 8)
    twin(ours, theirs, distinct(shape, rng, np.float32), rng)


def test_pooling_layer_errors() -> None:
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.AvgPool1d(3, padding=2)
    nn.MaxPool2d(2, padding=1, dilation=2)  # half of the dilated kernel (3) rounds down to 1


def test_pooling_errors_name_the_layer() -> None:
    with pytest.raises(ShapeError) as info:
        F.max_pool2d(cr.tensor(np.zeros((28, 28))), 2)
    assert str(info.value) == (
        "MaxPool2d(kernel 2x2, stride 2x2) expects input (N, C, H, W) or (C, H, W), got (28, 28)"
    )
    with pytest.raises(ShapeError) as info:
        F.avg_pool2d(cr.tensor(np.zeros((1, 1, 2, 2))), 3, 1)
    assert str(info.value) == (
        "AvgPool2d(kernel 3x3, stride 1x1): kernel 3x3 is larger than the padded input 2x2 "
        "(input (1, 1, 2, 2), padding (0, 0))"
    )
    with pytest.raises(ShapeError, match=r"MaxPool1d\(kernel 5, stride 5\): kernel 5 is larger"):
        F.max_pool1d(cr.tensor(np.zeros((1, 2, 4))), 5)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(cr.tensor(np.zeros((1, 1, 6, 6))), 2, 2, 2)
    with pytest.raises(RuntimeError, match="divisor_override must not be zero"):
        F.avg_pool2d(cr.tensor(np.zeros((1, 1, 6, 6))), 2, divisor_override=0)
    with pytest.raises(ValueError, match="kernel_size, stride and dilation must be positive"):
        F.max_pool2d(cr.tensor(np.zeros((1, 1, 6, 6))), 2, 0)
    with pytest.raises(ShapeError, match=r"AdaptiveAvgPool2d expects input \(N, C, H, W\) or"):
        F.adaptive_avg_pool2d(cr.tensor(np.zeros((4, 4))), 2)
    with pytest.raises(ValueError, match="output_size must have 2 entries"):
        F.adaptive_max_pool2d(cr.tensor(np.zeros((1, 1, 4, 4))), (1, 2, 3))
    # A ceil-mode window may start inside the input and reach past it, as PyTorch allows.
    assert F.max_pool2d(cr.tensor(np.ones((1, 1, 2, 2))), 3, 2, ceil_mode=True).shape == (
        1,
        1,
        1,
        1,
    )


def test_float32_stays_float32_through_every_pooling(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    outs = [
        F.max_pool2d(x, 3, 2, 1, 2, True),
        F.avg_pool2d(x, 3, 2, 1, True, False),
        F.adaptive_avg_pool2d(x, (3, 5)),
        F.adaptive_max_pool2d(x, 3),
        F.max_pool1d(x.reshape(2, 3, 64), 3),
        F.avg_pool1d(x.reshape(2, 3, 64), 3),
    ]
    total = sum(out.sum() for out in outs)
    total.backward()
    assert all(out.dtype == np.float32 for out in outs) and x.grad.dtype == np.float32
