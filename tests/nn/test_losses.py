"""Every loss against PyTorch: values and input gradients for every reduction in float64 and
float32, float64 gradcheck (random projection), the loss modules' state_dicts, stability at
logits of ±1e4, ignore_index, label smoothing with weights, and the error messages."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ConfigError, DataError, LabelError, ShapeError

torch = pytest.importorskip("torch")

N, C = 6, 4


# ---------------------------------------------------------------------------- the harness
@dataclass
class LossCase:
    """fn(lib, reduction, *inputs) in PyTorch's spelling, run with lib = torch or chainrule.

    make(rng) gives the inputs: floating arrays are differentiable inputs unless their index is
    in ``const``; integer arrays (class labels, ±1 targets) are constants."""

    name: str
    fn: Callable[..., Any]
    make: Callable[[np.random.Generator], list[np.ndarray]]
    reductions: tuple[Any, ...] = ("mean", "sum", "none")
    const: tuple[int, ...] = ()
    gradcheck: bool = True

    def differentiable(self, arrays: list[np.ndarray]) -> list[int]:
        return [i for i, a in enumerate(arrays) if a.dtype.kind == "f" and i not in self.const]


def nnf(lib: Any) -> Any:
    return lib.nn.functional


def _to(lib: Any, a: np.ndarray, dtype: Any, grad: bool) -> Any:
    if a.dtype.kind != "f":
        return lib.tensor(a.astype(np.int64))
    if lib is torch:
        return torch.tensor(a, dtype=dtype, requires_grad=grad)
    return cr.tensor(a, requires_grad=grad, dtype=dtype)


def _run(case: LossCase, lib: Any, reduction: Any, arrays: list[np.ndarray], float64: bool):
    dtype = (
        (torch.float64 if float64 else torch.float32)
        if lib is torch
        else (cr.float64 if float64 else cr.float32)
    )
    diff = case.differentiable(arrays)
    inputs = [_to(lib, a, dtype, i in diff) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = case.fn(lib, reduction, *inputs)
    return out, [inputs[i] for i in diff]


def _numpy(t: Any) -> np.ndarray:
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


# Data generators. Every case keeps its inputs off the losses' kinks (|d| = β, d = 0, margins).
def logits(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.standard_normal(shape) * 2


def labels(*shape: int, ignore: int | None = None) -> Callable[[np.random.Generator], np.ndarray]:
    def make(rng: np.random.Generator) -> np.ndarray:
        y = rng.integers(0, C, shape)
        if ignore is not None:
            y.reshape(-1)[::3] = ignore
        return y

    return make


def probabilities(*shape: int, dim: int = 1) -> Callable[[np.random.Generator], np.ndarray]:
    def make(rng: np.random.Generator) -> np.ndarray:
        p = rng.uniform(0.1, 1.0, shape)
        return p / p.sum(axis=dim, keepdims=True)

    return make


def uniform(low: float, high: float, *shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.uniform(low, high, shape)


def signs(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: rng.choice([-1, 1], shape)


def off_kinks(kinks: tuple[float, ...], *shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Differences in [-3, 3] at least 0.05 from every kink (and its negative)."""

    def make(rng: np.random.Generator) -> np.ndarray:
        d = rng.uniform(-3, 3, shape)
        for k in kinks:
            for s in (k, -k):
                near = np.abs(d - s) < 0.05
                d[near] += 0.1
        return d

    return make


def inputs(*makers: Callable[[np.random.Generator], np.ndarray]):  # type: ignore[no-untyped-def]
    return lambda rng: [m(rng) for m in makers]


def pair(kinks: tuple[float, ...], *shape: int):  # type: ignore[no-untyped-def]
    """(input, target) whose difference avoids the kinks."""

    def make(rng: np.random.Generator) -> list[np.ndarray]:
        target = rng.standard_normal(shape)
        return [target + off_kinks(kinks, *shape)(rng), target]

    return make


def with_extra(make, *makers):  # type: ignore[no-untyped-def]
    return lambda rng: [*make(rng), *(m(rng) for m in makers)]


WEIGHT = uniform(0.2, 2.0, C)
# Each row's labels come before its first -1 (the rest is ignored); row 2 has none, row 4 repeats.
MULTILABEL = np.array([[3, 0, -1, 1], [1, -1, -1, -1], [-1, 2, 2, 0], [0, 1, 2, 3], [2, 2, -1, 3],
                       [3, 1, 0, -1]])  # fmt: skip
# CTC: (N, S) padded targets with repeated labels (a blank must separate the 2s), lengths 3, 2,
# 0 (the empty target), and the same targets concatenated with blank = C instead of 0.
CTC_TARGETS = np.array([[1, 2, 2], [3, 1, 9], [9, 9, 9]])
CTC_IN, CTC_LEN = np.array([7, 5, 6]), np.array([3, 2, 0])
CTC_CONCAT = np.array([1, 2, 2, 3, 1]) - 1

CASES = [
    # cross-entropy with class labels
    LossCase("ce", lambda lib, r, x, y: nnf(lib).cross_entropy(x, y, reduction=r),
             inputs(logits(N, C), labels(N))),
    LossCase("ce_weight", lambda lib, r, x, y, w: nnf(lib).cross_entropy(x, y, w, reduction=r),
             inputs(logits(N, C), labels(N), WEIGHT), const=(2,)),
    LossCase("ce_ignore", lambda lib, r, x, y: nnf(lib).cross_entropy(
        x, y, ignore_index=-100, reduction=r), inputs(logits(N, C), labels(N, ignore=-100))),
    LossCase("ce_ignore_in_range", lambda lib, r, x, y, w: nnf(lib).cross_entropy(
        x, y, w, ignore_index=2, reduction=r), inputs(logits(N, C), labels(N, ignore=2), WEIGHT),
        const=(2,)),
    LossCase("ce_smoothing", lambda lib, r, x, y: nnf(lib).cross_entropy(
        x, y, reduction=r, label_smoothing=0.2), inputs(logits(N, C), labels(N))),
    LossCase("ce_smoothing_weight_ignore", lambda lib, r, x, y, w: nnf(lib).cross_entropy(
        x, y, w, ignore_index=-100, reduction=r, label_smoothing=0.3),
        inputs(logits(N, C), labels(N, ignore=-100), WEIGHT), const=(2,)),
    LossCase("ce_smoothing_ignore", lambda lib, r, x, y: nnf(lib).cross_entropy(
        x, y, ignore_index=1, reduction=r, label_smoothing=0.1),
        inputs(logits(N, C), labels(N, ignore=1))),
    LossCase("ce_4d", lambda lib, r, x, y: nnf(lib).cross_entropy(x, y, reduction=r),
             inputs(logits(2, C, 3, 2), labels(2, 3, 2))),
    LossCase("ce_4d_weight_ignore_smoothing", lambda lib, r, x, y, w: nnf(lib).cross_entropy(
        x, y, w, ignore_index=-100, reduction=r, label_smoothing=0.25),
        inputs(logits(2, C, 3, 2), labels(2, 3, 2, ignore=-100), WEIGHT), const=(2,)),
    LossCase("ce_3d_weight", lambda lib, r, x, y, w: nnf(lib).cross_entropy(
        x, y, w, reduction=r), inputs(logits(3, C, 5), labels(3, 5), WEIGHT), const=(2,)),
    LossCase("ce_unbatched", lambda lib, r, x, y: nnf(lib).cross_entropy(x, y, reduction=r),
             inputs(logits(C), lambda rng: np.array(2))),
    LossCase("ce_unbatched_weight_smoothing", lambda lib, r, x, y, w: nnf(lib).cross_entropy(
        x, y, w, reduction=r, label_smoothing=0.2),
        inputs(logits(C), lambda rng: np.array(1), WEIGHT), const=(2,)),
    # cross-entropy with class probabilities (the target is differentiable too)
    LossCase("ce_probs", lambda lib, r, x, t: nnf(lib).cross_entropy(x, t, reduction=r),
             inputs(logits(N, C), probabilities(N, C))),
    LossCase("ce_probs_weight_smoothing", lambda lib, r, x, t, w: nnf(lib).cross_entropy(
        x, t, w, reduction=r, label_smoothing=0.2),
        inputs(logits(N, C), probabilities(N, C), WEIGHT), const=(2,)),
    LossCase("ce_probs_4d_weight", lambda lib, r, x, t, w: nnf(lib).cross_entropy(
        x, t, w, reduction=r), inputs(logits(2, C, 3, 2), probabilities(2, C, 3, 2), WEIGHT),
        const=(2,)),
    LossCase("ce_probs_unbatched", lambda lib, r, x, t: nnf(lib).cross_entropy(
        x, t, reduction=r), inputs(logits(C), probabilities(C, dim=0))),
    # nll
    LossCase("nll", lambda lib, r, x, y: nnf(lib).nll_loss(x, y, reduction=r),
             inputs(logits(N, C), labels(N))),
    LossCase("nll_weight_ignore", lambda lib, r, x, y, w: nnf(lib).nll_loss(
        x, y, w, None, 3, reduction=r), inputs(logits(N, C), labels(N, ignore=3), WEIGHT),
        const=(2,)),
    LossCase("nll_4d_weight_ignore", lambda lib, r, x, y, w: nnf(lib).nll_loss(
        x, y, weight=w, reduction=r), inputs(logits(2, C, 3, 2), labels(2, 3, 2, ignore=-100),
                                             WEIGHT), const=(2,)),
    LossCase("nll_unbatched", lambda lib, r, x, y: nnf(lib).nll_loss(x, y, reduction=r),
             inputs(logits(C), lambda rng: np.array(3))),
    # binary
    LossCase("bce", lambda lib, r, p, t: nnf(lib).binary_cross_entropy(p, t, reduction=r),
             inputs(uniform(0.05, 0.95, N, 3), uniform(0, 1, N, 3))),
    LossCase("bce_weight", lambda lib, r, p, t, w: nnf(lib).binary_cross_entropy(
        p, t, w, reduction=r), inputs(uniform(0.05, 0.95, N, 3), uniform(0, 1, N, 3),
                                      uniform(0.1, 2, 3)), const=(2,)),
    LossCase("bce_logits", lambda lib, r, x, t: nnf(lib).binary_cross_entropy_with_logits(
        x, t, reduction=r), inputs(logits(N, 3), uniform(0, 1, N, 3))),
    LossCase("bce_logits_weight", lambda lib, r, x, t, w: nnf(lib).binary_cross_entropy_with_logits(
        x, t, w, reduction=r), inputs(logits(N, 3), uniform(0, 1, N, 3), uniform(0.1, 2, N, 1)),
        const=(2,)),
    LossCase("bce_logits_pos_weight", lambda lib, r, x, t, pw:
             nnf(lib).binary_cross_entropy_with_logits(x, t, reduction=r, pos_weight=pw),
             inputs(logits(N, 3), uniform(0, 1, N, 3), uniform(0.2, 5, 3)), const=(2,)),
    LossCase("bce_logits_both_weights", lambda lib, r, x, t, w, pw:
             nnf(lib).binary_cross_entropy_with_logits(x, t, w, reduction=r, pos_weight=pw),
             inputs(logits(N, 3), uniform(0, 1, N, 3), uniform(0.1, 2, 3), uniform(0.2, 5, 3)),
             const=(2, 3)),
    # regression
    LossCase("l1", lambda lib, r, x, t: nnf(lib).l1_loss(x, t, reduction=r), pair((0.0,), N, 3)),
    LossCase("l1_weight", lambda lib, r, x, t, w: nnf(lib).l1_loss(x, t, reduction=r, weight=w),
             with_extra(pair((0.0,), N, 3), uniform(0.1, 2, N, 3)), const=(2,)),
    LossCase("mse", lambda lib, r, x, t: nnf(lib).mse_loss(x, t, reduction=r), pair((), N, 3)),
    LossCase("mse_weight", lambda lib, r, x, t, w: nnf(lib).mse_loss(x, t, reduction=r, weight=w),
             with_extra(pair((), N, 3), uniform(0.1, 2, N, 3)), const=(2,)),
    LossCase("smooth_l1", lambda lib, r, x, t: nnf(lib).smooth_l1_loss(x, t, reduction=r),
             pair((1.0,), N, 3)),
    LossCase("smooth_l1_beta", lambda lib, r, x, t: nnf(lib).smooth_l1_loss(
        x, t, reduction=r, beta=0.5), pair((0.5,), N, 3)),
    LossCase("smooth_l1_beta0", lambda lib, r, x, t: nnf(lib).smooth_l1_loss(
        x, t, reduction=r, beta=0.0), pair((0.0,), N, 3)),
    LossCase("huber", lambda lib, r, x, t: nnf(lib).huber_loss(x, t, reduction=r),
             pair((1.0,), N, 3)),
    LossCase("huber_delta_weight", lambda lib, r, x, t, w: nnf(lib).huber_loss(
        x, t, r, 2.0, w), with_extra(pair((2.0,), N, 3), uniform(0.1, 2, N, 3)), const=(2,)),
    LossCase("kl_div", lambda lib, r, x, t: nnf(lib).kl_div(x, t, reduction=r),
             inputs(lambda rng: np.log(probabilities(N, C)(rng)), probabilities(N, C)),
             reductions=("mean", "batchmean", "sum", "none")),
    LossCase("kl_div_log_target", lambda lib, r, x, t: nnf(lib).kl_div(
        x, t, reduction=r, log_target=True),
        inputs(lambda rng: np.log(probabilities(N, C)(rng)),
               lambda rng: np.log(probabilities(N, C)(rng))),
        reductions=("mean", "batchmean", "sum", "none")),
    LossCase("poisson_nll", lambda lib, r, x, t: nnf(lib).poisson_nll_loss(x, t, reduction=r),
             inputs(logits(N, 3), uniform(0, 4, N, 3))),
    LossCase("poisson_nll_rate_full", lambda lib, r, x, t: nnf(lib).poisson_nll_loss(
        x, t, log_input=False, full=True, reduction=r),
        inputs(uniform(0.2, 3, N, 3), uniform(0.1, 4, N, 3))),
    LossCase("poisson_nll_log_full", lambda lib, r, x, t: nnf(lib).poisson_nll_loss(
        x, t, True, True, reduction=r), inputs(logits(N, 3), uniform(0.1, 4, N, 3))),
    LossCase("gaussian_nll", lambda lib, r, x, t, v: nnf(lib).gaussian_nll_loss(
        x, t, v, reduction=r), inputs(logits(N, 3), logits(N, 3), uniform(0.1, 2, N, 3))),
    LossCase("gaussian_nll_short_var_full", lambda lib, r, x, t, v: nnf(lib).gaussian_nll_loss(
        x, t, v, full=True, reduction=r), inputs(logits(N, 3), logits(N, 3), uniform(0.1, 2, N))),
    LossCase("gaussian_nll_shared_var", lambda lib, r, x, t, v: nnf(lib).gaussian_nll_loss(
        x, t, v, reduction=r), inputs(logits(N, 3), logits(N, 3), uniform(0.1, 2, N, 1))),
    # PyTorch clamps var in place under no_grad: its gradient (and ours) is not the derivative
    # of the clamped value, so only the PyTorch twin checks this one.
    LossCase("gaussian_nll_var_clamped", lambda lib, r, x, t, v: nnf(lib).gaussian_nll_loss(
        x, t, v, eps=0.5, reduction=r), inputs(logits(N, 3), logits(N, 3), uniform(0.1, 2, N, 3)),
        gradcheck=False),
    LossCase("gaussian_nll_float_var", lambda lib, r, x, t: nnf(lib).gaussian_nll_loss(
        x, t, 0.7, reduction=r), inputs(logits(N, 3), logits(N, 3))),
    # margins and embeddings (±1 targets are constants)
    LossCase("margin_ranking", lambda lib, r, a, b, y: nnf(lib).margin_ranking_loss(
        a, b, y, 0.3, reduction=r), inputs(off_kinks((0.3,), N), uniform(-0.01, 0.01, N),
                                           signs(N))),
    LossCase("hinge_embedding", lambda lib, r, x, y: nnf(lib).hinge_embedding_loss(
        x, y, 1.5, reduction=r), inputs(off_kinks((1.5,), N, 3), signs(N, 3))),
    LossCase("soft_margin", lambda lib, r, x, y: nnf(lib).soft_margin_loss(x, y, reduction=r),
             inputs(logits(N, 3), signs(N, 3))),
    LossCase("multilabel_soft_margin", lambda lib, r, x, t, w:
             nnf(lib).multilabel_soft_margin_loss(x, t, w, reduction=r),
             inputs(logits(N, C), lambda rng: rng.integers(0, 2, (N, C)).astype(float), WEIGHT),
             const=(1, 2)),
    LossCase("cosine_embedding", lambda lib, r, a, b, y: nnf(lib).cosine_embedding_loss(
        a, b, y, -0.2, reduction=r), inputs(logits(N, 5), logits(N, 5), signs(N))),
    LossCase("cosine_embedding_1d", lambda lib, r, a, b, y: nnf(lib).cosine_embedding_loss(
        a, b, y, reduction=r), inputs(logits(5), logits(5), lambda rng: np.array(1))),
    LossCase("triplet", lambda lib, r, a, p, n: nnf(lib).triplet_margin_loss(
        a, p, n, margin=3.0, reduction=r), inputs(logits(N, 5), logits(N, 5), logits(N, 5))),
    LossCase("triplet_p1_swap", lambda lib, r, a, p, n: nnf(lib).triplet_margin_loss(
        a, p, n, 3.0, 1, swap=True, reduction=r),
        inputs(logits(N, 5), logits(N, 5), logits(N, 5))),
    LossCase("triplet_distance", lambda lib, r, a, p, n: nnf(lib).triplet_margin_with_distance_loss(
        a, p, n, margin=3.0, reduction=r), inputs(logits(N, 5), logits(N, 5), logits(N, 5))),
    LossCase("triplet_cosine_distance_swap", lambda lib, r, a, p, n:
             nnf(lib).triplet_margin_with_distance_loss(
                 a, p, n, distance_function=lambda u, v: 1 - nnf(lib).cosine_similarity(u, v),
                 margin=0.5, swap=True, reduction=r),
             inputs(logits(N, 5), logits(N, 5), logits(N, 5))),
    LossCase("multi_margin", lambda lib, r, x, y: nnf(lib).multi_margin_loss(x, y, reduction=r),
             inputs(logits(N, C), labels(N))),
    LossCase("multi_margin_p2_margin_weight", lambda lib, r, x, y, w: nnf(lib).multi_margin_loss(
        x, y, 2, 0.7, w, reduction=r), inputs(logits(N, C), labels(N), WEIGHT), const=(2,)),
    LossCase("multi_margin_unbatched", lambda lib, r, x, y: nnf(lib).multi_margin_loss(
        x, y, reduction=r), inputs(logits(C), lambda rng: np.array(2))),
    LossCase("multilabel_margin", lambda lib, r, x, y: nnf(lib).multilabel_margin_loss(
        x, y, reduction=r), inputs(logits(N, C), lambda rng: MULTILABEL)),
    LossCase("multilabel_margin_unbatched", lambda lib, r, x, y: nnf(lib).multilabel_margin_loss(
        x, y, reduction=r), inputs(logits(C), lambda rng: MULTILABEL[1])),
    LossCase("ctc", lambda lib, r, x: nnf(lib).ctc_loss(
        x.log_softmax(2), lib.tensor(CTC_TARGETS), lib.tensor(CTC_IN), lib.tensor(CTC_LEN),
        reduction=r), inputs(logits(7, 3, C + 1))),
    LossCase("ctc_blank_last_concatenated", lambda lib, r, x: nnf(lib).ctc_loss(
        x.log_softmax(2), lib.tensor(CTC_CONCAT), lib.tensor(CTC_IN), lib.tensor(CTC_LEN),
        blank=C, reduction=r), inputs(logits(7, 3, C + 1))),
    LossCase("ctc_unbatched", lambda lib, r, x: nnf(lib).ctc_loss(
        x.log_softmax(1), lib.tensor(CTC_TARGETS[0]), lib.tensor(6), lib.tensor(3),
        reduction=r), inputs(logits(7, C + 1))),
    LossCase("cosine_similarity", lambda lib, r, a, b: nnf(lib).cosine_similarity(a, b),
             inputs(logits(N, 5), logits(N, 5)), reductions=(None,)),
    LossCase("cosine_similarity_dim0_broadcast", lambda lib, r, a, b:
             nnf(lib).cosine_similarity(a, b, dim=0), inputs(logits(5, 3), logits(5, 1)),
             reductions=(None,)),
    LossCase("pairwise_distance", lambda lib, r, a, b: nnf(lib).pairwise_distance(a, b),
             inputs(logits(N, 5), logits(N, 5)), reductions=(None,)),
    LossCase("pairwise_distance_p3_keepdim", lambda lib, r, a, b: nnf(lib).pairwise_distance(
        a, b, 3.0, keepdim=True), inputs(logits(N, 5), logits(N, 5)), reductions=(None,)),
]  # fmt: skip

PARAMS = [pytest.param(case, r, id=f"{case.name}-{r}") for case in CASES for r in case.reductions]


@pytest.mark.parametrize("float64", [True, False], ids=["float64", "float32"])
@pytest.mark.parametrize(("case", "reduction"), PARAMS)
def test_matches_pytorch(case: LossCase, reduction: Any, float64: bool) -> None:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    arrays = case.make(rng)
    out, ours = _run(case, cr, reduction, arrays, float64)
    ref, theirs = _run(case, torch, reduction, arrays, float64)
    rtol, atol = (1e-10, 1e-12) if float64 else (1e-5, 1e-6)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == (np.float64 if float64 else np.float32)
    np.testing.assert_allclose(_numpy(out), _numpy(ref), rtol=rtol, atol=atol)
    direction = rng.standard_normal(out.shape)
    (out * cr.tensor(direction, dtype=out.dtype)).sum().backward()
    (ref * torch.tensor(direction, dtype=ref.dtype)).sum().backward()
    for i, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine.grad is not None, f"input {i} has no gradient"
        assert mine.grad.dtype == out.dtype
        np.testing.assert_allclose(
            mine.grad, reference.grad.numpy(), rtol=rtol * 10, atol=atol * 10, err_msg=f"input {i}"
        )


@pytest.mark.parametrize(("case", "reduction"), [p for p in PARAMS if p.values[0].gradcheck])
def test_gradcheck(case: LossCase, reduction: Any) -> None:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()) + 1)
    arrays = case.make(rng)
    diff = case.differentiable(arrays)

    def fn(*xs: Any) -> Any:
        given = dict(zip(diff, xs, strict=True))
        args = [given.get(i, _to(cr, a, cr.float64, False)) for i, a in enumerate(arrays)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return case.fn(cr, reduction, *args)

    result = cr.gradcheck(fn, [arrays[i] for i in diff])
    assert result.passed, f"{case.name}\n{result}"


# ---------------------------------------------------------------------------- class targets
def test_ignored_rows_get_zero_gradient() -> None:
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, C)), requires_grad=True)
    F.cross_entropy(x, [1, -100, 2, 3, -100], weight=np.ones(C), label_smoothing=0.1).backward()
    grad = x.grad.numpy()
    assert np.all(grad[[1, 4]] == 0) and np.all(grad[[0, 2, 3]] != 0)
    x.grad = None
    F.nll_loss(x, np.array([0, 2, 2, 1, 2]), ignore_index=2).backward()
    grad = x.grad.numpy()
    assert np.all(grad[[1, 2, 4]] == 0) and np.all(grad[[0, 3]].sum(axis=1) != 0)
    x4 = cr.tensor(np.zeros((2, C, 3)), requires_grad=True)
    y4 = np.array([[0, -100, 1], [-100, 2, 3]])
    F.cross_entropy(x4, y4, reduction="sum").backward()
    grad = x4.grad.numpy()
    assert np.all(grad[0, :, 1] == 0) and np.all(grad[1, :, 0] == 0)
    assert np.all(grad[0, :, 0] != 0)


def test_all_targets_ignored_gives_nan_mean_and_zero_sum() -> None:
    x = cr.tensor(np.zeros((3, C)), requires_grad=True)
    y = np.full(3, -100)
    assert np.isnan(F.cross_entropy(x, y).item())
    assert np.isnan(F.nll_loss(x, y).item())
    assert F.cross_entropy(x, y, reduction="sum").item() == 0.0
    assert np.isnan(torch.nn.functional.cross_entropy(torch.zeros(3, C), torch.tensor(y)).item())


def test_empty_batch_matches_pytorch() -> None:
    x = cr.tensor(np.zeros((0, C)), requires_grad=True)
    y = np.zeros(0, dtype=np.int64)
    assert np.isnan(F.cross_entropy(x, y).item())
    assert F.cross_entropy(x, y, reduction="none").shape == (0,)
    assert np.isnan(F.cross_entropy(x, np.zeros((0, C))).item())


def test_weighted_mean_divides_by_the_weights_of_the_kept_targets() -> None:
    x = cr.tensor(np.zeros((3, 2)))  # every loss is log 2
    loss = F.cross_entropy(x, np.array([0, 1, -100]), weight=np.array([1.0, 3.0]))
    assert loss.item() == pytest.approx((1 * np.log(2) + 3 * np.log(2)) / 4)


def test_targets_may_be_lists_arrays_or_tensors() -> None:
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, C)))
    expected = F.cross_entropy(x, np.array([0, 3, 1])).item()
    assert F.cross_entropy(x, [0, 3, 1]).item() == pytest.approx(expected)
    assert F.cross_entropy(x, cr.tensor([0, 3, 1])).item() == pytest.approx(expected)
    target = [[0.5, 0.5], [1.0, 0.0]]
    y = cr.tensor(np.zeros((2, 2), np.float32))
    assert F.mse_loss(y, target).item() == pytest.approx(0.375)
    assert F.mse_loss(y, target).dtype == np.float32


# ---------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_finite_losses_and_gradients_as_torch(dtype: type) -> None:
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 1]], dtype=dtype)
    y = np.array([1, 2])
    t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=dtype)
    pw = np.array([2.0, 0.5, 3.0], dtype=dtype)
    w = np.array([0.5, 2.0, 1.0], dtype=dtype)
    calls = [
        lambda lib, x: nnf(lib).cross_entropy(x, lib.tensor(y), reduction="none"),
        lambda lib, x: nnf(lib).cross_entropy(
            x, lib.tensor(y), lib.tensor(w), reduction="sum", label_smoothing=0.1
        ),
        lambda lib, x: nnf(lib).cross_entropy(x, lib.tensor(t), reduction="none"),
        lambda lib, x: nnf(lib).binary_cross_entropy_with_logits(
            x, lib.tensor(t), reduction="none"
        ),
        lambda lib, x: nnf(lib).binary_cross_entropy_with_logits(
            x, lib.tensor(t), lib.tensor(w), reduction="none", pos_weight=lib.tensor(pw)
        ),
        lambda lib, x: nnf(lib).multilabel_soft_margin_loss(x, lib.tensor(t), reduction="none"),
        lambda lib, x: nnf(lib).log_softmax(x, dim=1),
    ]
    for call in calls:
        ours = cr.tensor(big, requires_grad=True, dtype=big.dtype)
        theirs = torch.tensor(big, requires_grad=True)
        out, ref = call(cr, ours), call(torch, theirs)
        assert np.isfinite(out.numpy()).all()
        np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-6)
        out.sum().backward()
        ref.sum().backward()
        assert np.isfinite(ours.grad).all() and ours.grad.dtype == dtype
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-6)


def test_soft_margin_is_finite_where_torch_overflows() -> None:
    x = cr.tensor([1e4, -1e4, 0.0], requires_grad=True, dtype=cr.float64)
    loss = F.soft_margin_loss(x, np.array([-1.0, -1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e4, 0.0, np.log(2)])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 0.0, -0.5])


def test_bce_with_logits_at_zero_logit_has_half_gradient() -> None:
    x = cr.tensor([0.0, 0.0], requires_grad=True, dtype=cr.float64)
    F.binary_cross_entropy_with_logits(
        x, np.array([1.0, 1.0]), reduction="sum", pos_weight=np.array([1.0, 3.0])
    ).backward()
    np.testing.assert_allclose(x.grad, [-0.5, -1.5])


# ---------------------------------------------------------------------------- errors
def test_class_label_out_of_range_names_value_and_position() -> None:
    x = cr.tensor(np.zeros((2, C, 3)))
    y = np.zeros((2, 3), dtype=np.int64)
    y[1, 2] = 7
    with pytest.raises(LabelError, match=r"label 7 at position \(1, 2\) is out of range for 4"):
        F.cross_entropy(x, y)
    with pytest.raises(IndexError, match=r"label -3 at row 1 is out of range"):
        F.nll_loss(cr.tensor(np.zeros((2, C))), np.array([0, -3]))
    # An ignored label outside 0..C-1 is no error.
    assert np.isfinite(F.cross_entropy(cr.tensor(np.zeros((2, C))), [0, -100]).item())


def test_wrong_target_shape_names_expected_and_actual() -> None:
    with pytest.raises(
        ShapeError,
        match=r"input of shape \(2, 4, 3\) needs class targets of "
        r"shape \(2, 3\), got \(2, 4\)",
    ):
        F.cross_entropy(cr.tensor(np.zeros((2, C, 3))), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(RuntimeError, match=r"need 3 class labels, got target of shape \(2,\)"):
        F.nll_loss(cr.tensor(np.zeros((3, C))), np.array([0, 1]))
    with pytest.raises(ShapeError, match=r"prediction has shape \(3, 2\) but target has shape"):
        F.l1_loss(cr.tensor(np.zeros((3, 2))), np.zeros(2))
    with pytest.raises(ShapeError, match=r"weight needs one entry per class, shape \(4,\)"):
        F.cross_entropy(cr.tensor(np.zeros((3, C))), [0, 1, 2], weight=np.ones(3))


def test_bad_targets_and_options_are_refused_as_torch() -> None:
    """Each call raises in both libraries; chainrule's error is also of PyTorch's type."""
    cases = [
        (lambda lib, x: nnf(lib).cross_entropy(x, lib.ones(3, C, dtype=lib.long)), RuntimeError),
        (
            lambda lib, x: nnf(lib).cross_entropy(x, lib.ones(3, C) / C, ignore_index=1),
            RuntimeError,
        ),
        (
            lambda lib, x: nnf(lib).cross_entropy(x, lib.tensor([0, 1, 2]), weight=lib.ones(3)),
            RuntimeError,
        ),
        (lambda lib, x: nnf(lib).cross_entropy(x, lib.tensor([[0], [1], [2]])), RuntimeError),
        (lambda lib, x: nnf(lib).cross_entropy(x, lib.tensor([0, 1, 4])), IndexError),
        (lambda lib, x: nnf(lib).nll_loss(x, lib.tensor([0, 1, 2]), reduction="avg"), ValueError),
        (lambda lib, x: nnf(lib).nll_loss(x, lib.tensor([0, 1])), ValueError),
        (lambda lib, x: nnf(lib).binary_cross_entropy(x.sigmoid(), lib.ones(3)), ValueError),
        (lambda lib, x: nnf(lib).binary_cross_entropy(x + 2, lib.ones(3, C)), RuntimeError),
        (lambda lib, x: nnf(lib).binary_cross_entropy_with_logits(x, lib.ones(3)), ValueError),
        (lambda lib, x: nnf(lib).gaussian_nll_loss(x, x, lib.ones(2)), ValueError),
        (lambda lib, x: nnf(lib).gaussian_nll_loss(x, x, -lib.ones(3, C)), ValueError),
        (lambda lib, x: nnf(lib).triplet_margin_loss(x, x, x, margin=0.0), ValueError),
        (lambda lib, x: nnf(lib).kl_div(x, x, reduction="batch"), ValueError),
        (lambda lib, x: nnf(lib).margin_ranking_loss(x, x, lib.ones(3)), RuntimeError),
    ]
    for call, error in cases:
        for lib, x in ((torch, torch.zeros(3, C)), (cr, cr.tensor(np.zeros((3, C))))):
            with pytest.raises(error), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call(lib, x)
    # PyTorch raises RuntimeError for an out-of-range label_smoothing; chainrule a ConfigError.
    with pytest.raises(RuntimeError):
        torch.nn.functional.cross_entropy(
            torch.zeros(3, C), torch.tensor([0, 1, 2]), None, label_smoothing=1.5
        )
    with pytest.raises(ConfigError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(cr.tensor(np.zeros((3, C))), [0, 1, 2], label_smoothing=1.5)


def test_integer_and_float_label_errors() -> None:
    x = cr.tensor(np.zeros((3, C)))
    with pytest.raises(DataError, match="class labels must be integers, got dtype float64"):
        F.cross_entropy(x, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(DataError, match="must be floating point, got dtype int64"):
        F.cross_entropy(x, np.ones((3, C), dtype=np.int64))
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)
    with pytest.raises(ConfigError, match="reduction"):
        nn.L1Loss(reduction="avg")


def test_legacy_size_average_and_reduce_bind_positionally_as_torch() -> None:
    x = np.random.default_rng(0).standard_normal((4, C))
    y = np.array([0, 1, 2, 3])
    w = np.linspace(0.5, 2, C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size_average, reduce in ((False, None), (None, False), (True, True)):
            ours = F.nll_loss(cr.tensor(x), y, w, size_average, 1, reduce)
            ref = torch.nn.functional.nll_loss(
                torch.tensor(x), torch.tensor(y), torch.tensor(w), size_average, 1, reduce
            )
            np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)
            assert (
                nn.MSELoss(size_average, reduce).reduction
                == torch.nn.MSELoss(size_average, reduce).reduction
            )


def test_kl_div_mean_warns_as_torch() -> None:
    x = cr.tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, np.full((2, 2), 0.5))


# ---------------------------------------------------------------------------- modules
MODULES = [
    ("CrossEntropyLoss", {"ignore_index": 1, "label_smoothing": 0.1}, ["weight"],
     lambda rng: [rng.standard_normal((N, C)), rng.integers(0, C, N)]),
    ("CrossEntropyLoss", {"reduction": "sum"}, [], lambda rng: [rng.standard_normal((N, C)),
                                                                rng.integers(0, C, N)]),
    ("NLLLoss", {"reduction": "none", "ignore_index": 2}, ["weight"],
     lambda rng: [rng.standard_normal((2, C, 3)), rng.integers(0, C, (2, 3))]),
    ("BCELoss", {}, ["weight"], lambda rng: [rng.uniform(0.1, 0.9, (N, C)),
                                             rng.uniform(0, 1, (N, C))]),
    ("BCEWithLogitsLoss", {"reduction": "sum"}, ["weight", "pos_weight"],
     lambda rng: [rng.standard_normal((N, C)), rng.uniform(0, 1, (N, C))]),
    ("MultiLabelSoftMarginLoss", {}, ["weight"],
     lambda rng: [rng.standard_normal((N, C)), rng.integers(0, 2, (N, C)).astype(float)]),
    ("L1Loss", {}, [], lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("MSELoss", {"reduction": "sum"}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("SmoothL1Loss", {"beta": 0.5}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("HuberLoss", {"delta": 0.7}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
    ("PoissonNLLLoss", {"full": True}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.uniform(0, 4, (N, C))]),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C)),
                  rng.uniform(0.1, 1, (N, 1))]),
    ("SoftMarginLoss", {}, [], lambda rng: [rng.standard_normal((N, C)),
                                            rng.choice([-1.0, 1.0], (N, C))]),
    ("HingeEmbeddingLoss", {"margin": 0.5}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.choice([-1.0, 1.0], (N, C))]),
    ("MarginRankingLoss", {"margin": 0.1}, [],
     lambda rng: [rng.standard_normal(N), rng.standard_normal(N), rng.choice([-1.0, 1.0], N)]),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C)),
                  rng.choice([-1.0, 1.0], N)]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}, [],
     lambda rng: [rng.standard_normal((N, C)) for _ in range(3)]),
    ("CosineSimilarity", {"dim": 0}, [], lambda rng: [rng.standard_normal((N, C))] * 2),
    ("PairwiseDistance", {"p": 1.0, "keepdim": True}, [],
     lambda rng: [rng.standard_normal((N, C)), rng.standard_normal((N, C))]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kwargs", "buffers", "make"),
    MODULES,
    ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)],
)
def test_module_twin(name: str, kwargs: dict[str, Any], buffers: list[str], make: Any) -> None:
    rng = np.random.default_rng(0)
    arrays = make(rng)
    shapes = {"weight": (C,), "pos_weight": (C,)}
    given = {b: torch.tensor(rng.uniform(0.5, 2, shapes[b])) for b in buffers}
    theirs = getattr(torch.nn, name)(**kwargs, **given)
    ours = getattr(nn, name)(**kwargs, **{b: np.ones(shapes[b]) for b in buffers})
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert sorted(state) == sorted(buffers)
    ours.load_state_dict(state)
    assert sorted(ours.state_dict()) == sorted(buffers)
    assert repr(ours) == repr(theirs)
    x_ours = cr.tensor(arrays[0], requires_grad=True, dtype=cr.float64)
    x_theirs = torch.tensor(arrays[0], requires_grad=True)
    rest_ours = [a if a.dtype.kind != "f" else cr.tensor(a, dtype=cr.float64) for a in arrays[1:]]
    rest_theirs = [torch.tensor(a) for a in arrays[1:]]
    out, ref = ours(x_ours, *rest_ours), theirs(x_theirs, *rest_theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    direction = rng.standard_normal(out.shape)
    (out * cr.tensor(direction, dtype=cr.float64)).sum().backward()
    (ref * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_module_hierarchy_and_defaults_follow_torch() -> None:
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiLabelSoftMarginLoss"):
        module = getattr(nn, name)()
        assert module.weight is None and module.reduction == "mean"
        assert dict(module.state_dict()) == {}
    loss = nn.CrossEntropyLoss()
    assert (loss.ignore_index, loss.label_smoothing) == (-100, 0.0)
    assert nn.SmoothL1Loss().beta == 1.0 and nn.HuberLoss().delta == 1.0
    assert nn.BCEWithLogitsLoss().pos_weight is None
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss()"


def test_poisson_full_target_gradient_is_finite_at_zero_target() -> None:
    t = cr.tensor([0.0, 0.5, 2.0], requires_grad=True, dtype=cr.float64)
    x = cr.tensor([0.1, 0.2, 0.3], dtype=cr.float64)
    F.poisson_nll_loss(x, t, full=True, reduction="sum").backward()
    # d/dt of e^x - t·x is -x; Stirling's t·log t - t + ½log(2πt) adds log t + 1/(2t) for t > 1.
    np.testing.assert_allclose(t.grad.numpy(), [-0.1, -0.2, -0.3 + np.log(2.0) + 0.25])


# ---------------------------------------------------------------------------- CTC
def _ctc_pair(x: np.ndarray, in_len: Any, zero_infinity: bool, reduction: str = "none") -> Any:
    ours = cr.tensor(x, requires_grad=True, dtype=cr.float64)
    theirs = torch.tensor(x, requires_grad=True)
    args = (CTC_TARGETS, in_len, CTC_LEN)
    out = F.ctc_loss(ours.log_softmax(2), *args, reduction=reduction, zero_infinity=zero_infinity)
    ref = torch.nn.functional.ctc_loss(
        theirs.log_softmax(2),
        *(torch.tensor(a) for a in args),
        reduction=reduction,
        zero_infinity=zero_infinity,
    )
    out.sum().backward()
    ref.sum().backward()
    return out, ref, ours.grad.numpy(), theirs.grad.numpy()


def test_ctc_impossible_alignment_is_inf_with_nan_gradient_as_torch() -> None:
    # Sample 0 needs 4 steps (1, 2, blank, 2) but gets 3.
    x = np.random.default_rng(0).standard_normal((7, 3, C + 1))
    out, ref, grad, ref_grad = _ctc_pair(x, np.array([3, 5, 6]), zero_infinity=False)
    assert np.isinf(out.numpy()[0]) and np.isinf(ref.detach().numpy()[0])
    np.testing.assert_allclose(out.numpy()[1:], ref.detach().numpy()[1:], rtol=1e-10)
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(ref_grad))
    assert np.isnan(grad[:3, 0]).all() and (grad[3:, 0] == 0).all()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_zero_infinity_zeroes_the_loss_and_its_gradient(reduction: str) -> None:
    x = np.random.default_rng(1).standard_normal((7, 3, C + 1))
    out, ref, grad, ref_grad = _ctc_pair(x, np.array([3, 5, 6]), True, reduction)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10)
    assert (grad[:, 0] == 0).all()
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)


def test_ctc_gradient_in_log_probs_is_torchs() -> None:
    # PyTorch's log_probs gradient includes exp(log_probs), the gradient through the log_softmax
    # it assumes: each step's gradient sums to 0. The true derivative is checked through one.
    lp = np.log(probabilities(7, 3, C + 1, dim=2)(np.random.default_rng(2)))
    ours = cr.tensor(lp, requires_grad=True, dtype=cr.float64)
    theirs = torch.tensor(lp, requires_grad=True)
    F.ctc_loss(ours, CTC_TARGETS, CTC_IN, CTC_LEN, reduction="sum").backward()
    torch.nn.functional.ctc_loss(
        theirs,
        torch.tensor(CTC_TARGETS),
        torch.tensor(CTC_IN),
        torch.tensor(CTC_LEN),
        reduction="sum",
    ).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert cr.gradcheck(
        lambda a: F.ctc_loss(a.log_softmax(2), CTC_TARGETS, CTC_IN, CTC_LEN), [lp]
    ).passed


def test_ctc_lengths_as_tuples_float32_and_long_sequences_stay_finite() -> None:
    # 400 steps of probabilities ~1/5 give a likelihood near 5^-400 = 1e-280: log space only.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 2, C + 1)).astype(np.float32)
    targets = rng.integers(1, C + 1, (2, 30))
    ours = cr.tensor(x, requires_grad=True)
    out = nn.CTCLoss()(ours.log_softmax(2), targets, (400, 350), (30, 25))
    ref = torch.nn.CTCLoss()(
        torch.tensor(x).log_softmax(2), torch.tensor(targets), (400, 350), (30, 25)
    )
    assert out.dtype == np.float32 and np.isfinite(out.item())
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-4)
    out.backward()
    assert ours.grad.dtype == np.float32 and np.isfinite(ours.grad.numpy()).all()


def test_new_loss_modules_match_torch_and_repr() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, C)).astype(np.float32)
    y = rng.integers(0, C, N)
    w = rng.uniform(0.5, 2, C).astype(np.float32)
    theirs = torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(w), reduction="sum")
    ours = nn.MultiMarginLoss(p=2, margin=0.5, weight=w, reduction="sum")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    np.testing.assert_allclose(
        ours(cr.tensor(x), y).item(), theirs(torch.tensor(x), torch.tensor(y)).item(), rtol=1e-6
    )
    pairs = [
        (nn.MultiMarginLoss(), torch.nn.MultiMarginLoss()),
        (nn.MultiLabelMarginLoss(), torch.nn.MultiLabelMarginLoss()),
        (nn.CTCLoss(blank=2, zero_infinity=True), torch.nn.CTCLoss(2, "mean", True)),
        (
            nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(), swap=True),
            torch.nn.TripletMarginWithDistanceLoss(
                distance_function=torch.nn.PairwiseDistance(), swap=True
            ),
        ),
    ]
    for mine, ref in pairs:
        assert repr(mine) == repr(ref)
    np.testing.assert_allclose(
        nn.MultiLabelMarginLoss(reduction="none")(cr.tensor(x), MULTILABEL).numpy(),
        torch.nn.MultiLabelMarginLoss(reduction="none")(
            torch.tensor(x), torch.tensor(MULTILABEL)
        ).numpy(),
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: F.multi_margin_loss(cr.zeros(2, 3), np.array([0, 3])), LabelError, "label 3"),
        (lambda: F.multi_margin_loss(cr.zeros(2, 3), np.array([0, 1]), p=3), ConfigError, "p == 1"),
        (
            lambda: F.multilabel_margin_loss(cr.zeros(2, 3), np.array([0, 1])),
            ShapeError,
            r"\(2, 3\)",
        ),
        (
            lambda: F.ctc_loss(cr.zeros(4, 2, 3), np.array([[1, 0]]), (4, 4), (1, 1)),
            ShapeError,
            "N = 2",
        ),
        (
            lambda: F.ctc_loss(cr.zeros(4, 1, 3), np.array([[0, 1]]), (4,), (2,)),
            LabelError,
            "not the blank 0",
        ),
        (
            lambda: F.ctc_loss(cr.zeros(4, 1, 3), np.array([[2, 1]]), (5,), (2,)),
            ShapeError,
            "longer than",
        ),
        (lambda: nn.CTCLoss(reduction="avg"), ConfigError, "reduction"),
    ],
)
def test_new_loss_errors_name_the_problem(call: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_deprecated_size_average_and_reduce_map_to_reduction_in_new_losses() -> None:
    x = cr.tensor(np.random.default_rng(5).standard_normal((N, C)).astype(np.float32))
    y = np.arange(N) % C
    with pytest.warns(UserWarning, match="size_average"):
        assert nn.MultiMarginLoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        total = F.multi_margin_loss(x, y, size_average=False)
    assert total.item() == pytest.approx(F.multi_margin_loss(x, y, reduction="sum").item())
    with pytest.warns(UserWarning):
        assert nn.MultiLabelMarginLoss(reduce=False).reduction == "none"


# ---------------------------------------------------------------------------- adaptive softmax
def test_adaptive_log_softmax_matches_torch() -> None:
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 10, [3, 6], div_value=2.0, head_bias=True)
    ours = nn.AdaptiveLogSoftmaxWithLoss(16, 10, [3, 6], div_value=2.0, head_bias=True)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 16)).astype(np.float32)
    y = np.array([0, 4, 9, 2, 7, 5, 9])  # shortlist and both clusters
    mine_x, ref_x = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(mine_x, y), theirs(ref_x, torch.tensor(y))
    np.testing.assert_allclose(out.output.numpy(), ref.output.detach().numpy(), rtol=1e-5)
    assert out.loss.item() == pytest.approx(ref.loss.item(), rel=1e-5)
    (out.loss + out.output.sum()).backward()
    (ref.loss + ref.output.sum()).backward()
    np.testing.assert_allclose(mine_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-4, atol=1e-6)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name
        )
    np.testing.assert_allclose(
        ours.log_prob(mine_x).numpy(), theirs.log_prob(ref_x).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(ours.predict(mine_x).numpy(), theirs.predict(ref_x).numpy())
    assert ours(mine_x[0], np.array(8)).output.shape == ()
    with pytest.raises(LabelError, match="should be in \\[0, 9\\]"):
        ours(mine_x, np.array([0, 1, 2, 3, 4, 5, 10]))
    with pytest.raises(ConfigError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(16, 10, [6, 3])


def test_adaptive_log_softmax_gradcheck() -> None:
    layer = nn.AdaptiveLogSoftmaxWithLoss(6, 8, [2, 5], div_value=2.0, dtype=cr.float64)
    x = np.random.default_rng(7).standard_normal((5, 6))
    assert cr.gradcheck(lambda a: layer(a, np.array([0, 3, 7, 1, 6])).loss, [x]).passed
