"""Loss modules: thin wrappers over functional, as torch.nn's (same names, arguments, defaults,
hierarchy and state_dict: class weights and ``pos_weight`` are buffers named as PyTorch's).

Their repr is ``CrossEntropyLoss()`` whatever the arguments, as PyTorch's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import functional as F
from ..errors import ConfigError, LabelError, ShapeError
from ..functional.loss import _reduction
from ..tensor import Tensor, cat, tensor
from .container import ModuleList, Sequential
from .layers import Linear
from .module import Module


class _Loss(Module):
    """Base of the losses: ``reduction`` ('mean', 'sum' or 'none'), or PyTorch's deprecated
    ``size_average``/``reduce`` pair, checked when the loss is built."""

    _reductions: tuple[str, ...] = ()

    def __init__(
        self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.reduction = _reduction(
            type(self).__name__, size_average, reduce, reduction, *self._reductions
        )

    def extra_repr(self) -> str:
        return ""

    # How a training loop reads a model's output under this loss (chainrule.train asks these,
    # so a new loss needs no edit there). The default: a regression.
    def target_for(self, y: np.ndarray, output: Tensor) -> np.ndarray:
        """Labels as this loss takes them: floats of the output's dtype, shaped as the output
        when they have as many values (a column of targets beside one output unit)."""
        y = np.asarray(y, dtype=output.dtype)
        return y.reshape(output.shape) if y.size == output.array.size else y

    def predict(self, output: np.ndarray) -> np.ndarray | None:
        """Class predictions from the model's output, or None when it is not a classification."""
        return None

    def label_classes(self, output_shape: tuple[int, ...]) -> int | None:
        """How many classes integer labels must fall in (checked before training), or None."""
        return None


class _ClassIndices:
    """Losses of class scores (N, C, ...) against integer labels: the prediction is the argmax
    over C. (Probability targets, which have the output's shape, pass through unchanged.)"""

    def target_for(self, y: np.ndarray, output: Tensor) -> np.ndarray:
        return y

    def predict(self, output: np.ndarray) -> np.ndarray | None:
        return output.argmax(axis=1) if output.ndim >= 2 else None

    def label_classes(self, output_shape: tuple[int, ...]) -> int | None:
        return output_shape[1] if len(output_shape) >= 2 else None


class _WeightedLoss(_Loss):
    """A loss with optional per-class weights, kept as the buffer ``weight``."""

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error |input - target|."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (input - target)²."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """½d²/β for |d| < β, else |d| - ½β."""

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """½d² for |d| < δ, else δ(|d| - ½δ)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) pointwise; ``reduction='batchmean'`` gives the KL divergence."""

    _reductions = ("batchmean",)

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood of target given rate exp(input) (or input)."""

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: bool | None = None,
        eps: float = 1e-8,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        return F.poisson_nll_loss(
            log_input,
            target,
            log_input=self.log_input,
            full=self.full,
            eps=self.eps,
            reduction=self.reduction,
        )


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of target given mean input and variance var."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Any, var: Any) -> Tensor:
        return F.gaussian_nll_loss(
            input, target, var, full=self.full, eps=self.eps, reduction=self.reduction
        )


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities in [0, 1]."""

    def predict(self, output: np.ndarray) -> np.ndarray | None:
        return (output.reshape(len(output), -1)[:, 0] > 0.5).astype(np.int64)

    def label_classes(self, output_shape: tuple[int, ...]) -> int | None:
        return 2

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (stable), with optional ``weight`` and ``pos_weight``."""

    def predict(self, output: np.ndarray) -> np.ndarray | None:
        return (output.reshape(len(output), -1)[:, 0] > 0).astype(np.int64)

    def label_classes(self, output_shape: tuple[int, ...]) -> int | None:
        return 2

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


class NLLLoss(_ClassIndices, _WeightedLoss):
    """Negative log-likelihood of class labels given log-probabilities (N, C, ...)."""

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CrossEntropyLoss(_ClassIndices, _WeightedLoss):
    """Softmax cross-entropy from logits (C,), (N, C) or (N, C, d1, ...), with class labels or
    class probabilities as targets."""

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ConfigError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}"
            )
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss averaged over the classes, for multi-label targets in {0, 1}."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.multilabel_soft_margin_loss(
            input, target, weight=self.weight, reduction=self.reduction
        )


class MultiMarginLoss(_ClassIndices, _WeightedLoss):
    """Multi-class hinge loss Σ_{i ≠ y} w[y]·max(0, margin - x[y] + x[i])^p / C (p 1 or 2)."""

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        if p not in (1, 2):
            raise ConfigError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        super().__init__(weight, size_average, reduce, reduction)
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.multi_margin_loss(
            input, target, self.p, self.margin, self.weight, reduction=self.reduction
        )


class MultiLabelMarginLoss(_Loss):
    """Σ_j Σ_{i ∉ targets} max(0, 1 - (x[y_j] - x[i])) / C; targets padded with -1."""

    def target_for(self, y: np.ndarray, output: Tensor) -> np.ndarray:
        return y

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification of (T, N, C) log-probabilities against
    unaligned label sequences; forward(log_probs, targets, input_lengths, target_lengths)."""

    def __init__(
        self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False
    ) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def target_for(self, y: np.ndarray, output: Tensor) -> np.ndarray:
        return y

    def forward(
        self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any
    ) -> Tensor:
        return F.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            target_lengths,
            self.blank,
            self.reduction,
            self.zero_infinity,
        )


class SoftMarginLoss(_Loss):
    """log(1 + e^(-y·x)) for labels y = ±1."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class _MarginLoss(_Loss):
    def __init__(
        self,
        margin: float = 0.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class MarginRankingLoss(_MarginLoss):
    """max(0, -y·(x1 - x2) + margin)."""

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return F.margin_ranking_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class CosineEmbeddingLoss(_MarginLoss):
    """1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - margin) for y = -1."""

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return F.cosine_embedding_loss(
            input1, input2, target, margin=self.margin, reduction=self.reduction
        )


class HingeEmbeddingLoss(_Loss):
    """x for y = 1, max(0, margin - x) for y = -1."""

    def __init__(
        self,
        margin: float = 1.0,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) with the pairwise p-norm distance d."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ConfigError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(
            anchor,
            positive,
            negative,
            margin=self.margin,
            p=self.p,
            eps=self.eps,
            swap=self.swap,
            reduction=self.reduction,
        )


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) for a distance function d (default: the pairwise
    2-norm distance)."""

    _not_config = (*_Loss._not_config, "distance_function")

    def __init__(
        self,
        *,
        distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ConfigError(
                f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin}"
            )
        self.distance_function = distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


class _ASMoutput(NamedTuple):
    """AdaptiveLogSoftmaxWithLoss's result: each target's log-probability and the mean loss."""

    output: Tensor
    loss: Tensor


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax for many classes (Grave et al. 2016), as PyTorch's: the head scores
    the cutoffs[0] frequent classes and one entry per tail cluster; cluster i scores its classes
    through a projection to in_features // div_value^(i+1) dims. forward(input, target) gives
    (output: log p(target), loss: mean of -output); log_prob and predict cover every class."""

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Any,
        div_value: float = 4.0,
        head_bias: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ConfigError(
                "AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0"
            )
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ConfigError(
                "AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive "
                "integers sorted in an increasing order, where each value is between 1 and "
                f"n_classes-1 = {n_classes - 1}, got {cutoffs}"
            )
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [*cutoffs, n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        options = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **options)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, **options),
                    Linear(hidden, size, bias=False, **options),
                )
            )

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input: Tensor, target: Any) -> _ASMoutput:
        labels = np.asarray(target.array if isinstance(target, Tensor) else target)
        if labels.ndim == 1:
            if input.ndim != 2 or input.shape[0] != labels.shape[0]:
                raise ShapeError(
                    f"AdaptiveLogSoftmaxWithLoss: a (N,) target needs (N, in_features) input, "
                    f"got input {input.shape} and target {labels.shape}"
                )
        elif labels.ndim == 0:
            if input.ndim != 1:
                raise ShapeError(
                    f"AdaptiveLogSoftmaxWithLoss: a 0-d target needs (in_features,) input, got "
                    f"{input.shape}"
                )
        else:
            raise ShapeError(
                f"AdaptiveLogSoftmaxWithLoss: 0-d or 1-d target expected, got {labels.shape}"
            )
        batched = labels.ndim == 1
        x = input if batched else input.unsqueeze(0)
        labels = labels.reshape(-1).astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise LabelError(
                f"AdaptiveLogSoftmaxWithLoss: target values should be in "
                f"[0, {self.n_classes - 1}], but values in range [{labels.min()}, "
                f"{labels.max()}] were found"
            )
        # Each row's entry in the head: its class if in the shortlist, else its cluster.
        head_index = labels.copy()
        output = tensor(np.zeros(labels.shape, dtype=x.dtype), dtype=x.dtype)
        for i, (low, high) in enumerate(zip(self.cutoffs, self.cutoffs[1:], strict=False)):
            rows = np.flatnonzero((labels >= low) & (labels < high))
            if not rows.size:
                continue
            head_index[rows] = self.shortlist_size + i
            scores = self.tail[i](x[rows]).log_softmax(1)
            local = scores.gather(1, (labels[rows] - low)[:, None]).reshape(-1)
            output = output.index_add(0, rows, local)
        head = self.head(x).log_softmax(1)
        output = output + head.gather(1, head_index[:, None]).reshape(-1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.reshape(()), loss)

    def _full_log_prob(self, x: Tensor, head_output: Tensor) -> Tensor:
        head = head_output.log_softmax(1)
        parts = [head[:, : self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster = projection(x).log_softmax(1)
            parts.append(cluster + head[:, self.shortlist_size + i : self.shortlist_size + i + 1])
        return cat(parts, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """log p(c | input) for every class: (N, n_classes), or (n_classes,) for (in_features,)."""
        if input.ndim == 1:
            return self.log_prob(input.unsqueeze(0))[0]
        return self._full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class per row, as log_prob(input).argmax(1)."""
        return self.log_prob(input).argmax(-1)

    def extra_repr(self) -> str:
        return ""


class CosineSimilarity(Module):
    """Cosine similarity of x1 and x2 along dim."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return ""


class PairwiseDistance(Module):
    """‖x1 - x2 + eps‖_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def extra_repr(self) -> str:
        return ""
