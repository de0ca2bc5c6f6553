"""The numba kernels give the NumPy reference's results (float32 tolerance) on every geometry,
layout and dtype; below their size threshold they are the reference itself."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels
from chainrule.errors import ConfigError
from chainrule.kernels import numpy_backend as reference

numba_backend = pytest.importorskip("chainrule.kernels.numba_backend")

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def compiled_at_every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba_backend, "SMALL", 0)


def close(a: np.ndarray, b: np.ndarray, exact: bool = False) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_and_backward(dtype: type) -> None:
    x = rng.standard_normal((7, 5, 3)).astype(dtype)
    x[0, 0, 0], x[0, 0, 1] = 0.0, np.nan
    close(numba_backend.relu(x), reference.relu(x), exact=True)
    out = reference.relu(x)
    grad = rng.standard_normal(x.shape).astype(dtype)
    close(numba_backend.relu_backward(grad, out), reference.relu_backward(grad, out), exact=True)
    strided = x[:, ::2]  # not contiguous: the reference serves it
    close(numba_backend.relu(strided), reference.relu(strided), exact=True)
    broadcast = np.broadcast_to(np.float32(1), out.shape).astype(dtype, copy=False)
    close(numba_backend.relu_backward(broadcast, out), reference.relu_backward(broadcast, out))


@pytest.mark.parametrize("nesterov, dampening", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_sgd_momentum_in_place(nesterov: bool, dampening: float) -> None:
    param = rng.standard_normal((40, 30)).astype(np.float32)
    grad = rng.standard_normal(param.shape).astype(np.float32)
    buf = rng.standard_normal(param.shape).astype(np.float32)
    expected = [param.copy(), buf.copy()]
    reference.sgd_momentum(*expected[:1], grad, expected[1], 0.1, 0.9, dampening, nesterov)
    assert numba_backend.sgd_momentum(param, grad, buf, 0.1, 0.9, dampening, nesterov) is None
    close(param, expected[0])
    close(buf, expected[1])


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("beta1", [0.9, 0.3])  # PyTorch's two forms of lerp
def test_adam_in_place(amsgrad: bool, beta1: float) -> None:
    shape = (33, 17)
    ours = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]  # w, m
    ours.append(np.abs(rng.standard_normal(shape)).astype(np.float32))
    ours.append(np.abs(rng.standard_normal(shape)).astype(np.float32) if amsgrad else None)
    theirs = [None if a is None else a.copy() for a in ours]
    for step in (1.0, 2.0, 3.0):
        grad = rng.standard_normal(shape).astype(np.float32)
        args = (beta1, 0.999, 1e-3, 1e-8, step)
        numba_backend.adam(ours[0], grad, *ours[1:], *args)
        reference.adam(theirs[0], grad, *theirs[1:], *args)
    for a, b in zip(ours, theirs, strict=True):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)


GEOMETRIES = [
    # (N, C, H, W), kernel, stride, padding, dilation
    ((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 2, 9, 8), (3, 2), (2, 3), (2, 0), (1, 1)),
    ((2, 4, 10, 11), (2, 3), (1, 2), (1, 2), (2, 3)),
    ((1, 1, 5, 5), (5, 5), (1, 1), (0, 0), (1, 1)),
    ((2, 2, 4, 4), (1, 1), (3, 3), (4, 4), (1, 1)),  # windows wholly in the padding
]


def out_hw(shape: tuple[int, ...], kernel, stride, padding, dilation) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return tuple(  # type: ignore[return-value]
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation, strict=True)
    )


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_and_col2im(geometry, dtype) -> None:  # type: ignore[no-untyped-def]
    shape, kernel, stride, padding, dilation = geometry
    hw = out_hw(shape, kernel, stride, padding, dilation)
    x = rng.standard_normal(shape).astype(dtype)
    args = (kernel, stride, padding, dilation, hw)
    close(numba_backend.im2col(x, *args), reference.im2col(x, *args), exact=True)
    channels_last = x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)  # strided NCHW
    close(numba_backend.im2col(channels_last, *args), reference.im2col(x, *args), exact=True)
    dcols = rng.standard_normal((shape[1], *kernel, shape[0], *hw)).astype(dtype)
    geo = (stride, padding, dilation)
    close(numba_backend.col2im(dcols, shape, *geo), reference.col2im(dcols, shape, *geo))


def test_col2im_is_the_adjoint_of_im2col() -> None:
    shape, kernel, stride, padding, dilation = GEOMETRIES[2]
    hw = out_hw(shape, kernel, stride, padding, dilation)
    x = rng.standard_normal(shape)
    cols = numba_backend.im2col(x, kernel, stride, padding, dilation, hw)
    dcols = rng.standard_normal(cols.shape)
    back = numba_backend.col2im(
        dcols.reshape(shape[1], *kernel, shape[0], *hw), shape, stride, padding, dilation
    )
    np.testing.assert_allclose(np.sum(cols * dcols), np.sum(x * back), rtol=1e-10)


@pytest.mark.parametrize("with_bias", [True, False])
def test_layout_changes(with_bias: bool) -> None:
    k, n, hw = 5, 3, (4, 6)
    out = rng.standard_normal((k, n * hw[0] * hw[1])).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32) if with_bias else None
    images = numba_backend.to_images(out, n, hw, bias)
    close(images, reference.to_images(out, n, hw, bias), exact=True)
    close(numba_backend.channels_first(images), reference.channels_first(images), exact=True)
    close(numba_backend.channels_first(images[:, ::-1]), reference.channels_first(images[:, ::-1]))


def test_below_the_threshold_the_reference_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba_backend, "SMALL", 1 << 30)
    monkeypatch.setattr(numba_backend, "_relu", None)  # a compiled call would fail
    x = rng.standard_normal(10).astype(np.float32)
    close(numba_backend.relu(x), reference.relu(x), exact=True)


def test_backend_choice() -> None:
    before = kernels.backend()
    try:
        kernels.use("numpy")
        assert kernels.backend() == "numpy" and kernels.relu is reference.relu
        kernels.use("numba")
        assert kernels.backend() == "numba" and kernels.relu is numba_backend.relu
        with pytest.raises(ConfigError, match="unknown kernel backend 'cuda'"):
            kernels.use("cuda")
    finally:
        kernels.use(before)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_training_step_agrees_across_backends(backend: str) -> None:
    """One conv net, one step of SGD with momentum and one of Adam, on each backend: the same
    loss and parameters as the reference within float32 tolerance."""
    before = kernels.backend()

    def run(name: str) -> list[np.ndarray]:
        kernels.use(name)
        cr.manual_seed(0)
        model = cr.nn.Sequential(
            cr.nn.Conv2d(2, 4, 3, padding=1), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
            cr.nn.Flatten(), cr.nn.Linear(4 * 4 * 4, 3),
        )  # fmt: skip
        x = cr.tensor(np.random.default_rng(1).standard_normal((5, 2, 8, 8)), dtype=cr.float32)
        y = cr.tensor([0, 1, 2, 1, 0])
        for opt in (cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                    cr.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)):  # fmt: skip
            for _ in range(2):
                opt.zero_grad()
                cr.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    try:
        expected, got = run("numpy"), run(backend)
    finally:
        kernels.use(before)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


POOLS = [
    # (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),  # disjoint tiles
    ((2, 3, 9, 8), (3, 3), (2, 1), (1, 1), (1, 1), False),
    ((2, 2, 11, 10), (3, 2), (1, 2), (1, 1), (2, 3), False),
    ((1, 2, 7, 9), (2, 3), (2, 2), (0, 1), (1, 1), True),  # ceil mode: a last partial window
]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_and_its_backward(pool, dtype) -> None:  # type: ignore[no-untyped-def]
    from chainrule.ops.pool import geometry

    shape, kernel, stride, padding, dilation, ceil_mode = pool
    geo = geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, :2, :2] = 1.0  # a tie: the first maximum wins
    out, argmax = numba_backend.max_pool(x, geo, True)
    expected, expected_argmax = reference.max_pool(x, geo, True)
    close(out, expected, exact=True)
    np.testing.assert_array_equal(argmax, expected_argmax)
    assert numba_backend.max_pool(x, geo, False)[1] is None
    grad = rng.standard_normal(out.shape).astype(dtype)
    close(
        numba_backend.max_pool_backward(grad, argmax, shape, geo),
        reference.max_pool_backward(grad, expected_argmax, shape, geo),
    )


def test_two_by_two_pooling_with_nans_and_odd_sizes() -> None:
    from chainrule.ops.pool import geometry

    shape = (2, 3, 9, 7)  # the last row and column belong to no window
    geo = geometry(shape, (2, 2), (2, 2), (0, 0))
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, 0, 1] = x[0, 1, 1, 1] = np.nan
    x[1, 0, :2, :2] = 3.0  # four-way tie
    out, argmax = numba_backend.max_pool(x, geo, True)
    expected = reference.max_pool(x, geo, True)[0]
    np.testing.assert_array_equal(out, expected)  # NaN propagates, as np.maximum
    assert argmax[0, 0, 0, 0] == 1 and argmax[0, 1, 0, 0] == 3 and argmax[1, 0, 0, 0] == 0
    grad = rng.standard_normal(out.shape).astype(np.float32)
    dx = numba_backend.max_pool_backward(grad, argmax, shape, geo)
    np.testing.assert_array_equal(dx[..., 8, :], 0)
    np.testing.assert_array_equal(dx[..., :, 6], 0)
    assert dx[0, 0, 0, 1] == grad[0, 0, 0, 0] and dx[1, 0, 0, 0] == grad[1, 0, 0, 0]
    np.testing.assert_allclose(dx.sum(axis=(2, 3)), grad.sum(axis=(2, 3)), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_cell_and_its_backward(dtype: type) -> None:
    n, hidden, size = 6, 5, 3
    pre = (4 * rng.standard_normal((n, 4 * hidden))).astype(dtype)
    pre[0, 0], pre[1, hidden] = -1000.0, 1000.0  # σ saturates without overflow
    packed = rng.standard_normal((n, size + hidden)).astype(dtype)  # [h | c] as the op keeps it
    c_prev = packed[:, size:]  # a strided view, as out[t - 1, :, P:] is
    outputs = {}
    for name, backend in (("numba", numba_backend), ("numpy", reference)):
        a = pre.copy()
        state = np.zeros((n, size + hidden), dtype)
        c, h, tanh_c = state[:, size:], np.zeros((n, hidden), dtype), np.zeros((n, hidden), dtype)
        assert backend.lstm_cell(a, c_prev, c, tanh_c, h) is None
        outputs[name] = (a, c.copy(), tanh_c, h)
    for mine, expected in zip(outputs["numba"], outputs["numpy"], strict=True):
        close(mine, expected)
    acts, _, tanh_c, _ = outputs["numpy"]
    assert np.all((acts >= 0) & (acts <= 1) | (np.abs(acts) <= 1))
    dh, dc = (rng.standard_normal((n, hidden)).astype(dtype) for _ in range(2))
    grads = {}
    for name, backend in (("numba", numba_backend), ("numpy", reference)):
        dgates = np.zeros((n, 4 * hidden), dtype)
        dc_copy = dc.copy()
        dc_prev = backend.lstm_cell_backward(acts, c_prev, tanh_c, dh, dc_copy, dgates)
        np.testing.assert_array_equal(dc_copy, dc)  # the caller's dc is only read
        grads[name] = (dgates, dc_prev)
    for mine, expected in zip(grads["numba"], grads["numpy"], strict=True):
        close(mine, expected)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(8, 3, 50), (40, 5, 1)])  # BatchNorm2d rows, BatchNorm1d
def test_batch_norm_kernels(affine: bool, shape: tuple[int, ...]) -> None:
    x = (3 + 2 * rng.standard_normal(shape)).astype(np.float32)
    mean, var = numba_backend.batch_norm_stats(x)
    for mine, expected in zip((mean, var), reference.batch_norm_stats(x), strict=True):
        close(mine, expected)
    c = shape[1]
    weight = rng.standard_normal(c).astype(np.float32) if affine else None
    bias = rng.standard_normal(c).astype(np.float32) if affine else None
    inv_std = (1 / np.sqrt(var + np.float32(1e-5))).astype(np.float32)
    close(numba_backend.batch_norm_forward(x, mean, inv_std, weight, bias),
          reference.batch_norm_forward(x, mean, inv_std, weight, bias))  # fmt: skip
    grad = rng.standard_normal(shape).astype(np.float32)
    for need_x in (True, False):
        mine = numba_backend.batch_norm_backward(grad, x, mean, inv_std, weight, need_x)
        expected = reference.batch_norm_backward(grad, x, mean, inv_std, weight, need_x)
        for a, b in zip(mine, expected, strict=True):
            assert (a is None) == (b is None) == (not need_x and a is mine[0])
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_im2col_and_col2im_of_an_image_block(geometry) -> None:  # type: ignore[no-untyped-def]
    shape, kernel, stride, padding, dilation = geometry
    hw = out_hw(shape, kernel, stride, padding, dilation)
    x = rng.standard_normal(shape).astype(np.float32)
    start, stop = (1, shape[0]) if shape[0] > 1 else (0, 1)
    rows, plane = shape[1] * kernel[0] * kernel[1], hw[0] * hw[1]
    blocks = {}
    for name, backend in (("numba", numba_backend), ("numpy", reference)):
        out = np.full((stop - start, rows, plane), np.nan, dtype=np.float32)
        backend.im2col_images(x, start, stop, kernel, stride, padding, dilation, hw, out)
        blocks[name] = out
    close(blocks["numba"], blocks["numpy"], exact=True)
    # The block of image b is image b's columns of the whole batch.
    whole = reference.im2col(x, kernel, stride, padding, dilation, hw)
    close(blocks["numpy"], whole.reshape(rows, shape[0], plane)[:, start:stop].transpose(1, 0, 2))
    dcols = rng.standard_normal(blocks["numpy"].shape).astype(np.float32)
    images = {}
    for name, backend in (("numba", numba_backend), ("numpy", reference)):
        dx = np.full(shape, 7.0, dtype=np.float32)  # overwritten within the block, kept outside
        backend.col2im_images(dcols, dx, start, stride, padding, dilation, kernel, hw)
        assert np.all(dx[:start] == 7.0) and np.all(dx[stop:] == 7.0)
        images[name] = dx
    close(images["numba"], images["numpy"])
    # Adjoint: <im2col(x), dcols> = <x, col2im(dcols)> over the block.
    inner_cols = np.sum(blocks["numpy"].astype(np.float64) * dcols)
    inner_images = np.sum(x[start:stop].astype(np.float64) * images["numpy"][start:stop])
    np.testing.assert_allclose(inner_cols, inner_images, rtol=1e-4)
