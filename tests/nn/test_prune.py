"""Pruning (nn.utils.prune) side by side with PyTorch: the masks of the deterministic methods,
the reparametrization (weight_orig, weight_mask, the forward pre-hook), outputs and
gradients, repeated pruning and remove."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import prune


def _pair(torch: Any, make: Any) -> tuple[Any, Any]:
    torch.manual_seed(0)
    theirs, mine = make(torch), make(cr)
    mine.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, mine


def _conv(lib: Any) -> Any:
    return lib.nn.Conv2d(3, 4, 3)


def _same_masks(theirs: Any, mine: Any) -> None:
    t_masks = {k: v.numpy() for k, v in theirs.named_buffers() if k.endswith("_mask")}
    m_masks = {k: v.numpy() for k, v in mine.named_buffers() if k.endswith("_mask")}
    assert list(m_masks) == list(t_masks)
    for key, mask in t_masks.items():
        np.testing.assert_array_equal(m_masks[key], mask)


def _same_forward_backward(theirs: Any, mine: Any, shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    xt, xm = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    yt, ym = theirs(xt), mine(xm)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    (yt * yt).sum().backward()
    (ym * ym).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    mine_params = dict(mine.named_parameters())
    assert list(mine_params) == [k for k, _ in theirs.named_parameters()]
    for key, p in theirs.named_parameters():
        np.testing.assert_allclose(
            mine_params[key].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5
        )


def _steps(lib: Any, module: Any) -> None:
    p = lib.nn.utils.prune
    p.l1_unstructured(module, "weight", amount=0.3)
    p.ln_structured(module, "weight", amount=1, n=2, dim=0)
    p.l1_unstructured(module, "bias", amount=2)
    p.ln_structured(module, "weight", amount=0.5, n=1, dim=1)
    p.ln_structured(module, "weight", amount=0.4, n=float("inf"), dim=-1)


def test_repeated_l1_and_ln_pruning_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.nn.utils.prune")  # not imported by torch.nn.utils

    theirs, mine = _pair(torch, _conv)
    _steps(torch, theirs)
    _steps(cr, mine)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert list(mine.state_dict()) == ["weight_orig", "bias_orig", "weight_mask", "bias_mask"]
    _same_masks(theirs, mine)
    assert prune.is_pruned(mine) and isinstance(mine.weight_orig, nn.Parameter)
    hooks = {hook._tensor_name: hook for hook in mine._forward_pre_hooks.values()}
    assert isinstance(hooks["weight"], prune.PruningContainer) and len(hooks["weight"]) == 4
    assert isinstance(hooks["bias"], prune.L1Unstructured)
    _same_forward_backward(theirs, mine, (2, 3, 5, 5))
    torch.nn.utils.prune.remove(theirs, "weight")
    prune.remove(mine, "weight")
    assert (
        list(mine.state_dict()) == list(theirs.state_dict()) == ["bias_orig", "weight", "bias_mask"]
    )
    np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy())
    assert isinstance(mine.weight, nn.Parameter)
    with pytest.raises(ValueError, match="has to be pruned before"):
        prune.remove(mine, "weight")


def test_global_unstructured_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.nn.utils.prune")  # not imported by torch.nn.utils

    def make(lib: Any) -> Any:
        return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.ReLU(), lib.nn.Linear(6, 3))

    theirs, mine = _pair(torch, make)
    for lib, model in ((torch, theirs), (cr, mine)):
        lib.nn.utils.prune.l1_unstructured(model[0], "weight", amount=5)
        lib.nn.utils.prune.global_unstructured(
            [(model[0], "weight"), (model[2], "weight"), (model[2], "bias")],
            pruning_method=lib.nn.utils.prune.L1Unstructured,
            amount=0.4,
        )
    _same_masks(theirs, mine)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    _same_forward_backward(theirs, mine, (5, 4))


def test_importance_scores_choose_what_is_pruned() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.nn.utils.prune")  # not imported by torch.nn.utils

    theirs, mine = _pair(torch, lambda lib: lib.nn.Linear(4, 3))
    scores = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    torch.nn.utils.prune.l1_unstructured(
        theirs, "weight", amount=0.5, importance_scores=torch.tensor(scores)
    )
    prune.l1_unstructured(mine, "weight", amount=0.5, importance_scores=cr.tensor(scores))
    torch.nn.utils.prune.ln_structured(
        theirs, "weight", amount=1, n=2, dim=0, importance_scores=torch.tensor(scores)
    )
    prune.ln_structured(mine, "weight", amount=1, n=2, dim=0, importance_scores=cr.tensor(scores))
    _same_masks(theirs, mine)
    _same_forward_backward(theirs, mine, (2, 4))


@pytest.mark.parametrize(("amount", "expected"), [(0.3, 11), (5, 5), (0.0, 0), (1.0, 36)])
def test_random_pruning_prunes_the_amount(amount: float, expected: int) -> None:
    layer = nn.Linear(4, 9)
    prune.random_unstructured(layer, "weight", amount=amount)
    assert int((layer.weight_mask.numpy() == 0).sum()) == expected  # round(0.3 * 36) = 11
    np.testing.assert_array_equal(
        layer.weight.numpy(), layer.weight_orig.numpy() * layer.weight_mask.numpy()
    )


def test_random_structured_prunes_whole_channels() -> None:
    layer = nn.Conv2d(2, 6, 3)
    prune.random_structured(layer, "weight", amount=0.5, dim=0)
    per_channel = layer.weight_mask.numpy().reshape(6, -1)
    assert set(per_channel.min(axis=1)) == {0.0, 1.0}
    assert (per_channel.max(axis=1) == per_channel.min(axis=1)).all()
    assert int((per_channel[:, 0] == 0).sum()) == 3


def test_identity_and_custom_from_mask() -> None:
    layer = nn.Linear(3, 2)
    prune.identity(layer, "bias")
    np.testing.assert_array_equal(layer.bias_mask.numpy(), [1, 1])
    mask = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32)
    prune.custom_from_mask(layer, "weight", mask)
    out = layer(cr.ones(1, 3))
    np.testing.assert_allclose(
        out.numpy(), (layer.weight_orig.numpy() * mask).sum(axis=1)[None] + layer.bias.numpy()
    )


def test_pruning_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="float in the range"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5)
    with pytest.raises(TypeError, match="Invalid type for amount"):
        prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="half")
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="should be smaller than the number"):
        prune.l1_unstructured(layer, "weight", amount=5)
    assert "weight" in layer._parameters and not prune.is_pruned(layer)  # rolled back
    with pytest.raises(ValueError, match="multidimensional"):
        prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="unstructured"):
        prune.global_unstructured(
            [(nn.Linear(2, 2), "weight")], prune.LnStructured, amount=1, n=1, dim=0
        )


def test_gradcheck_through_a_pruned_weight() -> None:
    layer = nn.Linear(4, 3)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    layer.double()
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)
    result = cr.gradcheck(
        lambda x, w: nn.functional.linear(x, w * layer.weight_mask, layer.bias),
        [x, layer.weight_orig.detach()],
    )
    assert result, result
    # the hook recomputes weight = mask * weight_orig before each forward
    y = layer(x)
    y.sum().backward()
    np.testing.assert_array_equal(
        layer.weight_orig.grad.numpy() == 0, layer.weight_mask.numpy() == 0
    )
