"""In-place ops: recorded in grad mode, refused where backward needs the old value (version
counters), and seen through views, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError


def test_residual_add_in_place_is_recorded() -> None:
    """``out += identity`` in a residual block: the in-place add joins the graph."""
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    out = x * 2
    out += x
    out.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 3.0])


def test_in_place_multiply_keeps_the_old_value_it_needs() -> None:
    """y *= w saves y's old value for dL/dw: it must be the value before the write."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = x + 1  # [2, 3]
    y *= w
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_changing_a_saved_tensor_makes_backward_fail_clearly() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * h  # saves h
    h += 1
    with pytest.raises(ChainruleError, match="modified by an in-place operation"):
        y.sum().backward()
    assert x.grad is None  # nothing was half-accumulated


def test_changing_a_saved_output_makes_backward_fail() -> None:
    x = cr.tensor([0.5], requires_grad=True)
    y = x.sigmoid()  # saves its output
    with cr.no_grad():
        y.mul_(2)
    with pytest.raises(ChainruleError, match="modified by an in-place operation"):
        y.sum().backward()


def test_changing_a_tensor_backward_does_not_need_is_fine() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x + 1
    y = h + 3  # Add saves nothing
    with cr.no_grad():
        h.zero_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_optimiser_step_bumps_the_version() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()  # saves w
    loss.backward(retain_graph=True)
    cr.optim.SGD([w], lr=0.1).step()
    with pytest.raises(ChainruleError, match="modified by an in-place operation"):
        loss.backward()


def test_in_place_through_a_view_updates_the_base_history() -> None:
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = cr.tensor([5.0, 6.0], requires_grad=True)
    y = x * 1
    row = y[0]
    row.mul_(w)  # y[0] *= w, through the view
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[5.0, 6.0], [1.0, 1.0]])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def test_a_view_made_before_its_base_changed_follows_the_new_history() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    head = y[:2]  # a view of y's memory
    y.mul_(10)  # recorded on y; head's old history is stale
    head.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 10.0, 0.0])


def test_setitem_in_grad_mode_routes_gradients() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor([7.0], requires_grad=True)
    y = x * 2
    y[1] = v[0] * 3
    (y * cr.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 200.0])
    np.testing.assert_array_equal(v.grad.numpy(), [30.0])


def test_views_share_memory_and_versions() -> None:
    x = cr.zeros(2, 3)
    flat = x.view(-1)
    flat[4] = 5.0
    assert x[1, 1].item() == 5.0
    x.t()[0].fill_(1.0)
    assert x[:, 0].tolist() == [1.0, 1.0]
    d = x.detach()
    d.add_(1)
    assert x[0, 1].item() == 1.0


def test_detach_shares_the_version_counter_data_does_not() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * h
    h.detach().add_(1)  # tracked, as in PyTorch
    with pytest.raises(ChainruleError, match="modified by an in-place"):
        y.sum().backward()
    h2 = x * 1
    y2 = h2 * h2
    h2.data.add_(1)  # .data is PyTorch's untracked escape hatch
    y2.sum().backward()


def test_in_place_ops_keep_dtype_and_refuse_bad_casts() -> None:
    i = cr.tensor([1, 2, 3])
    i += 2
    assert i.dtype == np.int64 and i.tolist() == [3, 4, 5]
    with pytest.raises(ChainruleError, match=r"can.t be cast|Cannot cast"):
        i /= 2
    f = cr.tensor([1.0, 2.0])
    f *= cr.tensor([2.0, 2.0], dtype=np.float64)
    assert f.dtype == np.float32
    with pytest.raises(ChainruleError, match=r"broadcast|shape"):
        f += cr.ones(3, 2)


def test_in_place_on_expanded_tensor_is_refused_clearly() -> None:
    x = cr.tensor([1.0, 2.0]).expand(3, 2)
    with pytest.raises(ChainruleError, match="read-only"):
        x.add_(1)


def test_unary_in_place_twins() -> None:
    x = cr.tensor([-1.0, 0.5], requires_grad=True)
    y = x * 1
    y.relu_().exp_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, np.exp(0.5)], rtol=1e-6)
    z = cr.tensor([0.25, 4.0])
    z.sqrt_().neg_()
    assert z.tolist() == [-0.5, -2.0]


def test_random_fills_in_place() -> None:
    cr.manual_seed(1)
    x = cr.zeros(1000)
    memory = x.numpy()
    x.normal_(2.0, 0.5)
    assert x.numpy() is memory and abs(x.mean().item() - 2.0) < 0.1
    x.uniform_(-1, 1)
    assert -1 <= x.min().item() and x.max().item() < 1
    x.bernoulli_(0.25)
    assert set(np.unique(x.numpy())) <= {0.0, 1.0}
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(ChainruleError, match="leaf tensor that requires grad"):
        w.normal_()
    with cr.no_grad():
        w.uniform_()  # an initialiser, as nn.init does
    assert w.requires_grad and w.is_leaf


def test_legacy_add_with_alpha_first() -> None:
    p = cr.ones(2)
    p.add_(-0.5, cr.tensor([2.0, 4.0]))  # PyTorch's old p.data.add_(-lr, grad)
    assert p.tolist() == [0.0, -1.0]
    p.sub_(cr.tensor([1.0, 1.0]), alpha=2)
    assert p.tolist() == [-2.0, -3.0]


@pytest.mark.parametrize("reduce", ["max", "min", "median", "mode", "kthvalue"])
def test_values_of_a_dim_reduction_are_a_tensor_of_their_own(reduce: str) -> None:
    """max(dim) and its kin return new tensors, as in PyTorch: an in-place op through a view
    of the values goes through the values' own history, so their retained .grad sees it."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 4))
    grads = []
    for lib in (torch, cr):
        x = lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True)
        args = (2, 0) if reduce == "kthvalue" else (0,)
        values = getattr(x, reduce)(*args)[0]
        view = values.unsqueeze(0)
        view.add_(-2.0)
        values.retain_grad()
        ((view + view).sum() + (values * 3).sum()).backward()
        grads.append((np.asarray(values.grad.tolist()), np.asarray(x.grad.tolist())))
    for mine, theirs in zip(grads[1], grads[0], strict=True):
        np.testing.assert_allclose(mine, theirs)
