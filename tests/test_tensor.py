"""The engine: the chain rule by hand, accumulation, graph freeing, depth, grad modes, dtypes."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ChainruleError, ShapeError


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_two_two_one_sigmoid_network_by_hand() -> None:
    """A 2-2-1 sigmoid network with MSE; every gradient written out with the chain rule."""
    x = np.array([0.5, -1.0])
    w1 = np.array([[0.1, 0.2], [-0.3, 0.4]])
    b1 = np.array([0.01, -0.02])
    w2 = np.array([[0.5, -0.6]])
    b2 = np.array([0.03])
    target = 1.0

    # By hand: forward ...
    z1 = [w1[j, 0] * x[0] + w1[j, 1] * x[1] + b1[j] for j in range(2)]
    a1 = [sigmoid(z) for z in z1]
    z2 = w2[0, 0] * a1[0] + w2[0, 1] * a1[1] + b2[0]
    a2 = sigmoid(z2)
    loss = (a2 - target) ** 2
    # ... and backward, one chain-rule factor at a time.
    dloss_da2 = 2 * (a2 - target)
    da2_dz2 = a2 * (1 - a2)
    delta2 = dloss_da2 * da2_dz2
    grad_w2 = [delta2 * a1[0], delta2 * a1[1]]
    grad_b2 = delta2
    delta1 = [delta2 * w2[0, j] * a1[j] * (1 - a1[j]) for j in range(2)]
    grad_w1 = [[delta1[j] * x[i] for i in range(2)] for j in range(2)]
    grad_b1 = delta1

    layer1 = nn.Linear(2, 2).double()
    layer2 = nn.Linear(2, 1).double()
    layer1.weight.numpy()[...], layer1.bias.numpy()[...] = w1, b1
    layer2.weight.numpy()[...], layer2.bias.numpy()[...] = w2, b2
    out = F.sigmoid(layer2(F.sigmoid(layer1(cr.tensor(x[None], dtype=np.float64)))))
    mse = F.mse_loss(out, np.array([[target]]))
    mse.backward()

    assert mse.item() == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(layer2.weight.grad, [grad_w2], rtol=1e-12)
    np.testing.assert_allclose(layer2.bias.grad, [grad_b2], rtol=1e-12)
    np.testing.assert_allclose(layer1.weight.grad, grad_w1, rtol=1e-12)
    np.testing.assert_allclose(layer1.bias.grad, grad_b1, rtol=1e-12)


def test_tensor_used_twice_gets_both_gradients() -> None:
    x = cr.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad[0] == pytest.approx(6.0)
    y = cr.tensor([2.0], requires_grad=True)
    shared = y * 3
    (shared + shared * shared).sum().backward()  # d/dy (3y + 9y²) = 3 + 18y
    assert y.grad[0] == pytest.approx(39.0)


def test_hundred_thousand_op_chain() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_gradients_accumulate_until_zeroed() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.zero_grad()
    assert w.grad is None


def test_non_scalar_backward_needs_gradient() -> None:
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(ShapeError, match="non-scalar"):
        y.backward()
    y.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


def test_graph_is_freed_after_backward() -> None:
    x = cr.tensor(np.ones(1000), requires_grad=True)
    hidden = x * 2
    probe = weakref.ref(hidden.grad_fn.ctx)  # the Context holding saved arrays
    loss = (hidden * hidden).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert probe() is None
    with pytest.raises(ChainruleError, match="already freed"):
        loss.backward()


def test_retain_graph_allows_second_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_no_grad_records_nothing() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = w * 2
    assert not y.requires_grad and y._node is None
    with pytest.raises(ChainruleError, match="does not require grad"):
        y.backward()

    @cr.no_grad()
    def double(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert not double(w).requires_grad
    assert cr.is_grad_enabled()


def test_detach_numpy_item_shape_dtype() -> None:
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.numpy() is x.numpy()
    assert x.shape == (1, 2) and x.dtype == np.float32
    assert (x.sum()).item() == 3.0


def test_float32_by_default_and_float64_on_request() -> None:
    assert cr.tensor([1.0]).dtype == np.float32
    assert cr.tensor(np.array([1.0])).dtype == np.float32
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert cr.tensor([1, 2]).dtype.kind == "i"
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * np.float64(3.0) + np.array([1.0, 2.0]) + 2 * np.array([1, 2])
    assert y.dtype == np.float32


def test_mixing_float_dtypes_promotes_as_pytorch() -> None:
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], dtype=np.float64, requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64  # each in its own dtype
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    assert (a * cr.tensor(2.0, dtype=np.float64)).dtype == np.float32  # a 0-d tensor does not


def test_integer_tensors_cannot_require_grad() -> None:
    with pytest.raises(ChainruleError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)


def test_retain_grad_on_intermediate() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h.relu() * 2).sum().backward()
    np.testing.assert_array_equal(h.grad, [2.0, 0.0])
    np.testing.assert_array_equal(x.grad, [6.0, 0.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_detect_anomaly_names_the_op() -> None:
    from chainrule.errors import NonFiniteError

    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(NonFiniteError, match="Log"):
        x.log()
    x.log()  # off again outside the block: no error


def test_gradcheck_catches_a_wrong_backward() -> None:
    from chainrule import ops
    from chainrule.tensor import apply

    class WrongSquare(ops.Function):
        """z = a²; planted error: dz/da = a (should be 2a)."""

        @staticmethod
        def forward(ctx: ops.Context, a: np.ndarray) -> np.ndarray:
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx: ops.Context, grad_out: np.ndarray) -> np.ndarray:
            return grad_out * ctx.saved[0]

    x = np.random.default_rng(0).standard_normal((3, 2))
    result = cr.gradcheck(lambda t: apply(WrongSquare, t), [x])
    assert not result.passed
    assert result.errors["input"] > 0.1
    assert "FAIL" in str(result)
    assert cr.gradcheck(lambda t: t * t, [x]).passed


# ---------------------------------------------------------------------------- issue 9's bugs
def test_gradients_are_never_aliased_between_leaves() -> None:
    """Add returns one array for both inputs; the engine must not adopt it twice."""
    a = cr.tensor([1.0], requires_grad=True)
    c = cr.tensor([3.0], requires_grad=True)
    (((c + a) + c) * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    np.testing.assert_array_equal(c.grad.numpy(), [4.0])
    a.grad += 1  # each .grad owns its memory
    np.testing.assert_array_equal(c.grad.numpy(), [4.0])


def test_retained_and_leaf_gradients_do_not_share_memory() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x + 0
    h.retain_grad()
    (h + h).sum().backward()
    h.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("dims", [(-1, 0, 1), (2, -3, -2)])
def test_transpose_with_negative_dims_has_the_right_gradient(dims: tuple[int, ...]) -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    assert cr.gradcheck(lambda t: t.transpose(*dims), [x]).passed
    assert cr.gradcheck(lambda t: t.permute(dims), [x]).passed


def test_permute_with_negative_dims_runs_backward() -> None:
    x = cr.tensor(np.ones((2, 3, 4, 5)), requires_grad=True)
    x.permute((-2, -1, 1, 0)).sum().backward()
    assert x.grad.shape == (2, 3, 4, 5)


def test_pow_gradients_at_zero_as_pytorch() -> None:
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])  # 0·0^-1 is not NaN
    e = cr.tensor([-1.0, 2.0], requires_grad=True)
    (cr.tensor([0.0, 0.0]) ** e).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), [-np.inf, 0.0])  # 0^e·ln 0 for e < 0


@pytest.mark.parametrize("method", ["sum", "mean", "amax", "amin", "logsumexp", "prod"])
@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_of_0d_tensors_accept_dim_0_and_minus_1(method: str, dim: int) -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = getattr(x, method)(dim)
    assert y.shape == ()
    y.backward()
    assert x.grad.item() == pytest.approx(1.0)


def test_max_of_0d_tensor_along_dim() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    values, indices = x.max(0)
    values.backward()
    assert x.grad.item() == 1.0 and indices.item() == 0


def test_equality_is_elementwise() -> None:
    pred = cr.tensor([1, 2, 3, 4])
    y = cr.tensor([1, 0, 3, 0])
    assert (pred == y).tolist() == [True, False, True, False]
    assert (pred != y).tolist() == [False, True, False, True]
    assert (pred == y).sum().item() == 2
    assert (pred == y).float().mean().item() == 0.5
    assert (pred == np.array([1, 2, 0, 0])).sum().item() == 2
    assert not (pred == None)  # noqa: E711 (PyTorch's answer: False)


def test_integer_tensors_promote_to_float32() -> None:
    i = cr.tensor([1, 2])
    assert i.dtype == np.int64
    assert (i + 0.5).dtype == np.float32
    assert (i / 2).dtype == np.float32
    assert i.exp().dtype == np.float32
    assert i.mean().dtype == np.float32
    assert (i * 2).dtype == np.int64 and (i // 2).dtype == np.int64
    assert (cr.tensor([True]) + 1).dtype == np.int64


# ---------------------------------------------------------------------------- PyTorch semantics
def test_transpose_swaps_two_dims() -> None:
    x = cr.zeros(2, 3, 4)
    assert x.transpose(1, 2).shape == (2, 4, 3)
    assert x.transpose(0, -1).shape == (4, 3, 2)
    assert cr.zeros(2, 3).transpose(0, 1).shape == (3, 2)
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)  # NumPy's permutation spelling, an alias


def test_max_along_a_dim_returns_values_and_indices() -> None:
    out = cr.tensor([[0.1, 0.9, 0.3], [0.8, 0.2, 0.8]], requires_grad=True)
    values, pred = out.max(1)
    assert pred.tolist() == [1, 0]  # the first of tied maxima
    assert out.max(dim=1).indices.tolist() == [1, 0]
    values.sum().backward()
    np.testing.assert_array_equal(out.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    out.grad = None
    out.amax(1).sum().backward()  # amax shares ties evenly
    np.testing.assert_array_equal(out.grad.numpy(), [[0, 1, 0], [0.5, 0, 0.5]])


def test_manual_sgd_under_no_grad_updates_in_place() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    before = w.numpy()
    (w * w).sum().backward()
    with cr.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    assert w.numpy() is before  # the same memory, changed in place
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    assert w.is_leaf and w.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_is_refused() -> None:
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ChainruleError, match="leaf tensor that requires grad"):
        w += 1
    with pytest.raises(ChainruleError, match="leaf tensor that requires grad"):
        w[0] = 3.0
    with pytest.raises(ChainruleError, match="view of a leaf"):
        w[:1].mul_(2)


def test_grad_is_a_tensor() -> None:
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    (w * 1).sum().backward()
    assert isinstance(w.grad, cr.Tensor)
    assert w.grad.norm().item() == pytest.approx(np.sqrt(2))
    w.grad.zero_()
    assert w.grad.abs().max().item() == 0.0


def test_setitem_with_a_mask_writes_in_place() -> None:
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]])
    memory = x.numpy()
    x[x < 0] = 0
    assert x.numpy() is memory
    np.testing.assert_array_equal(memory, [[1, 0], [0, 4]])
    x[:, 0] = cr.tensor([7.0, 8.0])
    np.testing.assert_array_equal(memory, [[7, 0], [8, 4]])


def test_mixed_int_and_list_index_follows_pytorch() -> None:
    x = cr.tensor(np.arange(24).reshape(2, 3, 4))
    assert x[0, :, [0, 1]].shape == (3, 2)  # NumPy gives (2, 3)
    assert x[0, :, [0, 1]].tolist() == [[0, 1], [4, 5], [8, 9]]
    assert x[[1, 0], :, 0].shape == (2, 3)
