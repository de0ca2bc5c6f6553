"""chainrule.autograd: grad, backward, custom Functions, gradcheck, hooks, as torch.autograd."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError


class Cube(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale=1.0):  # type: ignore[no-untyped-def]
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x**3 * scale

    @staticmethod
    def backward(ctx, grad_output):  # type: ignore[no-untyped-def]
        (x,) = ctx.saved_tensors
        return 3 * x * x * grad_output * ctx.scale, None


def test_custom_function_forward_and_backward() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.tolist() == [2.0, 16.0] and y.grad_fn.name() == "CubeBackward"
    (y * y).sum().backward()  # d/dx (2x³)² = 24x⁵
    np.testing.assert_allclose(x.grad.numpy(), [24.0, 768.0])
    assert cr.autograd.gradcheck(lambda t: Cube.apply(t, 0.5), (np.array([0.3, -1.2]),))


def test_custom_function_keeps_integer_inputs() -> None:
    class Pick(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, index):  # type: ignore[no-untyped-def]
            assert index.dtype == cr.int64  # not promoted to float
            ctx.save_for_backward(index)
            ctx.shape = x.shape
            return x[index]

        @staticmethod
        def backward(ctx, grad):  # type: ignore[no-untyped-def]
            (index,) = ctx.saved_tensors
            out = cr.zeros(ctx.shape)
            out.index_add_(0, index, grad)
            return out, None

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    Pick.apply(x, cr.tensor([2, 0, 2])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 2.0]


def test_custom_function_saved_input_changed_in_place_is_caught() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    with cr.no_grad():
        h.add_(1)
    with pytest.raises(ChainruleError, match="modified by an in-place operation"):
        y.sum().backward()


def test_gradcheck_raises_on_a_wrong_backward() -> None:
    class Wrong(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):  # type: ignore[no-untyped-def]
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):  # type: ignore[no-untyped-def]
            return grad * ctx.saved_tensors[0]  # planted: should be 2x

    with pytest.raises(ChainruleError, match="gradcheck failed"):
        cr.autograd.gradcheck(Wrong.apply, (np.array([0.5, 1.5]),))
    assert not cr.autograd.gradcheck(Wrong.apply, (np.array([0.5]),), raise_exception=False)


def test_grad_leaves_dot_grad_alone_and_reaches_intermediates() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    dy_dx, dy_dh = cr.autograd.grad(y, [x, h])
    assert dy_dx.tolist() == [18.0, 36.0] and dy_dh.tolist() == [6.0, 12.0]
    assert x.grad is None
    with pytest.raises(ChainruleError, match="not used"):
        cr.autograd.grad((x * 2).sum(), [x, cr.tensor([1.0], requires_grad=True)])


def test_backward_inputs_and_several_roots() -> None:
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None
    cr.autograd.backward([(a * 3).sum(), (b * 5).sum()])
    assert a.grad.tolist() == [5.0] and b.grad.tolist() == [5.0]


def test_hooks_change_gradients_and_can_be_removed() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    handle = h.register_hook(lambda g: g * 10)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [20.0, 20.0] and seen == [[20.0, 20.0]]
    handle.remove()
    x.grad = None
    h.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_hooks_receive_read_only_gradients() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g.add_(1))
    with pytest.raises(ChainruleError, match="read-only"):
        (x * 2).sum().backward()


def test_post_accumulate_grad_hooks_see_the_accumulated_grad() -> None:
    """As PyTorch's: called with the tensor once its .grad holds this backward's sum (also when
    .grad already held a gradient); removable; for leaves only."""
    torch = pytest.importorskip("torch")
    seen: dict[str, list] = {"cr": [], "torch": []}
    for lib, key in ((cr, "cr"), (torch, "torch")):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0], requires_grad=True)
        handle = a.register_post_accumulate_grad_hook(
            lambda t, key=key: seen[key].append(t.grad.tolist())
        )
        (a * a * b).sum().backward()
        (a * 3).sum().backward()
        handle.remove()
        (a * 5).sum().backward()
        with pytest.raises((RuntimeError, ChainruleError)):
            (a * 2).register_post_accumulate_grad_hook(lambda t: None)
    assert seen["cr"] == seen["torch"] == [[6.0, 12.0], [9.0, 15.0]]


def test_queue_callback_runs_once_every_gradient_is_in() -> None:
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    order: list[str] = []

    def ready(t: cr.Tensor) -> None:
        order.append("hook")
        if order.count("hook") == 1:
            cr.graph.queue_callback(lambda: order.append(f"done {a.grad.item()} {b.grad.item()}"))

    a.register_post_accumulate_grad_hook(ready)
    b.register_post_accumulate_grad_hook(ready)
    (a * b).sum().backward()
    assert order == ["hook", "hook", "done 2.0 1.0"]
    with pytest.raises(ChainruleError, match="during backward"):
        cr.graph.queue_callback(lambda: None)


def test_grad_modes() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with cr.inference_mode():
        assert not (x * 2).requires_grad

    @cr.no_grad
    def bare(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    @cr.set_grad_enabled(False)
    def called(t: cr.Tensor) -> cr.Tensor:
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad
    assert cr.is_grad_enabled()


def test_gradcheck_of_a_non_contiguous_input_leaves_it_untouched() -> None:
    base = np.random.default_rng(0).random((2, 6, 4))
    x = base[:, :3]  # strided: a flat view of it would be a copy
    before = x.copy()
    assert cr.gradcheck(lambda a: a * 2, [x]).passed
    np.testing.assert_array_equal(x, before)
