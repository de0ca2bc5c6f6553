"""Fold and Unfold (col2im and im2col) against torch.nn's: values and input gradients in
float32 and float64, gradcheck, reprs, the two as adjoints, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn, ops
from chainrule.errors import ShapeError

# (window arguments, input image shape): square and rectangular kernels, dilation, padding,
# stride that skips pixels, unbatched input.
WINDOWS = [
    ({"kernel_size": 2}, (2, 3, 4, 5)),
    ({"kernel_size": (2, 3), "padding": 1}, (1, 2, 5, 4)),
    ({"kernel_size": 3, "dilation": (2, 1), "stride": (1, 2)}, (2, 2, 6, 7)),
    ({"kernel_size": (1, 2), "stride": 3, "padding": (0, 2)}, (3, 1, 7, 5)),
    ({"kernel_size": 2, "stride": 2, "dilation": 2, "padding": 1}, (3, 5, 6)),
]
IDS = [f"{kwargs}-{shape}" for kwargs, shape in WINDOWS]


def check_twin(ours: Any, theirs: Any, x: np.ndarray, rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    dtype = x.dtype
    a, b = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a), theirs(b)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=tolerance, atol=tolerance)
    grad = rng.standard_normal(out.shape).astype(dtype)
    out.backward(cr.tensor(grad, dtype=dtype))
    ref.backward(torch.tensor(grad))
    assert a.grad.dtype == dtype
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("kwargs", "shape"), WINDOWS, ids=IDS)
def test_unfold_and_fold_match_torch(
    kwargs: dict[str, Any], shape: tuple[int, ...], dtype: Any, rng: np.random.Generator
) -> None:
    torch = pytest.importorskip("torch")
    unfold, theirs = nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs)
    assert repr(unfold) == repr(theirs)
    check_twin(unfold, theirs, rng.standard_normal(shape).astype(dtype), rng)
    columns = tuple(theirs(torch.zeros(shape, dtype=torch.float64)).shape)
    fold, theirs = nn.Fold(shape[-2:], **kwargs), torch.nn.Fold(shape[-2:], **kwargs)
    assert repr(fold) == repr(theirs)
    check_twin(fold, theirs, rng.standard_normal(columns).astype(dtype), rng)


@pytest.mark.parametrize(("kwargs", "shape"), WINDOWS, ids=IDS)
def test_gradcheck(
    kwargs: dict[str, Any], shape: tuple[int, ...], rng: np.random.Generator
) -> None:
    x = rng.standard_normal(shape)
    result = cr.gradcheck(nn.Unfold(**kwargs), [x])
    assert result.passed, str(result)
    columns = nn.Unfold(**kwargs)(cr.tensor(x)).shape
    result = cr.gradcheck(nn.Fold(shape[-2:], **kwargs), [rng.standard_normal(columns)])
    assert result.passed, str(result)


def test_fold_is_the_adjoint_of_unfold(rng: np.random.Generator) -> None:
    # <unfold(x), c> = <x, fold(c)> for every x and c.
    x = cr.tensor(rng.standard_normal((2, 3, 5, 6)), dtype=cr.float64)
    args = {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    cols = F.unfold(x, **args)
    c = cr.tensor(rng.standard_normal(cols.shape), dtype=cr.float64)
    left = float((cols * c).sum().numpy())
    right = float((x * F.fold(c, (5, 6), **args)).sum().numpy())
    assert left == pytest.approx(right, rel=1e-12)


def test_one_node_each_and_unfold_layout(rng: np.random.Generator) -> None:
    x = cr.tensor(
        np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3), requires_grad=True
    )
    cols = F.unfold(x, 2)
    assert cols.grad_fn.op is ops.Im2Col and cols.grad_fn.parents[0] is x
    assert F.fold(cols, 3, 2).grad_fn.op is ops.Col2Im
    # column 0 is the top-left window, channel 0 then channel 1, row by row
    np.testing.assert_array_equal(cols.numpy()[0, :, 0], [0, 1, 3, 4, 9, 10, 12, 13])


def test_list_arguments_keep_torchs_repr_after_a_model_file(tmp_path: Any) -> None:
    layer = nn.Fold([4, 5], [2, 3], stride=[1, 2])
    path = tmp_path / "fold.npz"
    cr.save(layer, path)
    assert (
        repr(cr.load(path))
        == repr(layer)
        == ("Fold(output_size=(4, 5), kernel_size=(2, 3), dilation=1, padding=0, stride=(1, 2))")
    )


def test_errors() -> None:
    with pytest.raises(ShapeError, match=r"unfold expects input \(N, C, H, W\)"):
        F.unfold(cr.tensor(np.ones((3, 4))), 2)
    with pytest.raises(ShapeError, match="kernel 5x5 is larger than the padded image 4x4"):
        nn.Unfold(5)(cr.tensor(np.ones((1, 1, 4, 4))))
    with pytest.raises(ShapeError, match=r"fold expects input \(N, C·kh·kw, L\)"):
        F.fold(cr.tensor(np.ones((1, 4, 4, 1))), 3, 2)
    with pytest.raises(ShapeError, match="divisible by the kernel's 4 positions"):
        F.fold(cr.tensor(np.ones((1, 6, 4))), 3, 2)
    with pytest.raises(ShapeError, match=r"has 5 blocks.*2 x 2 = 4"):
        nn.Fold(3, 2)(cr.tensor(np.ones((1, 4, 5))))
    with pytest.raises(ShapeError, match="must be positive"):
        F.fold(cr.tensor(np.ones((1, 4, 4))), 3, 2, stride=0)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        F.unfold(cr.tensor(np.ones((1, 1, 4, 4))), (1, 2, 3))
