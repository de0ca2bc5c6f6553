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
def test_conv2d_rejects_input_of_the_wrong_rank() -> None:
    weight = cr.tensor(np.zeros((32, 1, 3, 3)))
    with pytest.raises(ShapeError) as info:
        F.conv2d(cr.tensor(np.zeros((28, 28))), weight)
    assert str(info.value) == (
        "Conv2d(1 -> 32, kernel 3x3) expects input (N, 1, H, W) or (1, H, W), got (28, 28)"
    )
    with pytest.raises(ShapeError) as info:  # 3-d is one image, (C, H, W), as in PyTorch
        F.conv2d(cr.tensor(np.zeros((28, 28, 1))), weight)
    assert str(info.value) == (
        "Conv2d(1 -> 32, kernel 3x3) expects 1 input channels, got 28 in input of shape "
        "(28, 28, 1) (channels last? the layout is channels first, as PyTorch's)"
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


# ---------------------------------------------------------------------------- conv options
def twin(ours_fn: Any, theirs_fn: Any, arrays: list[np.ndarray], rng: np.random.Generator) -> None:
    """Outputs and every input's gradient against PyTorch's, in the arrays' dtype."""
    torch = pytest.importorskip("torch")
    tolerance = {"rtol": 1e-4, "atol": 1e-5} if arrays[0].dtype == np.float32 else {"rtol": 1e-10}
    ours = [cr.tensor(a, dtype=a.dtype, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    assert out.dtype == arrays[0].dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    grad = rng.standard_normal(out.shape).astype(arrays[0].dtype)
    out.backward(grad)
    expected.backward(torch.tensor(grad))
    for a, b in zip(ours, theirs, strict=True):
        assert a.grad.dtype == arrays[0].dtype
        np.testing.assert_allclose(a.grad, b.grad.numpy(), **tolerance)


# (input, weight, stride, padding, dilation, groups): 'same' with odd and even kernels (an even
# one is padded one more at the bottom and right), 'valid', dilation, groups, depthwise, one
# unbatched image.
CONV2D_OPTIONS = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, "same", 1, 1),
    ((2, 3, 7, 6), (4, 3, 4, 2), 1, "same", 1, 1),
    ((2, 2, 8, 7), (3, 2, 3, 2), 1, "same", (2, 3), 1),
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, "valid", 1, 1),
    ((2, 3, 9, 8), (4, 3, 3, 2), (2, 1), (1, 2), (2, 1), 1),
    ((2, 4, 7, 6), (6, 2, 3, 3), 2, 1, 1, 2),
    ((2, 3, 6, 7), (6, 1, 3, 3), 1, 1, 1, 3),  # depthwise, channel multiplier 2
    ((1, 4, 9, 9), (4, 1, 2, 3), 3, 2, 2, 4),
    ((3, 6, 5), (4, 3, 3, 3), 1, 1, 1, 1),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("x", "w", "stride", "padding", "dilation", "groups"), CONV2D_OPTIONS)
def test_conv2d_options_match_pytorch(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int, dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x, w, (w[0],))]
    twin(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
        arrays,
        rng,
    )


@pytest.mark.parametrize(("x", "w", "stride", "padding", "dilation", "groups"), CONV2D_OPTIONS)
def test_conv2d_options_gradcheck(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int, rng: Any
) -> None:
    arrays = [rng.standard_normal(s) for s in (x, w, (w[0],))]
    result = cr.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        arrays,
        max_elements=30,
    )
    assert result.passed, str(result)


# (input, weight, stride, padding, dilation, groups)
CONV1D_OPTIONS = [
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1),
    ((2, 4, 11), (6, 2, 3), 2, 1, 2, 2),
    ((2, 3, 8), (5, 3, 4), 1, "same", 1, 1),
    ((2, 3, 8), (3, 1, 3), 1, "same", 3, 3),
    ((3, 10), (2, 3, 2), (3,), (1,), (2,), 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("x", "w", "stride", "padding", "dilation", "groups"), CONV1D_OPTIONS)
def test_conv1d_matches_pytorch(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int, dtype: Any, rng: Any
) -> None:
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x, w, (w[0],))]
    twin(
        lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride, padding, dilation, groups),
        arrays,
        rng,
    )


@pytest.mark.parametrize(("x", "w", "stride", "padding", "dilation", "groups"), CONV1D_OPTIONS)
def test_conv1d_gradcheck(
    x: Any, w: Any, stride: Any, padding: Any, dilation: Any, groups: int, rng: Any
) -> None:
    arrays = [rng.standard_normal(s) for s in (x, w, (w[0],))]
    result = cr.gradcheck(
        lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
        arrays,
        max_elements=30,
    )
    assert result.passed, str(result)


# (input, weight (C, K/groups, kh, kw), stride, padding, output_padding, groups, dilation)
CONV_TRANSPOSE_OPTIONS = [
    ((2, 3, 4, 5), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ((2, 4, 3, 4), (4, 3, 2, 3), (2, 3), (0, 1), (1, 2), 2, 1),
    ((2, 2, 4, 3), (2, 2, 3, 2), 3, 2, 1, 1, 2),
    ((1, 2, 5, 5), (2, 1, 3, 3), 1, 3, 0, 1, 1),  # padding beyond d·(k-1): the output is cropped
    ((3, 4, 4), (3, 2, 3, 3), 2, 1, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("x", "w", "stride", "padding", "output_padding", "groups", "dilation"), CONV_TRANSPOSE_OPTIONS
)
def test_conv_transpose2d_matches_pytorch(
    x: Any,
    w: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    dtype: Any,
    rng: Any,
) -> None:
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x, w, (w[1] * groups,))]
    args = (stride, padding, output_padding, groups, dilation)
    twin(
        lambda x, w, b: F.conv_transpose2d(x, w, b, *args),
        lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, *args),
        arrays,
        rng,
    )


@pytest.mark.parametrize(
    ("x", "w", "stride", "padding", "output_padding", "groups", "dilation"),
    CONV_TRANSPOSE_OPTIONS[:4],
)
def test_conv_transpose2d_gradcheck(
    x: Any, w: Any, stride: Any, padding: Any, output_padding: Any, groups: int, dilation: Any,
    rng: Any,
) -> None:  # fmt: skip
    arrays = [rng.standard_normal(s) for s in (x, w, (w[1] * groups,))]
    args = (stride, padding, output_padding, groups, dilation)
    result = cr.gradcheck(
        lambda x, w, b: F.conv_transpose2d(x, w, b, *args), arrays, max_elements=30
    )
    assert result.passed, str(result)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose1d_matches_pytorch(dtype: Any, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((2, 4, 7), (4, 3, 3), (6,))]
    twin(
        lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2, 1),
        lambda x, w, b: torch.nn.functional.conv_transpose1d(x, w, b, 2, 1, 1, 2, 1),
        arrays,
        rng,
    )
    result = cr.gradcheck(
        lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1, 2, 2),
        [a.astype(np.float64) for a in arrays],
        max_elements=30,
    )
    assert result.passed, str(result)


def test_conv_transpose_is_the_adjoint_of_conv(rng: np.random.Generator) -> None:
    """<conv(x), y> = <x, conv_transpose(y)> for the same weight (no bias), groups included."""
    x, weight = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    y = rng.standard_normal((2, 6, 5, 5))
    x, weight, y = (cr.tensor(a, dtype=np.float64) for a in (x, weight, y))
    forward = F.conv2d(x, weight, None, 2, 1, 1, 2).numpy()
    adjoint = F.conv_transpose2d(y, weight, None, 2, 1, 0, 2).numpy()
    assert forward.shape == y.shape and adjoint.shape == x.shape
    np.testing.assert_allclose((forward * y.numpy()).sum(), (x.numpy() * adjoint).sum(), rtol=1e-12)


def test_grouped_first_layer_skips_input_gradient(rng: np.random.Generator) -> None:
    x = cr.tensor(rng.standard_normal((2, 4, 5, 5)))
    weight = cr.tensor(rng.standard_normal((4, 1, 3, 3)), requires_grad=True)
    F.conv2d(x, weight, None, 1, 1, 2, 4).sum().backward()
    assert x.grad is None and weight.grad is not None


def test_conv_option_errors() -> None:
    x = cr.tensor(np.zeros((1, 4, 6, 6)))
    with pytest.raises(ShapeError) as info:
        F.conv2d(x, cr.tensor(np.zeros((6, 4, 3, 3))), groups=2)
    assert str(info.value) == (
        "Conv2d(8 -> 6, kernel 3x3, groups 2) expects 8 input channels, got 4 in input of shape "
        "(1, 4, 6, 6)"
    )
    with pytest.raises(ShapeError) as info:
        F.conv2d(x, cr.tensor(np.zeros((3, 2, 3, 3))), groups=2)
    assert str(info.value) == (
        "Conv2d(4 -> 3, kernel 3x3, groups 2): groups=2 must divide out_channels, weight "
        "(3, 2, 3, 3) has 3"
    )
    with pytest.raises(ShapeError) as info:
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3, 3))), dilation=3)
    assert str(info.value) == (
        "Conv2d(4 -> 2, kernel 3x3): dilated kernel 7x7 is larger than the padded image 6x6 "
        "(input (1, 4, 6, 6), padding 0)"
    )
    with pytest.raises(ShapeError, match=r"Conv1d\(4 -> 2, kernel 5\): kernel 5 is larger than "):
        F.conv1d(cr.tensor(np.zeros((1, 4, 3))), cr.tensor(np.zeros((2, 4, 5))), padding=0)
    # RuntimeError too, as PyTorch raises for these.
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3, 3))), stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3, 3))), padding="full")
    with pytest.raises(ValueError, match="groups must be a positive integer, got 0"):
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3, 3))), groups=0)
    with pytest.raises(ShapeError, match=r"conv2d expects a weight of shape \(K, C/groups, kh, kw"):
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3))))
    with pytest.raises(ShapeError, match=r"expects a bias of shape \(2,\), got \(3,\)"):
        F.conv2d(x, cr.tensor(np.zeros((2, 4, 3, 3))), cr.tensor(np.zeros(3)))
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than either"):
        F.conv_transpose2d(x, cr.tensor(np.zeros((4, 2, 3, 3))), stride=2, output_padding=2)
    with pytest.raises(ShapeError, match=r"padding \(3, 3\) leaves no output for input"):
        F.conv_transpose2d(
            cr.tensor(np.zeros((1, 2, 3, 3))), cr.tensor(np.zeros((2, 2, 3, 3))), padding=3
        )
    with pytest.raises(ShapeError, match=r"ConvTranspose2d\(3 -> 4, kernel 3x3, groups 2\): gr"):
        F.conv_transpose2d(x, cr.tensor(np.zeros((3, 2, 3, 3))), groups=2)


def test_conv_transpose_computes_only_the_gradients_wanted(rng: np.random.Generator) -> None:
    x, weight = rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((4, 3, 3, 3))
    both = _conv_transpose_grads(x, weight, x_grad=True, w_grad=True)
    expected = [t.grad for t in both]
    only_x = _conv_transpose_grads(x, weight, x_grad=True, w_grad=False)
    only_w = _conv_transpose_grads(x, weight, x_grad=False, w_grad=True)
    assert only_x[1].grad is None and only_w[0].grad is None
    np.testing.assert_allclose(only_x[0].grad, expected[0], rtol=1e-12)
    np.testing.assert_allclose(only_w[1].grad, expected[1], rtol=1e-12)


def _conv_transpose_grads(
    x: np.ndarray, weight: np.ndarray, x_grad: bool, w_grad: bool
) -> list[cr.Tensor]:
    xs = cr.tensor(x, dtype=np.float64, requires_grad=x_grad)
    ws = cr.tensor(weight, dtype=np.float64, requires_grad=w_grad)
    out = F.conv_transpose2d(xs, ws, None, 2, 1, 1, 1, 1)
    out.backward(np.cos(np.arange(out.numel())).reshape(out.shape))
    return [xs, ws]
