"""Convolution, pooling and batch norm: float64 gradchecks, PyTorch twins, dtypes and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule.errors import ShapeError

TOLERANCE = 1e-6

# (N, C, K, H, W, kernel, stride, padding): strides 1 and 2, paddings 0-2, rectangular kernels,
# odd and non-square images, batch and channels > 1.
CONV_CASES = [
    (2, 3, 4, 7, 5, (2, 3), 1, 0),
    (2, 2, 3, 7, 5, 3, 2, 1),
    (1, 3, 2, 6, 7, 3, 1, 2),
    (3, 2, 2, 5, 6, (3, 2), (2, 1), (1, 0)),
    (2, 1, 3, 5, 5, 5, 1, 2),
]


def distinct(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Inputs without ties (a scaled permutation), so that every max has one argmax."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0


# ---------------------------------------------------------------------------- gradchecks
@pytest.mark.parametrize(("n", "c", "k", "h", "w", "kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_gradcheck(
    n: int, c: int, k: int, h: int, w: int, kernel: Any, stride: Any, padding: Any, rng: Any
) -> None:
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((k, c, kh, kw))
    bias = rng.standard_normal(k)
    result = cr.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding), [x, weight, bias], max_elements=40
    )
    assert result.passed, str(result)
    assert set(result.errors) == {"input 0", "input 1", "input 2"}


def test_conv2d_without_bias_gradcheck(rng: np.random.Generator) -> None:
    x, weight = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    result = cr.gradcheck(lambda x, w: F.conv2d(x, w, None, 1, 1), [x, weight], max_elements=30)
    assert result.passed, str(result)


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [
        ((2, 3, 6, 8), 2, None, 0),  # fast path: the windows tile the image
        ((2, 2, 7, 5), 2, None, 0),  # fast path with a ragged edge dropped
        ((2, 2, 7, 6), 3, 2, 1),  # overlapping windows, -inf padding
        ((1, 2, 6, 7), (2, 3), (1, 2), (1, 1)),
    ],
)
@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_gradcheck(
    pool: Any, shape: Any, kernel: Any, stride: Any, padding: Any, rng: np.random.Generator
) -> None:
    x = distinct(shape, rng)
    result = cr.gradcheck(lambda x: pool(x, kernel, stride, padding), [x])
    assert result.passed, str(result)


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 5)])
def test_batch_norm_train_gradcheck(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    c = shape[1]
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)

    def fn(x: cr.Tensor, gamma: cr.Tensor, beta: cr.Tensor) -> cr.Tensor:
        running_mean, running_var = np.zeros(c), np.ones(c)
        return F.batch_norm(x, running_mean, running_var, gamma, beta, training=True)

    # A step of 1e-4: at 1e-5 the round-off of the centred sums in the forward (~1e-14) already
    # shows at 1e-6 relative error; the O(eps²) truncation error at 1e-4 stays below 2e-7.
    result = cr.gradcheck(fn, [x, gamma, beta], eps=1e-4)
    assert result.passed, str(result)


def test_batch_norm_eval_gradcheck(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 2, 4, 4))
    mean, var = rng.standard_normal(2), rng.random(2) + 0.5
    gamma, beta = rng.standard_normal(2), rng.standard_normal(2)
    result = cr.gradcheck(
        lambda x, g, b: F.batch_norm(x, mean, var, g, b, training=False), [x, gamma, beta]
    )
    assert result.passed, str(result)


# ---------------------------------------------------------------------------- dtypes
def test_float32_stays_float32(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
    weight = cr.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    bias = cr.tensor(rng.standard_normal(4), requires_grad=True)
    gamma, beta = cr.tensor(np.ones(4), requires_grad=True), cr.tensor(np.zeros(4))
    running_mean, running_var = np.zeros(4, np.float32), np.ones(4, np.float32)
    h = F.conv2d(x, weight, bias, 1, 1)
    h = F.batch_norm(h, running_mean, running_var, gamma, beta, training=True)
    h = F.max_pool2d(h, 3, 2, 1)
    out = F.avg_pool2d(h, 2)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in (x, weight, bias, gamma):
        assert t.grad is not None and t.grad.dtype == np.float32
    assert running_mean.dtype == running_var.dtype == np.float32
    evaluated = F.batch_norm(h, running_mean, running_var, gamma, beta, training=False)
    assert evaluated.dtype == np.float32


def test_first_layer_skips_input_gradient(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.standard_normal((2, 1, 5, 5)))  # data: no gradient wanted
    weight = cr.tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, weight).sum().backward()
    assert x.grad is None and weight.grad is not None


# ---------------------------------------------------------------------------- errors
def test_conv2d_rejects_3d_input() -> None:
    weight = cr.tensor(np.zeros((32, 1, 3, 3)))
    with pytest.raises(ShapeError) as info:
        F.conv2d(cr.tensor(np.zeros((28, 28, 1))), weight)
    assert str(info.value) == (
        "Conv2d(1 -> 32, kernel 3x3) expects input (N, 1, H, W), got (28, 28, 1)"
    )


def test_conv2d_rejects_channel_mismatch() -> None:
    weight = cr.tensor(np.zeros((8, 3, 3, 3)))
    with pytest.raises(ShapeError) as info:
        F.conv2d(cr.tensor(np.zeros((2, 1, 8, 8))), weight)
    assert str(info.value) == (
        "Conv2d(3 -> 8, kernel 3x3) expects 3 input channels, got 1 in input of shape (2, 1, 8, 8)"
    )


def test_conv2d_rejects_kernel_larger_than_padded_image() -> None:
    weight = cr.tensor(np.zeros((4, 1, 5, 5)))
    with pytest.raises(ShapeError) as info:
        F.conv2d(cr.tensor(np.zeros((1, 1, 3, 3))), weight)
    assert str(info.value) == (
        "Conv2d(1 -> 4, kernel 5x5): kernel 5x5 is larger than the padded image 3x3 "
        "(input (1, 1, 3, 3), padding 0)"
    )
    F.conv2d(cr.tensor(np.zeros((1, 1, 3, 3))), weight, padding=1)  # 5x5 padded: fits


def test_pooling_errors_name_the_layer() -> None:
    with pytest.raises(ShapeError, match=r"MaxPool2d\(kernel 2x2, stride 2x2\) expects input"):
        F.max_pool2d(cr.tensor(np.zeros((28, 28))), 2)
    with pytest.raises(ShapeError, match=r"AvgPool2d\(kernel 3x3, stride 1x1\): kernel 3x3 is"):
        F.avg_pool2d(cr.tensor(np.zeros((1, 1, 2, 2))), 3, 1)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(cr.tensor(np.zeros((1, 1, 6, 6))), 2, 2, 2)


def test_batch_norm_errors() -> None:
    with pytest.raises(ShapeError, match=r"over 4 features expects input \(N, 4, ...\), got"):
        F.batch_norm(cr.tensor(np.zeros((2, 3))), np.zeros(4), np.ones(4), training=True)
    with pytest.raises(ShapeError, match="more than one value per channel"):
        F.batch_norm(cr.tensor(np.zeros((1, 3))), np.zeros(3), np.ones(3), training=True)


# ---------------------------------------------------------------------------- PyTorch twins
def assert_close(ours: np.ndarray, theirs: Any) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("n", "c", "k", "h", "w", "kernel", "stride", "padding"), CONV_CASES)
def test_conv2d_matches_pytorch(
    n: int, c: int, k: int, h: int, w: int, kernel: Any, stride: Any, padding: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    arrays = [
        rng.standard_normal(s).astype(np.float32) for s in [(n, c, h, w), (k, c, kh, kw), (k,)]
    ]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.conv2d(*ours, stride, padding)
    expected = torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding)
    assert_close(out.numpy(), expected)
    grad = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a.grad, b.grad)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))]
)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_matches_pytorch(
    name: str, kernel: Any, stride: Any, padding: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    x = distinct((2, 3, 9, 7), rng).astype(np.float32)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(F, name)(ours, kernel, stride, padding)
    expected = getattr(torch.nn.functional, name)(theirs, kernel, stride, padding)
    assert_close(out.numpy(), expected)
    grad = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    assert_close(ours.grad, theirs.grad)


def test_max_pool_ties_go_to_the_first_maximum() -> None:
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 4, 4), np.float32)  # every window is all ties (a dead ReLU's output)
    x[0, 0, 2:, 2:] = [[1, 1], [0, 1]]
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 2).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 2).sum().backward()
    assert_close(ours.grad, theirs.grad)
    ours.grad = None
    theirs.grad = None
    F.max_pool2d(ours, 3, 1, 1).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 3, 1, 1).sum().backward()
    assert_close(ours.grad, theirs.grad)


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 6)])
def test_batch_norm_matches_pytorch(shape: tuple[int, ...], rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    c = shape[1]
    gamma, beta = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype("f")
    ours = [cr.tensor(gamma, requires_grad=True), cr.tensor(beta, requires_grad=True)]
    theirs = [torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)]
    mean, var = np.zeros(c, np.float32), np.ones(c, np.float32)
    torch_mean, torch_var = torch.zeros(c), torch.ones(c)
    for _ in range(3):
        x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
        xs, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = F.batch_norm(xs, mean, var, *ours, training=True)
        expected = torch.nn.functional.batch_norm(
            xt, torch_mean, torch_var, *theirs, training=True, momentum=0.1, eps=1e-5
        )
        assert_close(out.numpy(), expected)
        grad = rng.standard_normal(shape).astype(np.float32)
        out.backward(grad)
        expected.backward(torch.tensor(grad))
        for a, b in [(xs, xt), *zip(ours, theirs, strict=True)]:
            assert_close(a.grad, b.grad)
    assert_close(mean, torch_mean)
    assert_close(var, torch_var)
    x = rng.standard_normal(shape).astype(np.float32)
    out = F.batch_norm(cr.tensor(x), mean, var, *ours, training=False)
    expected = torch.nn.functional.batch_norm(
        torch.tensor(x), torch_mean, torch_var, *theirs, training=False
    )
    assert_close(out.numpy(), expected)
