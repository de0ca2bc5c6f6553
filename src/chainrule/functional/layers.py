"""Linear, embedding and the dropout family as functions."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import ops
from ..errors import ConfigError, LabelError, ShapeError
from ..grad_mode import no_grad
from ..random import default_generator
from ..tensor import Tensor, apply, tensor
from ._common import _as_tensor

# AlphaDropout keeps SELU's fixed point: dropped units go to SELU's negative saturation value
# -scale·α = -1.7581 and an affine map restores mean 0 and variance 1 (Klambauer et al. 2017).
_SELU_SATURATION = 1.7580993408473766


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weightᵀ + bias.  x (*, in), weight (out, in), bias (out,) -> (*, out)."""
    x = _as_tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        out_features, in_features = weight.shape
        raise ShapeError(
            f"Linear({in_features} -> {out_features}) expects input (*, {in_features}), "
            f"got {x.shape}"
        )
    return apply(ops.Linear, x, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_o = x1ᵀ·weight_o·x2 + bias_o.  input1 (*, in1), input2 (*, in2), weight
    (out, in1, in2), bias (out,) -> (*, out)."""
    input1, input2 = _as_tensor(input1), _as_tensor(input2)
    if weight.ndim != 3:
        raise ShapeError(f"bilinear expects a weight (out, in1, in2), got {weight.shape}")
    out_features, in1, in2 = weight.shape
    layer = f"Bilinear({in1}, {in2} -> {out_features})"
    if (
        input1.ndim == 0
        or input1.shape[-1] != in1
        or input2.shape[-1:] != (in2,)
        or input1.shape[:-1] != input2.shape[:-1]
    ):
        raise ShapeError(
            f"{layer} expects inputs (*, {in1}) and (*, {in2}) with the same leading dims, "
            f"got {input1.shape} and {input2.shape}"
        )
    if bias is not None and bias.shape != (out_features,):
        raise ShapeError(f"{layer} expects a bias of shape ({out_features},), got {bias.shape}")
    out = apply(ops.Einsum, input1, weight, input2, equation="...i,oij,...j->...o")
    return out + bias if bias is not None else out


# ----------------------------------------------------------------------------- dropout
def _check_p(p: float) -> None:
    if not 0 <= p <= 1:
        raise ConfigError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(
    x: Tensor, p: float, training: bool, inplace: bool, *, feature: bool, alpha: bool, name: str
) -> Tensor:
    """Multiply by a Bernoulli(1-p) mask scaled to keep the mean; one mask value per (N, C)
    channel when ``feature``; AlphaDropout's affine correction when ``alpha``."""
    _check_p(p)
    x = _as_tensor(x)
    if not training or p == 0:
        return x
    if feature and x.ndim < 2:
        raise ShapeError(
            f"{name}: channel-wise dropout needs at least 2 dimensions (N, C, ...), got input "
            f"of shape {x.shape}"
        )
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape  # (N, C, 1, ..., 1)

    def compute(t: Tensor) -> Tensor:
        if p == 1:
            return t * np.zeros((), dtype=t.dtype)  # PyTorch: zeros, gradient 0
        keep = (default_generator().random(shape, dtype=np.float32) >= p).astype(t.dtype)
        if not alpha:
            return t * (keep / np.asarray(1 - p, dtype=t.dtype))
        # y = a·(x·keep + α'·(1 - keep)) + b, with a, b restoring mean 0 and variance 1.
        a = 1 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
        shift = (keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
        return t * (keep * np.asarray(a, dtype=t.dtype)) + shift.astype(t.dtype)

    return x._inplace(compute, name + "_") if inplace else compute(x)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    return _dropout(input, p, training, inplace, feature=False, alpha=False, name="dropout")


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability p, scale by 1/(1-p)."""
    _check_p(p)
    input = _as_tensor(input)
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"dropout1d: expected 2D or 3D input ((C, L) or (N, C, L)), got input of shape "
            f"{input.shape}"
        )
    batched = input.ndim == 3
    return _feature_dropout(input, p, training, inplace, batched, name="dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability p, scale by 1/(1-p).

    As PyTorch's, a 3-d input is taken as (N, C, L) (with its warning), not as unbatched."""
    _check_p(p)
    input = _as_tensor(input)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated; "
            "dropout2d expects 3D or 4D input.",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. To keep this behaviour, use dropout1d.",
            stacklevel=2,
        )
    return _dropout(input, p, training, inplace, feature=True, alpha=False, name="dropout2d")


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    _check_p(p)
    input = _as_tensor(input)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated; "
            "dropout3d expects 4D or 5D input.",
            stacklevel=2,
        )
    # As PyTorch's: anything but 5-d is taken as one unbatched sample (C, D, H, W).
    batched = input.ndim == 5
    return _feature_dropout(input, p, training, inplace, batched, name="dropout3d")


def _feature_dropout(
    x: Tensor, p: float, training: bool, inplace: bool, batched: bool, *, name: str
) -> Tensor:
    """Channel-wise dropout of (N, C, *) input, or of unbatched (C, *) input seen as (1, C, *)."""
    if batched:
        return _dropout(x, p, training, inplace, feature=True, alpha=False, name=name)
    if inplace:  # the (1, C, ...) view shares x's memory: writing it writes x
        _dropout(x.unsqueeze(0), p, training, True, feature=True, alpha=False, name=name)
        return x
    return _dropout(x.unsqueeze(0), p, training, False, feature=True, alpha=False, name=name)[0]


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value, then an affine
    map keeps mean 0 and variance 1. Note PyTorch's default training=False here."""
    return _dropout(input, p, training, inplace, feature=False, alpha=True, name="alpha_dropout")


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """alpha_dropout with one mask value per (N, C) channel."""
    return _dropout(
        input, p, training, inplace, feature=True, alpha=True, name="feature_alpha_dropout"
    )


# ----------------------------------------------------------------------------- embedding
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of weight (num_embeddings, embedding_dim) picked by integer indices of any shape:
    input (*) -> (*, embedding_dim).

    padding_idx's row gets no gradient; max_norm renormalises, in place, each looked-up row whose
    norm exceeds it (as PyTorch's, this changes weight); scale_grad_by_freq divides each row's
    gradient by its count in input.
    """
    if sparse:
        raise ConfigError("embedding: sparse=True (sparse gradients) is not supported")
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: weight must be (num_embeddings, embedding_dim), got shape {weight.shape}"
        )
    num_embeddings = weight.shape[0]
    indices = _indices(input, num_embeddings)
    if padding_idx is not None:
        padding_idx = _padding_idx(padding_idx, num_embeddings)
    if max_norm is not None:
        _renorm_rows(weight, indices, max_norm, norm_type)
    return apply(
        ops.Embedding,
        weight,
        indices=indices,
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum, mean or max of each bag of embedding rows, without the (*, D) lookups between.

    Bags are the rows of a 2-D input (B, L), or the slices input[offsets[i]:offsets[i+1]] of a
    1-D input (the last one running to the end, or to offsets[-1] with include_last_offset).
    Entries equal to padding_idx count for nothing (not even in a mean's count); an empty bag
    gives zeros. per_sample_weights (the input's shape, 'sum' only) scales each row.
    Returns (B, embedding_dim).
    """
    if sparse:
        raise ConfigError("embedding_bag: sparse=True (sparse gradients) is not supported")
    if mode not in ("sum", "mean", "max"):
        raise ConfigError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding_bag: weight must be (num_embeddings, embedding_dim), got shape "
            f"{weight.shape}"
        )
    num_embeddings, dim = weight.shape
    indices = _indices(input, num_embeddings)
    if indices.ndim == 2:
        if offsets is not None:
            raise ShapeError("embedding_bag: offsets must be None when input is 2-D (B, L)")
        bags, length = indices.shape
        bag = np.repeat(np.arange(bags), length)  # (M,): each entry's bag
        flat = indices.reshape(-1)
    elif indices.ndim == 1:
        if offsets is None:
            raise ShapeError("embedding_bag: a 1-D input needs offsets (where each bag starts)")
        starts = np.asarray(offsets.array if isinstance(offsets, Tensor) else offsets)
        if starts.ndim != 1 or starts.dtype.kind not in "iu":
            raise ShapeError(
                f"embedding_bag: offsets must be a 1-D integer tensor, got shape {starts.shape} "
                f"and dtype {starts.dtype}"
            )
        if starts.size and starts[0] != 0:
            raise ConfigError(f"embedding_bag: offsets[0] must be 0, got {int(starts[0])}")
        if (np.diff(starts) < 0).any() or (starts.size and starts[-1] > indices.size):
            raise ConfigError(
                f"embedding_bag: offsets must be non-decreasing and at most the input's length "
                f"{indices.size}, got {starts.tolist()}"
            )
        flat = indices
        end = indices.size
        if include_last_offset and starts.size:
            end, starts = int(starts[-1]), starts[:-1]
        bags = starts.size
        bag = np.searchsorted(starts, np.arange(flat.size), side="right") - 1
        bag[end:] = -1  # past offsets[-1] with include_last_offset: in no bag
    else:
        raise ShapeError(
            f"embedding_bag: input must be 1-D (with offsets) or 2-D (B, L), got shape "
            f"{indices.shape}"
        )
    if padding_idx is not None:
        padding_idx = _padding_idx(padding_idx, num_embeddings)
    if per_sample_weights is not None:
        if mode != "sum":
            raise ConfigError(
                f"embedding_bag: per_sample_weights is only supported for mode='sum', got "
                f"mode={mode!r}"
            )
        if tuple(per_sample_weights.shape) != indices.shape:
            raise ShapeError(
                f"embedding_bag: per_sample_weights must have the input's shape "
                f"{indices.shape}, got {tuple(per_sample_weights.shape)}"
            )
    if max_norm is not None:
        _renorm_rows(weight, indices, max_norm, norm_type)
    kept = np.flatnonzero((bag >= 0) & (flat != (-1 if padding_idx is None else padding_idx)))
    rows = apply(
        ops.Embedding,
        weight,
        indices=flat[kept],
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )  # (K, D)
    bag = bag[kept]
    out = tensor(np.zeros((bags, dim), dtype=weight.dtype), dtype=weight.dtype)
    if mode == "max":
        return out.scatter_reduce(
            0, np.broadcast_to(bag[:, None], rows.shape), rows, "amax", include_self=False
        )
    if mode == "mean":
        counts = np.bincount(bag, minlength=bags)[bag]
        share = (1 / counts).astype(weight.dtype)[:, None]
        rows = rows * tensor(share, dtype=weight.dtype)
    elif per_sample_weights is not None:
        scale = _as_tensor(per_sample_weights).reshape(-1)[kept]
        rows = rows * scale.unsqueeze(1)
    return out.index_add(0, bag, rows)


def _indices(input: object, num_embeddings: int) -> np.ndarray:
    indices = input.array if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise ConfigError(
            f"embedding: indices must be an integer tensor, got dtype {indices.dtype}"
        )
    if indices.size:
        low, high = int(indices.min()), int(indices.max())
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise LabelError(
                f"embedding: index {bad} is out of range for an embedding of "
                f"{num_embeddings} rows (indices must be in [0, {num_embeddings - 1}])"
            )
    return indices


def _padding_idx(padding_idx: int, num_embeddings: int) -> int:
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ConfigError(
            f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}"
        )
    return padding_idx % num_embeddings


def _renorm_rows(weight: Tensor, indices: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: each looked-up row with norm > max_norm is scaled by
    max_norm/(norm + 1e-7), in place and outside the graph."""
    rows = np.unique(indices)
    values = weight.array[rows]  # (R, D)
    norms = np.linalg.norm(values, ord=norm_type, axis=1)
    over = norms > max_norm
    if not over.any():
        return
    scale = (max_norm / (norms[over] + 1e-7)).astype(values.dtype)
    with no_grad():
        weight[rows[over]] = values[over] * scale[:, None]
