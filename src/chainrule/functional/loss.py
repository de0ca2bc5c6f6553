"""Losses as functions, with ``torch.nn.functional``'s names, argument order, defaults and numbers.

Stable fused primitives carry the hot or fragile paths: softmax cross-entropy (``ops.CrossEntropy``,
log-sum-exp), BCE on logits (``ops.BCEWithLogits``), BCE's floored logs (``ops.BCE``) and
log-sigmoid (``ops.LogSigmoid``); every other loss is a composite with no backward of its own.

Class-index losses (cross_entropy, nll_loss) follow PyTorch's weighted mean: with class weights w
and targets y, 'mean' is Σ_i w[y_i]·loss_i / Σ_i w[y_i] over the targets that are not
``ignore_index``. ``size_average`` and ``reduce`` are PyTorch's deprecated spellings of
``reduction``, kept so that positional arguments bind as in PyTorch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..errors import ConfigError, DataError, LabelError, ShapeError
from ..ops.ctc import CTCLoss
from ..tensor import Tensor, apply, tensor
from ._common import Reduction, _as_tensor, _reduce
from .activation import log_softmax

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- shared helpers
def _reduction(
    name: str, size_average: bool | None, reduce: bool | None, reduction: str, *extra: str
) -> Any:
    """The reduction, from PyTorch's legacy pair when either is given (both default to True)."""
    if size_average is not None or reduce is not None:
        warnings.warn(
            "size_average and reduce args will be deprecated, please use reduction= instead.",
            stacklevel=3,
        )
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in (*_REDUCTIONS, *extra):
        allowed = ", ".join(repr(r) for r in (*_REDUCTIONS, *extra))
        raise ConfigError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.array if isinstance(x, Tensor) else x)


def _float_like(x: Any, like: Tensor) -> Any:
    """A tensor stays as it is (it may carry a graph); arrays and lists take the input's dtype."""
    if isinstance(x, Tensor):
        return x
    return _const(x, like)


def _const(x: Any, like: Tensor) -> Tensor:
    """A constant tensor of the input's dtype (``tensor()`` alone would make float64 float32)."""
    return tensor(np.asarray(x, dtype=like.dtype), dtype=like.dtype)


def _check_same_shape(name: str, input: Tensor, target: Any) -> None:
    target_shape = tuple(np.shape(target.array if isinstance(target, Tensor) else target))
    if input.shape != target_shape:
        raise ShapeError(
            f"{name}: prediction has shape {input.shape} but target has shape {target_shape}"
        )


def _weighted(loss: Tensor, weight: Any, name: str) -> Tensor:
    """loss·w for the regression losses, whose weight must have the input's shape."""
    w = _float_like(weight, loss)
    if tuple(w.shape) != loss.shape:
        raise ShapeError(
            f"{name}: weight has shape {tuple(w.shape)} but the input has shape {loss.shape}"
        )
    return loss * w


def _weighted_mean(loss: Tensor, weight: Any, reduction: str, name: str) -> Tensor:
    """PyTorch's weighted l1/mse: 'mean' is Σ w·loss / Σ w."""
    weighted = _weighted(loss, weight, name)
    if reduction == "mean":
        return weighted.sum() / _float_like(weight, loss).sum()
    return _reduce(weighted, reduction)


# ----------------------------------------------------------------------------- regression
def l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    weight: Any = None,
) -> Tensor:
    """|input - target| (gradient 0 where they are equal, as PyTorch); with ``weight`` (the
    input's shape), 'mean' is Σ w·|d| / Σ w."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    _check_same_shape("l1_loss", x, target)
    loss = (x - _float_like(target, x)).abs()
    if weight is not None:
        return _weighted_mean(loss, weight, reduction, "l1_loss")
    return _reduce(loss, reduction)


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    weight: Any = None,
) -> Tensor:
    """(input - target)²; with ``weight`` (the input's shape), 'mean' is Σ w·d² / Σ w.

    A target of another shape is refused (PyTorch warns and broadcasts, which for an (N, 1)
    prediction and an (N,) target silently gives an (N, N) loss)."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    _check_same_shape("mse_loss", x, target)
    diff = x - _float_like(target, x)
    loss = diff * diff
    if weight is not None:
        return _weighted_mean(loss, weight, reduction, "mse_loss")
    return _reduce(loss, reduction)


def _huber(diff: Tensor, delta: float) -> Tensor:
    """½d² for |d| < δ, else δ(|d| - ½δ): the two pieces meet with equal slope at |d| = δ."""
    size = diff.abs()
    half = 0.5 * delta
    return (diff * diff * 0.5).where(size < delta, (size - half) * delta)


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    beta: float = 1.0,
) -> Tensor:
    """½d²/β for |d| < β, else |d| - ½β (Huber loss divided by β; L1 when β = 0)."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ConfigError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    x = _as_tensor(input)
    _check_same_shape("smooth_l1_loss", x, target)
    diff = x - _float_like(target, x)
    size = diff.abs()
    if beta == 0:
        return _reduce(size, reduction)
    return _reduce((diff * diff * 0.5 / beta).where(size < beta, size - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: Reduction = "mean",
    delta: float = 1.0,
    weight: Any = None,
) -> Tensor:
    """½d² for |d| < δ, else δ(|d| - ½δ); with ``weight``, 'mean' is the plain mean of w·loss
    (PyTorch's rule here, unlike l1/mse's Σ w·loss / Σ w)."""
    reduction = _reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise ConfigError(f"huber_loss: delta must be > 0, got {delta}")
    x = _as_tensor(input)
    _check_same_shape("huber_loss", x, target)
    loss = _huber(x - _float_like(target, x), delta)
    if weight is not None:
        loss = _weighted(loss, weight, "huber_loss")
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target ‖ exp(input)) pointwise: t·(log t - input), 0 where t = 0 (``log_target``:
    e^t·(t - input)). Input holds log-probabilities; 'batchmean' divides the sum by the batch
    size (the true KL divergence), 'mean' by the number of elements, as PyTorch."""
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the "
            "support size; 'batchmean' divides only by the batch size and matches the KL "
            "divergence's definition.",
            stacklevel=2,
        )
    reduction = _reduction("kl_div", size_average, reduce, reduction, "batchmean")
    x = _as_tensor(input)
    t = _float_like(target, x)
    loss = t.exp() * (t - x) if log_target else t.xlogy(t) - t * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: e^input - t·input (``log_input``), else input -
    t·log(input + eps); ``full`` adds Stirling's t·log t - t + ½log(2πt) where t > 1."""
    reduction = _reduction("poisson_nll_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    t = _float_like(target, x)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        # Evaluated on t clipped to > 1 so that the masked-out entries (t <= 1) stay finite.
        counted = _array(t) > 1
        safe = t.where(counted, _const(1, x))
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.where(counted, _const(0, x))
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Reduction = "mean",
) -> Tensor:
    """Gaussian negative log-likelihood ½(log var + (input - target)²/var) [+ ½log 2π].

    ``var`` has the input's shape, or one dim less, or one dim of size 1 (shared variance), or is
    a float. It is clamped to at least eps for the value only: the gradient passes the clamp as
    if it were not there, as PyTorch's in-place clamp under no_grad."""
    reduction = _reduction("gaussian_nll_loss", None, None, reduction)
    x = _as_tensor(input)
    if isinstance(var, int | float):
        if var < 0:
            raise DataError("gaussian_nll_loss: var has negative entry/entries")
        v = _const(np.full(x.shape, var), x)
    else:
        v = _float_like(var, x)
        if (v.array < 0).any():
            raise DataError("gaussian_nll_loss: var has negative entry/entries")
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v.unsqueeze(-1)
        elif not (
            v.ndim == x.ndim
            and sum(b for a, b in zip(x.shape, v.shape, strict=True) if a != b) == 1
        ):
            raise ShapeError(
                f"gaussian_nll_loss: var of shape {v.shape} does not fit input of shape {x.shape}"
            )
    v = v + _const(np.maximum(v.array, np.asarray(eps, dtype=v.dtype)) - v.array, v)
    diff = x - _float_like(target, x)
    loss = (v.log() + diff * diff / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- binary
def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """-w·(t·log p + (1-t)·log(1-p)) on probabilities p in [0, 1] (log terms floored at -100);
    ``weight`` broadcasts to the input, and 'mean' is the plain mean."""
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    p = _as_tensor(input)
    _check_same_shape("binary_cross_entropy", p, target)
    values = p.array
    if not ((values >= 0) & (values <= 1)).all():
        raise DataError("binary_cross_entropy: every input must be a probability in [0, 1]")
    loss = apply(ops.BCE, p, _float_like(target, p))
    if weight is not None:
        loss = loss * _float_like(weight, p)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """BCE(σ(x), t) from the logits x, stably (finite at ±1e4): (1-t)·x - (1 + (pw-1)·t)·log σ(x).

    ``pos_weight`` (broadcast along the last dim, one per class) scales the positive term;
    ``weight`` broadcasts to the input; 'mean' is the plain mean."""
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    x = _as_tensor(input)
    _check_same_shape("binary_cross_entropy_with_logits", x, target)
    t = _float_like(target, x)
    if pos_weight is None:
        loss = apply(ops.BCEWithLogits, x, t)
    else:
        log_weight = (_float_like(pos_weight, x) - 1) * t + 1
        loss = (1 - t) * x - log_weight * apply(ops.LogSigmoid, x)
    if weight is not None:
        loss = loss * _float_like(weight, x)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- class targets
def _class_weight(name: str, weight: Any, classes: int, like: Tensor) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(_array(weight), dtype=like.dtype)
    if w.shape != (classes,):
        raise ShapeError(
            f"{name}: weight needs one entry per class, shape ({classes},), got {w.shape}"
        )
    return w


def _class_rows(name: str, x: Tensor) -> tuple[Tensor, int]:
    """(M, C) rows of class scores from input (C,), (N, C) or (N, C, d1, ...)."""
    if x.ndim == 0:
        raise ShapeError(f"{name} expects input (C,), (N, C) or (N, C, d1, ...), got ()")
    if x.ndim == 1:
        return x.reshape(1, -1), x.shape[0]
    classes = x.shape[1]
    if x.ndim == 2:
        return x, classes
    return x.movedim(1, -1).reshape(-1, classes), classes  # (N·d1·..., C)


def _class_targets(name: str, x: Tensor, target: Any, ignore_index: int) -> np.ndarray:
    """The integer labels as an (M,) array, after checking shape, dtype and range."""
    labels = _array(target)
    expected = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
    if labels.shape != expected:
        if x.ndim == 2 and labels.ndim == 1:
            raise ShapeError(
                f"{name}: logits of shape {x.shape} need {x.shape[0]} class labels, "
                f"got target of shape {labels.shape}"
            )
        raise ShapeError(
            f"{name}: input of shape {x.shape} needs class targets of shape {expected}, "
            f"got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise DataError(f"{name}: class labels must be integers, got dtype {labels.dtype}")
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= classes))
    if bad.any():
        where = tuple(int(i[0]) for i in np.nonzero(bad)) if labels.ndim else ()
        at = f"row {where[0]}" if labels.ndim == 1 else f"position {where}"
        raise LabelError(
            f"{name}: label {int(labels[where])} at {at} is out of range for {classes} "
            f"classes (expected 0..{classes - 1})"
        )
    return labels.reshape(-1)


def _reduce_rows(
    x: Tensor, losses: Tensor, scale: np.ndarray | None, reduction: str, label_shape: Any
) -> Tensor:
    """Per-row losses (M,), each already multiplied by its scale w[y]·[y ≠ ignore_index] when
    there is one; 'mean' divides by Σ scale (nan when it is 0, as PyTorch)."""
    if reduction == "none":
        return losses if losses.shape == tuple(label_shape) else losses.reshape(label_shape)
    if reduction == "sum":
        return losses.sum()
    if scale is None and losses.shape[0]:
        return losses.mean()
    total = _const(losses.shape[0] if scale is None else scale.sum(), x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return losses.sum() / total


def _row_scale(
    labels: np.ndarray, ignore_index: int, w: np.ndarray | None, like: Tensor
) -> tuple[np.ndarray, np.ndarray | None]:
    """(safe labels, per-row scale or None): ignored rows get label 0 and scale 0."""
    keep = labels != ignore_index
    if w is None and keep.all():
        return labels, None
    safe = np.where(keep, labels, 0)
    weights = np.ones((), dtype=like.dtype) if w is None else w[safe]
    return safe, np.where(keep, weights, 0).astype(like.dtype)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """-w[y]·input[y] per target y (0 where y is ignore_index); 'mean' divides by Σ w[y].

    Args:
        input: log-probabilities (C,), (N, C) or (N, C, d1, ...).
        target: integer class labels (), (N,) or (N, d1, ...).
        weight: optional (C,) class weights.
    """
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    rows, classes = _class_rows("nll_loss", x)
    w = _class_weight("nll_loss", weight, classes, x)
    labels = _class_targets("nll_loss", x, target, ignore_index)
    safe, scale = _row_scale(labels, ignore_index, w, x)
    losses = -rows.gather(1, safe[:, None], _unique=True).reshape(-1)  # (M,)
    if scale is not None:
        losses = losses * _const(scale, x)
    return _reduce_rows(x, losses, scale, reduction, np.shape(_array(target)))


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy from logits, as ``torch.nn.functional.cross_entropy``.

    Args:
        input: logits (C,), (N, C) or (N, C, d1, ...).
        target: integer class labels (), (N,) or (N, d1, ...); or class probabilities of the
            input's shape (floating point).
        weight: optional (C,) class weights.
        ignore_index: a label whose targets count for nothing (class labels only).
        reduction: 'mean' (weighted: Σ w[y]·loss / Σ w[y]; for probabilities, the sum over
            N·d1·...), 'sum', or 'none' for the per-target losses.
        label_smoothing: ε in [0, 1]: the target becomes (1-ε)·target + ε/C.
    """
    if (
        weight is None
        and label_smoothing == 0
        and size_average is None
        and reduce is None
        and isinstance(input, Tensor)
        and input.ndim == 2
        and reduction in ("mean", "sum")
        and not 0 <= ignore_index < input.shape[1]
    ):
        # The training loop's case, kept to one fused op and one reduction (per-step overhead
        # matters at small batches): (N, C) logits, (N,) labels all in range (so none is
        # ignore_index), no weights.
        labels = target.array if isinstance(target, Tensor) else np.asarray(target)
        if (
            labels.ndim == 1
            and labels.dtype.kind in "iu"
            and labels.shape[0] == input.shape[0] > 0
            and 0 <= labels.min()
            and labels.max() < input.shape[1]
        ):
            return apply(ops.CrossEntropy, input, target=labels, reduction=reduction)
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ConfigError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}"
        )
    x = _as_tensor(input)
    rows, classes = _class_rows("cross_entropy", x)
    w = _class_weight("cross_entropy", weight, classes, x)
    if tuple(np.shape(_array(target))) == x.shape and x.ndim >= 1:
        return _cross_entropy_probabilities(x, target, w, ignore_index, reduction, label_smoothing)
    labels = _class_targets("cross_entropy", x, target, ignore_index)
    safe, scale = _row_scale(labels, ignore_index, w, x)
    if label_smoothing == 0:
        losses = apply(ops.CrossEntropy, rows, target=safe)  # (M,)
        if scale is not None:
            losses = losses * _const(scale, x)
    else:
        # (1-ε)·w[y]·(-log p_y) + (ε/C)·Σ_c w_c·(-log p_c), zero for ignored rows.
        log_p = log_softmax(rows, dim=1)
        picked = -log_p.gather(1, safe[:, None], _unique=True).reshape(-1)
        smooth = -(log_p if w is None else log_p * _const(w, x)).sum(1)
        if scale is None:
            losses = picked * (1 - label_smoothing) + smooth * (label_smoothing / classes)
        else:
            keep = labels != ignore_index
            losses = picked * _const(scale * (1 - label_smoothing), x) + smooth * _const(
                keep * (label_smoothing / classes), x
            )
    return _reduce_rows(x, losses, scale, reduction, np.shape(_array(target)))


def _cross_entropy_probabilities(
    x: Tensor,
    target: Any,
    w: np.ndarray | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> Tensor:
    """-Σ_c w_c·t_c·log softmax(x)_c per position; 'mean' divides by N·d1·... (not by weights)."""
    t_array = _array(target)
    if t_array.dtype.kind != "f":
        raise DataError(
            f"cross_entropy: a target of the input's shape {x.shape} holds class probabilities "
            f"and must be floating point, got dtype {t_array.dtype}"
        )
    if ignore_index >= 0:
        raise DataError("cross_entropy: ignore_index is not supported for probability targets")
    class_dim = 0 if x.ndim == 1 else 1
    classes = x.shape[class_dim]
    t = _float_like(target, x)
    if label_smoothing > 0:
        t = t * (1 - label_smoothing) + label_smoothing / classes
    terms = log_softmax(x, dim=class_dim) * t
    if w is not None:
        shape = [1] * x.ndim
        shape[class_dim] = classes
        terms = terms * _const(w.reshape(shape), x)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    positions = x.array.size // classes if classes else 0
    if positions == 0:
        return -terms.sum() * float("nan")
    return -terms.sum() / positions


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """-(1/C)·Σ_c w_c·(t_c·log σ(x_c) + (1-t_c)·log σ(-x_c)) per sample, input (N, C) or (C,)."""
    reduction = _reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    t = _float_like(target, x)
    loss = -(t * apply(ops.LogSigmoid, x) + (1 - t) * apply(ops.LogSigmoid, -x))
    if weight is not None:
        loss = loss * _float_like(weight, x)
    loss = loss.sum(x.ndim - 1) / x.shape[-1]
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- margins, distances
def soft_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """log(1 + e^(-y·x)) for labels y = ±1, as -log σ(y·x) (finite where PyTorch overflows)."""
    reduction = _reduction("soft_margin_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    _check_same_shape("soft_margin_loss", x, target)
    return _reduce(-apply(ops.LogSigmoid, x * _float_like(target, x)), reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """max(0, -y·(x1 - x2) + margin) for y = ±1 (which input should rank higher)."""
    reduction = _reduction("margin_ranking_loss", size_average, reduce, reduction)
    x1, x2 = _as_tensor(input1), _as_tensor(input2)
    y = _float_like(target, x1)
    if not x1.ndim == x2.ndim == y.ndim:
        raise ShapeError(
            f"margin_ranking_loss: all inputs need the same number of dims, got input1 "
            f"{x1.shape}, input2 {x2.shape}, target {y.shape}"
        )
    return _reduce((-y * (x1 - x2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Any,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (both terms for any other y, as PyTorch)."""
    reduction = _reduction("hinge_embedding_loss", size_average, reduce, reduction)
    x = _as_tensor(input)
    y = _array(target)
    zero = _const(0, x)
    below = (margin - x).clamp_min(0).where(y != 1, zero)
    return _reduce(below + x.where(y != -1, zero), reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/‖x1‖)·(x2/‖x2‖) along dim, each norm clamped to at least eps for the value only
    (PyTorch clamps in place under no_grad, so the gradient ignores the clamp)."""
    a, b = _as_tensor(x1), _as_tensor(x2)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = a.expand(shape), b.expand(shape)

    def unit(v: Tensor) -> Tensor:
        norm = v.norm(2, dim, keepdim=True)
        floor = np.maximum(norm.array, np.asarray(eps, dtype=norm.dtype))
        return v / (norm + _const(floor - norm.array, norm))

    return (unit(a) * unit(b)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 - x2 + eps‖_p over the last dim (eps keeps the gradient finite at x1 = x2)."""
    a, b = _as_tensor(x1), _as_tensor(x2)
    last = max(a.ndim, b.ndim) - 1
    return (a - b + eps).norm(p, last, keepdim=keepdim)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; cos uses
    √((‖x1‖² + 1e-12)(‖x2‖² + 1e-12)), as PyTorch."""
    reduction = _reduction("cosine_embedding_loss", size_average, reduce, reduction)
    a, b = _as_tensor(input1), _as_tensor(input2)
    if a.ndim not in (1, 2) or a.shape != b.shape:
        raise ShapeError(
            f"cosine_embedding_loss: inputs need the same shape, (N, D) or (D,), got {a.shape} "
            f"and {b.shape}"
        )
    y = _array(target)
    if y.shape != a.shape[:-1]:
        raise ShapeError(
            f"cosine_embedding_loss: inputs of shape {a.shape} need a target of shape "
            f"{a.shape[:-1]}, got {y.shape}"
        )
    dim = a.ndim - 1
    norms = ((a * a).sum(dim) + 1e-12) * ((b * b).sum(dim) + 1e-12)
    cos = (a * b).sum(dim) / norms.sqrt()
    zero = _const(0, cos)
    loss = (1 - cos).where(y == 1, zero) + (cos - margin).clamp_min(0).where(y == -1, zero)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) with d the pairwise p-norm distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _reduction("triplet_margin_loss", size_average, reduce, reduction)
    if margin <= 0:
        raise ConfigError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    a, pos, neg = _as_tensor(anchor), _as_tensor(positive), _as_tensor(negative)
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(
            f"triplet_margin_loss: anchor {a.shape}, positive {pos.shape} and negative "
            f"{neg.shape} need the same number of dims"
        )
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: Reduction = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) for any distance d (default: pairwise_distance);
    ``swap`` uses min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _reduction("triplet_margin_with_distance_loss", None, None, reduction)
    if margin <= 0:
        raise ConfigError(
            f"triplet_margin_with_distance_loss: margin must be greater than 0, got {margin}"
        )
    a, pos, neg = _as_tensor(anchor), _as_tensor(positive), _as_tensor(negative)
    if not a.ndim == pos.ndim == neg.ndim:
        raise ShapeError(
            f"triplet_margin_with_distance_loss: anchor {a.shape}, positive {pos.shape} and "
            f"negative {neg.shape} need the same number of dims"
        )
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(a, pos)
    d_neg = distance(a, neg)
    if swap:
        d_neg = d_neg.minimum(distance(pos, neg))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


# ----------------------------------------------------------------------------- multi-class margins
def _margin_rows(name: str, input: Any) -> Tensor:
    x = _as_tensor(input)
    if x.ndim not in (1, 2) or (x.ndim == 2 and x.shape[1] == 0):
        raise ShapeError(f"{name}: input must be (C,) or (N, C) with C > 0, got shape {x.shape}")
    return x


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Multi-class hinge loss: Σ_{i ≠ y} w[y]·max(0, margin - x[y] + x[i])^p / C per sample
    (p 1 or 2), input (N, C) or (C,), labels (N,) or (); 'mean' is the plain mean over N."""
    reduction = _reduction("multi_margin_loss", size_average, reduce, reduction)
    if p not in (1, 2):
        raise ConfigError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x = _margin_rows("multi_margin_loss", input)
    rows = x if x.ndim == 2 else x.unsqueeze(0)  # (N, C)
    classes = rows.shape[1]
    labels = _array(target)
    if labels.shape != (x.shape[0],) * (x.ndim == 2):
        raise ShapeError(
            f"multi_margin_loss: input of shape {x.shape} needs class targets of shape "
            f"{x.shape[:1] if x.ndim == 2 else ()}, got {labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise DataError(f"multi_margin_loss: labels must be integers, got dtype {labels.dtype}")
    labels = labels.reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = int(labels[(labels < 0) | (labels >= classes)][0])
        raise LabelError(
            f"multi_margin_loss: label {bad} is out of range for {classes} classes "
            f"(expected 0..{classes - 1})"
        )
    picked = rows.gather(1, labels[:, None], _unique=True)  # (N, 1): x[y]
    hinge = (rows - picked + margin).clamp_min(0)
    if p == 2:
        hinge = hinge * hinge
    # The i = y term is max(0, margin)^p, a constant: PyTorch leaves it out of the sum.
    others = np.arange(classes)[None, :] != labels[:, None]
    scale = others.astype(x.dtype)
    if weight is not None:
        w = _class_weight("multi_margin_loss", weight, classes, x)
        scale = scale * w[labels][:, None]
    loss = (hinge * _const(scale, x)).sum(1) / classes  # (N,)
    if x.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Σ_j Σ_{i ∉ targets} max(0, 1 - (x[y_j] - x[i])) / C per sample, the labels y_j being
    the target's entries up to its first -1; input and target (N, C) or (C,)."""
    reduction = _reduction("multilabel_margin_loss", size_average, reduce, reduction)
    x = _margin_rows("multilabel_margin_loss", input)
    labels = _array(target)
    if labels.shape != x.shape:
        raise ShapeError(
            f"multilabel_margin_loss: target must have the input's shape {x.shape}, got "
            f"{labels.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise DataError(
            f"multilabel_margin_loss: labels must be integers, got dtype {labels.dtype}"
        )
    rows = x if x.ndim == 2 else x.unsqueeze(0)  # (N, C)
    labels = labels.reshape(rows.shape)
    classes = rows.shape[1]
    # The labels of a row are its entries before the first -1.
    used = np.cumprod(labels >= 0, axis=1).astype(bool)  # (N, C)
    if (labels[used] >= classes).any():
        bad = int(labels[used & (labels >= classes)][0])
        raise LabelError(
            f"multilabel_margin_loss: label {bad} is out of range for {classes} classes"
        )
    safe = np.where(used, labels, 0)
    is_target = np.zeros(rows.shape, dtype=bool)
    sample, slot = np.nonzero(used)
    is_target[sample, labels[sample, slot]] = True
    picked = rows.gather(1, safe)  # (N, C): x[y_j]
    pairs = (1 - picked.unsqueeze(2) + rows.unsqueeze(1)).clamp_min(0)  # (N, j, i)
    mask = used[:, :, None] & ~is_target[:, None, :]
    loss = (pairs * _const(mask, x)).sum((1, 2)) / classes  # (N,)
    if x.ndim == 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- sequences
def _lengths(name: str, what: str, lengths: Any, batch: int) -> np.ndarray:
    values = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths)
    if values.dtype.kind not in "iu":
        raise DataError(f"{name}: {what} must be integers, got dtype {values.dtype}")
    values = values.reshape(-1).astype(np.int64)
    if values.shape != (batch,):
        raise ShapeError(f"{name}: {what} must hold {batch} lengths, got {values.size}")
    if (values < 0).any():
        raise DataError(f"{name}: {what} must be >= 0, got {values.min()}")
    return values


def ctc_loss(
    log_probs: Tensor,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss: -log Σ over the alignments of each target.

    Args:
        log_probs: (T, N, C) or unbatched (T, C) log-probabilities (log_softmax over C).
        targets: padded labels (N, S), or all targets concatenated (Σ target_lengths,); none
            may be ``blank``.
        input_lengths, target_lengths: (N,) tensors, arrays or tuples of lengths.
        reduction: 'mean' divides each loss by its target length (at least 1) and averages
            over the batch; 'sum'; 'none' for the (N,) losses.
        zero_infinity: impossible alignments (inf losses) give 0 and a zero gradient.

    The gradient in log_probs is PyTorch's: that of the loss through the log_softmax it assumes
    produced them (the derivative plus exp(log_probs)), exact for the logits after log_softmax.
    """
    reduction = _reduction("ctc_loss", None, None, reduction)
    x = _as_tensor(log_probs)
    if x.ndim not in (2, 3) or x.shape[0] == 0:
        raise ShapeError(
            f"ctc_loss: log_probs must be (T, N, C) or (T, C) with T > 0, got shape {x.shape}"
        )
    batched = x.ndim == 3
    lp = x if batched else x.unsqueeze(1)
    steps, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise ConfigError(f"ctc_loss: blank must be in 0..{classes - 1}, got {blank}")
    in_len = _lengths("ctc_loss", "input_lengths", input_lengths, batch)
    tg_len = _lengths("ctc_loss", "target_lengths", target_lengths, batch)
    if (in_len > steps).any():
        raise ShapeError(
            f"ctc_loss: input length {in_len.max()} is longer than log_probs' {steps} steps"
        )
    labels = np.asarray(_array(targets))
    if labels.dtype.kind not in "iu":
        raise DataError(f"ctc_loss: targets must be integers, got dtype {labels.dtype}")
    longest = int(tg_len.max()) if batch else 0
    if batched and labels.ndim == 1:  # concatenated
        if labels.size != tg_len.sum():
            raise ShapeError(
                f"ctc_loss: concatenated targets hold {labels.size} labels but target_lengths "
                f"add up to {tg_len.sum()}"
            )
        padded = np.zeros((batch, longest), dtype=np.int64)
        padded[np.arange(longest)[None, :] < tg_len[:, None]] = labels
    else:
        padded = labels.reshape(1, -1) if not batched else labels
        if padded.ndim != 2 or padded.shape[0] != batch or padded.shape[1] < longest:
            raise ShapeError(
                f"ctc_loss: targets must be (N, S) with N = {batch} and S >= the longest target "
                f"length {longest}, got shape {labels.shape}"
            )
        padded = padded[:, :longest].astype(np.int64)
    kept = np.arange(longest)[None, :] < tg_len[:, None]
    if (padded[kept] == blank).any() or (padded[kept] < 0).any() or (padded[kept] >= classes).any():
        raise LabelError(
            f"ctc_loss: target labels must be in 0..{classes - 1} and not the blank {blank}"
        )
    extended = np.full((batch, 2 * longest + 1), blank, dtype=np.int64)
    extended[:, 1::2] = np.where(kept, padded, blank)
    losses = apply(
        CTCLoss,
        lp,
        extended=extended,
        input_lengths=in_len,
        target_lengths=tg_len,
        zero_infinity=zero_infinity,
    )  # (N,)
    if reduction == "mean":
        return (losses / _const(np.maximum(tg_len, 1), x)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses if batched else losses.reshape(())


# ----------------------------------------------------------------------------- helpers
def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows, as ``torch.nn.functional.one_hot`` (num_classes -1: max + 1)."""
    y = np.asarray(labels.array if isinstance(labels, Tensor) else labels)
    if y.dtype.kind not in "iu":
        raise DataError(f"one_hot needs integer labels, got dtype {y.dtype}")
    classes = int(y.max()) + 1 if num_classes < 0 and y.size else max(num_classes, 0)
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DataError(f"one_hot: labels must be in 0..{classes - 1}, got {y.min()}..{y.max()}")
    return tensor((y[..., None] == np.arange(classes)).astype(np.int64))


def l1_penalty(parameters: Any, weight: float) -> Tensor:
    """weight · Σ|w| over the given parameters: add it to the loss for L1 regularisation."""
    terms = [p.abs().sum() for p in parameters]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total * weight
