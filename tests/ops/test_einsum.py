"""Einsum on arrays: forward against np.einsum, gradients against central finite differences and
torch.einsum with autograd, and the contract of ops/base.py (None for unneeded gradients, dtypes
kept, grad_out never written)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from chainrule.ops.base import Context
from chainrule.ops.einsum import _LETTERS, Einsum

try:
    import torch
except ImportError:  # pragma: no cover - torch is optional
    torch = None

TOLERANCE = 1e-6
STEP = 1e-4

# (equation, operand shapes). Every family of the brief: explicit and implicit, spaces, '...'
# with broadcasting, summed-out letters, repeated letters, one to four operands, 0-d, size 0.
CASES: list[tuple[str, tuple[tuple[int, ...], ...]]] = [
    # two operands, explicit and implicit
    ("ij,jk->ik", ((3, 4), (4, 5))),
    ("ij,jk", ((3, 4), (4, 5))),
    ("i,i->", ((5,), (5,))),
    ("i,i", ((5,), (5,))),
    ("i,j->ij", ((3,), (4,))),
    ("i,j", ((3,), (4,))),
    ("ij,ij->ij", ((3, 4), (3, 4))),
    ("ij,ij->", ((3, 4), (3, 4))),
    ("bij,bjk->bik", ((2, 3, 4), (2, 4, 3))),
    ("bhqd,bhkd->bhqk", ((2, 2, 3, 4), (2, 2, 5, 4))),
    ("ba,ca", ((2, 3), (4, 3))),  # implicit output sorted: 'bc'
    ("aB,c", ((2, 3), (4,))),  # implicit output 'Bac': upper case sorts first
    ("ij,jk->ki", ((3, 4), (4, 2))),
    (" i j , j k -> i k ", ((2, 3), (3, 4))),
    # one operand
    ("ij->ji", ((3, 4),)),
    ("ij->", ((3, 4),)),
    ("ij->j", ((3, 4),)),
    ("ij->ij", ((3, 4),)),
    ("ji", ((3, 4),)),  # implicit 'ij': a transpose
    ("ijk->kij", ((2, 3, 4),)),
    ("...ij->...ji", ((2, 3, 4, 2),)),
    # repeated letters: traces and diagonals
    ("ii->", ((4, 4),)),
    ("ii", ((4, 4),)),
    ("ii->i", ((4, 4),)),
    ("iij->j", ((3, 3, 2),)),
    ("bii->bi", ((2, 3, 3),)),
    ("bii->ib", ((2, 3, 3),)),
    ("iii->i", ((3, 3, 3),)),
    ("ijji->ij", ((2, 3, 3, 2),)),
    ("ii,i->i", ((3, 3), (3,))),
    ("ij,jj->ij", ((2, 3), (3, 3))),
    ("ij,jk,ki->", ((2, 3), (3, 4), (4, 2))),
    ("...ii->...i", ((2, 3, 3),)),
    ("i...i->...", ((3, 2, 3),)),
    # letters summed out in one operand: the gradient broadcasts back along them
    ("ij,k->i", ((3, 4), (5,))),
    ("ijk,j->i", ((2, 3, 4), (3,))),
    ("ab,cd->ad", ((2, 3), (4, 5))),
    ("ij,jk->", ((2, 3), (3, 4))),
    # ellipsis, broadcasting between operands
    ("...ij,...jk->...ik", ((2, 3, 4), (2, 4, 5))),
    ("...ij,...jk->...ik", ((2, 1, 3, 4), (3, 4, 5))),  # different ndims and a size-1 dim
    ("...ij,...jk->...ik", ((2, 1, 3, 4), (1, 2, 4, 5))),
    ("...i,...i->...", ((1, 3), (4, 3))),
    ("i...,i...->...", ((3, 2, 1), (3, 4))),
    ("...,...->...", ((), (2, 3))),
    ("...i", ((2, 3, 4),)),  # implicit: '...' first, then the letters
    ("i...", ((3, 2, 4),)),  # implicit '...i': the 'i' dim moves last
    ("...ij,j", ((2, 3, 4), (4,))),
    ("ij...,jk...->ik...", ((2, 3, 2), (3, 4, 1))),
    ("ij->...ij", ((2, 3),)),  # '...' only in the output: no dims
    ("...ij->ij", ((2, 3, 4),)),  # output without '...': summed, as torch.einsum (NumPy refuses)
    ("...ij,...jk->ik", ((2, 3, 4), (4, 5))),  # likewise
    # size-1 letters broadcast like '...' dims (NumPy and torch both accept this)
    ("i,i->i", ((1,), (3,))),
    ("ij,jk->ik", ((2, 1), (3, 4))),
    ("ii,i->i", ((1, 1), (3,))),
    # scalars
    (",->", ((), ())),
    (",i->i", ((), (4,))),
    ("i,->", ((3,), ())),
    ("->", ((),)),
    ("", ((),)),
    # three and four operands
    ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
    ("ij,jk,kl,lm->im", ((2, 3), (3, 2), (2, 4), (4, 2))),
    ("i,i,i->", ((4,), (4,), (4,))),
    ("bi,bj,bk->bijk", ((2, 2), (2, 3), (2, 2))),
    ("abc,ad,be,cf->def", ((2, 3, 2), (2, 3), (3, 2), (2, 2))),
    ("bn,anm,bm->ba", ((2, 3), (4, 3, 2), (2, 2))),
    ("...i,ij,...j->...", ((2, 3), (3, 4), (1, 4))),
    # size-0 dims
    ("ij,jk->ik", ((0, 3), (3, 4))),
    ("ij,jk->ik", ((2, 0), (0, 4))),
    ("i,i->", ((0,), (0,))),
    ("ii->i", ((0, 0),)),
    ("...i,...i->...", ((0, 3), (1, 3))),
    ("ij,jk,kl->il", ((0, 3), (3, 4), (4, 5))),
]
NUMPY_REFUSES = {"...ij->ij", "...ij,...jk->ik"}  # NumPy wants '...' in such an output
IDS = [f"{eq.replace(' ', '_') or 'empty'}:{'x'.join(map(str, shapes))}" for eq, shapes in CASES]


def make(shapes: tuple[tuple[int, ...], ...], seed: int, dtype: Any = np.float64) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def run(
    equation: str, arrays: list[Any], grad: Any = None, needs: tuple[bool, ...] | None = None
) -> tuple[Any, Any, tuple[Any, ...]]:
    """Einsum's forward then backward, with a stand-in Context; returns (out, grad_out, grads)."""
    ctx = Context(needs_input_grad=needs or (True,) * len(arrays))
    out = Einsum.forward(ctx, *arrays, equation=equation)
    if grad is None:
        grad = np.random.default_rng(99).standard_normal(out.shape).astype(out.dtype)
    grads = Einsum.backward(ctx, grad)
    return out, grad, tuple(grads)


def reference(equation: str, arrays: list[Any]) -> Any:
    """The value the op must compute: np.einsum, or our own forward where NumPy refuses."""
    if equation in NUMPY_REFUSES:
        return Einsum.forward(Context((False,) * len(arrays)), *arrays, equation=equation)
    return np.einsum(equation, *arrays)


def relative_error(a: Any, b: Any) -> float:
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-12)
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b))) / scale


def finite_differences(equation: str, arrays: list[Any], k: int, grad: Any) -> Any:
    """d/d arrays[k] of sum(grad * einsum(arrays)), by central differences."""
    x = arrays[k].copy()
    probe = [*arrays[:k], x, *arrays[k + 1 :]]
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + STEP
        up = np.sum(grad * reference(equation, probe))
        x[i] = saved - STEP
        down = np.sum(grad * reference(equation, probe))
        x[i] = saved
        out[i] = (up - down) / (2 * STEP)
    return out


@pytest.mark.parametrize(("equation", "shapes"), CASES, ids=IDS)
def test_forward_matches_numpy(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    arrays = make(shapes, 0)
    out, _, _ = run(equation, arrays)
    assert isinstance(out, np.ndarray)
    if equation in NUMPY_REFUSES:
        with pytest.raises(ValueError):
            np.einsum(equation, *arrays)
        expected = torch.einsum(equation, *map(torch.tensor, arrays)).numpy() if torch else None
    else:
        expected = np.einsum(equation, *arrays)
    if expected is not None:
        assert out.shape == np.shape(expected)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("equation", "shapes"), CASES, ids=IDS)
def test_gradients_match_finite_differences(
    equation: str, shapes: tuple[tuple[int, ...], ...]
) -> None:
    arrays = make(shapes, 1)
    _, grad, grads = run(equation, arrays)
    assert len(grads) == len(arrays)
    for k, (a, g) in enumerate(zip(arrays, grads, strict=True)):
        assert g.shape == a.shape, f"operand {k}"
        assert g.dtype == a.dtype, f"operand {k}"
        error = relative_error(g, finite_differences(equation, arrays, k, grad))
        assert error <= TOLERANCE, f"operand {k}: relative error {error:.2e}"


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize(("equation", "shapes"), CASES, ids=IDS)
def test_matches_torch(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    arrays = make(shapes, 2)
    out, grad, grads = run(equation, arrays)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = torch.einsum(equation, *theirs)
    expected.backward(torch.tensor(grad))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for k, (g, t) in enumerate(zip(grads, theirs, strict=True)):
        want = np.zeros_like(arrays[k]) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12, err_msg=f"operand {k}")


def random_equation(rng: np.random.Generator) -> tuple[str, list[tuple[int, ...]]]:
    """A valid equation over 1-3 operands with repeats, summed letters and maybe '...'."""
    size = {c: int(rng.integers(1, 4)) for c in "abcdeA"}
    ellipsis = tuple(int(n) for n in rng.integers(1, 3, size=int(rng.integers(0, 3))))
    use_ellipsis = bool(rng.integers(0, 2))
    terms, shapes = [], []
    for _ in range(int(rng.integers(1, 4))):
        letters = list(rng.choice(list(size), size=int(rng.integers(0, 4))))
        shape = [size[c] for c in letters]
        if use_ellipsis and rng.integers(0, 2):
            at = int(rng.integers(0, len(letters) + 1))
            mine = ellipsis[int(rng.integers(0, len(ellipsis) + 1)) :]  # fewer dims broadcast
            mine = tuple(1 if rng.integers(0, 4) == 0 else n for n in mine)  # size-1 dims too
            letters.insert(at, "...")
            shape[at:at] = mine
        terms.append("".join(letters))
        shapes.append(tuple(shape))
    equation = ",".join(terms)
    if rng.integers(0, 3):  # explicit output: some of the letters, shuffled
        used = sorted(set(equation) - {".", ","})
        output = [c for c in used if rng.integers(0, 2)]
        if "..." in equation:
            output.append("...")
        equation += "->" + "".join(rng.permutation(output)) if output else "->"
    return equation, shapes


@pytest.mark.parametrize("seed", range(40))
def test_random_equations(seed: int) -> None:
    rng = np.random.default_rng(seed)
    equation, shapes = random_equation(rng)
    arrays = [rng.standard_normal(s) for s in shapes]
    out, grad, grads = run(equation, arrays)
    np.testing.assert_allclose(out, np.einsum(equation, *arrays), rtol=1e-12, atol=1e-12)
    for k, g in enumerate(grads):
        error = relative_error(g, finite_differences(equation, arrays, k, grad))
        assert error <= TOLERANCE, f"{equation} {shapes} operand {k}: relative error {error:.2e}"


# ------------------------------------------------------------------------- the op contract
@pytest.mark.parametrize("equation", ["ii->i", "ij->ji", "ij->ij", "ij", "...->...", "ij,->ij"])
def test_forward_returns_a_fresh_array(equation: str) -> None:
    a = np.arange(9.0).reshape(3, 3)
    arrays = [a, np.asarray(2.0)] if "," in equation else [a]
    before = [x.copy() for x in arrays]
    out = Einsum.forward(Context((True,) * len(arrays)), *arrays, equation=equation)
    assert not any(np.shares_memory(out, x) for x in arrays)
    out[...] = -1.0
    for x, x0 in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize(
    ("equation", "shapes", "needs"),
    [
        ("ij,jk->ik", ((3, 4), (4, 5)), (False, True)),
        ("ij,jk->ik", ((3, 4), (4, 5)), (True, False)),
        ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2)), (False, True, False)),
        ("ii,i->", ((3, 3), (3,)), (True, False)),
        ("ij->ji", ((3, 4),), (False,)),
    ],
)
def test_unneeded_gradients_are_none(
    equation: str, shapes: tuple[tuple[int, ...], ...], needs: tuple[bool, ...]
) -> None:
    arrays = make(shapes, 3)
    ctx = Context(needs_input_grad=needs)
    out = Einsum.forward(ctx, *arrays, equation=equation)
    # Only arrays are saved, and only those that some needed gradient uses.
    assert all(isinstance(s, np.ndarray) for s in ctx.saved)
    assert len(ctx.saved) == sum(any(needs[:j] + needs[j + 1 :]) for j in range(len(needs)))
    grad = np.ones_like(out)
    grads = Einsum.backward(ctx, grad)
    _, _, full = run(equation, arrays, grad)
    for k, need in enumerate(needs):
        if need:
            np.testing.assert_allclose(grads[k], full[k])
        else:
            assert grads[k] is None


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk->ik", ((3, 4), (4, 5))),
        ("bii->bi", ((2, 3, 3),)),
        ("ij,k->i", ((3, 4), (5,))),
        ("...ij,...jk->...ik", ((2, 1, 3, 4), (3, 4, 5))),
        ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
        (",i->i", ((), (4,))),
    ],
)
def test_float32_stays_float32(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    arrays = make(shapes, 4, np.float32)
    out, _, grads = run(equation, arrays)
    assert out.dtype == np.float32
    for a, g in zip(arrays, grads, strict=True):
        assert g.dtype == np.float32
        assert g.shape == a.shape
    # A float64 grad_out still gives gradients in each operand's dtype.
    _, _, grads = run(equation, arrays, np.ones(out.shape))
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk->ik", ((3, 4), (4, 5))),
        ("ij->ji", ((3, 4),)),
        ("ij->ij", ((3, 4),)),
        ("ii->i", ((3, 3),)),
        ("bii->bi", ((2, 3, 3),)),
        ("ij,k->i", ((3, 4), (5,))),
        ("...,...->...", ((), (2, 3))),
        ("->", ((),)),
    ],
)
def test_backward_leaves_grad_out_alone(equation: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    arrays = make(shapes, 5)
    ctx = Context((True,) * len(arrays))
    out = Einsum.forward(ctx, *arrays, equation=equation)
    grad = np.random.default_rng(6).standard_normal(out.shape)
    grad.flags.writeable = False
    before = grad.copy()
    grads = Einsum.backward(ctx, grad)
    np.testing.assert_array_equal(grad, before)
    for k, g in enumerate(grads):
        assert g.shape == arrays[k].shape
        np.testing.assert_allclose(g, finite_differences(equation, arrays, k, before), atol=1e-8)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("equation", "shapes", "message"),
    [
        ("ij,jk->ik", ((3, 4),), "names 2 operand"),
        ("ij->ij", ((3, 4), (4,)), "names 1 operand"),
        ("ij,jk->ik", ((3, 4), (5, 6)), "subscript 'j' has size 5"),
        ("i,i->i", ((3,), (4,)), "subscript 'i' has size 4"),
        ("ii->i", ((3, 4),), "repeated in operand 0 with different sizes"),
        ("ij->k", ((3, 4),), "output subscript 'k' does not appear"),
        ("ij->ii", ((3, 4),), "appears more than once"),
        ("ij->i,j", ((3, 4),), "single term"),
        ("ij", ((3, 4, 5),), "has 3 dim(s) but its subscripts 'ij' name 2"),
        ("ijk", ((3, 4),), "has 2 dim(s)"),
        ("i.j", ((3, 4),), "'.' that is not part of '...'"),
        ("i......", ((3, 4),), "more than one '...'"),
        ("i1->i", ((3, 4),), "invalid subscript '1'"),
        ("ij->j->i", ((3, 4),), "'->'"),
        ("ij-j", ((3, 4),), "'->'"),
        ("i>j", ((3, 4),), "'->'"),
        ("...i,...i->...i", ((2, 3), (4, 3)), "do not broadcast"),
        ("ij->...i...", ((3, 4),), "more than one '...'"),
    ],
)
def test_malformed_equations(
    equation: str, shapes: tuple[tuple[int, ...], ...], message: str
) -> None:
    arrays = make(shapes, 7)
    with pytest.raises(ValueError, match=re.escape(repr(equation))) as info:
        Einsum.forward(Context((True,) * len(arrays)), *arrays, equation=equation)
    assert message in str(info.value)


def test_too_many_subscripts() -> None:
    # 51 letters and two ellipsis dims would need 53 distinct subscripts.
    letters = "".join(c for c in _LETTERS if c != "z")
    a = np.ones((1,) * 53)
    with pytest.raises(ValueError, match="more than 52 distinct subscripts"):
        Einsum.forward(Context((True,)), a, equation=f"{letters}...->...")
