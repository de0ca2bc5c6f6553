"""Attention as functions: scaled_dot_product_attention and multi_head_attention_forward.

Both are composites of matmul, softmax and masking (no backward of their own), with PyTorch's
arguments and mask conventions, which differ between the two: in scaled_dot_product_attention a
bool mask says where attention is *allowed* (True = take part); in multi_head_attention_forward
(and nn.MultiheadAttention) a bool mask says where it is *not* (True = masked out). Float masks
are added to the scores in both.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..errors import DataError, ShapeError
from ..tensor import Tensor, concatenate, tensor, where
from ._common import _as_tensor
from .activation import softmax
from .layers import dropout, linear


def _constant(array: np.ndarray) -> Tensor:
    """A tensor of the array's own dtype (``tensor`` would make float64 float32)."""
    return tensor(array, dtype=array.dtype)


def _is_bool(mask: Any) -> bool:
    return np.asarray(mask.array if isinstance(mask, Tensor) else mask).dtype == bool


def _mask_array(mask: Any) -> np.ndarray:
    return np.asarray(mask.array if isinstance(mask, Tensor) else mask)


def _float_mask(mask: Any, dtype: Any, what: str) -> Tensor:
    """A float mask in the scores' dtype; a Tensor of another dtype is refused, as PyTorch."""
    if isinstance(mask, Tensor):
        if mask.dtype != dtype:
            raise DataError(
                f"{what}: expected attn_mask dtype to be bool or to match query dtype, but got "
                f"attn_mask.dtype {mask.dtype} and query.dtype {dtype}"
            )
        return mask
    array = np.asarray(mask)
    if array.dtype.kind != "f":
        raise DataError(f"{what}: only bool and floating masks are supported, got {array.dtype}")
    return _constant(array.astype(dtype))


def _safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim, with rows masked everywhere (all -inf) giving zeros instead of
    NaN, as PyTorch's scaled_dot_product_attention; their gradient is zero too."""
    dead = np.all(scores.array == -np.inf, axis=-1, keepdims=True)
    if not dead.any():
        return softmax(scores, -1)
    # Zero the dead rows before softmax too: a NaN there would poison the backward.
    return where(dead, 0.0, softmax(where(dead, 0.0, scores), -1))


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q kᵀ · scale + mask) v over the last two dims.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, E_v). Leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
            (..., L, S).
        dropout_p: dropout on the attention weights, applied whenever > 0 (as PyTorch: pass
            0.0 in evaluation).
        is_causal: mask out key positions after the query's (a lower-triangular (L, S) mask,
            aligned at the top left); not together with attn_mask.
        scale: defaults to 1/√E.
        enable_gqa: grouped-query attention: key and value have fewer heads (dim -3) than the
            query, each shared by a group of query heads.

    Returns:
        (..., L, E_v). A query row that may attend nowhere gets zeros.
    """
    query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    name = "scaled_dot_product_attention"
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(
            f"{name}: expected query, key and value to be at least 2-D, got shapes "
            f"{query.shape}, {key.shape} and {value.shape}"
        )
    if not query.dtype == key.dtype == value.dtype:
        raise DataError(
            f"{name}: expected query, key and value of one dtype, got {query.dtype}, "
            f"{key.dtype} and {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(
            f"{name}: query (..., L, E) and key (..., S, E) need the same E, got shapes "
            f"{query.shape} and {key.shape}"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"{name}: key (..., S, E) and value (..., S, E_v) need the same S, got shapes "
            f"{key.shape} and {value.shape}"
        )
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if kv_heads != value.shape[-3] or heads % kv_heads:
            raise ShapeError(
                f"{name}: with enable_gqa, the number of heads in key and value must divide "
                f"the query's, got {heads} query, {kv_heads} key and {value.shape[-3]} value heads"
            )
        if heads != kv_heads:
            key = key.repeat_interleave(heads // kv_heads, -3)
            value = value.repeat_interleave(heads // kv_heads, -3)
    length, source = query.shape[-2], key.shape[-2]
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * factor  # (..., L, S)
    blocked = None  # True where a query may not attend
    if is_causal:
        if attn_mask is not None:
            raise ShapeError(f"{name}: explicit attn_mask should not be set when is_causal=True")
        blocked = ~np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        if _is_bool(attn_mask):
            blocked = ~_mask_array(attn_mask)
        else:
            scores = scores + _float_mask(attn_mask, scores.dtype, name)
    if blocked is not None:
        scores = where(blocked, -np.inf, scores)
    weights = _safe_softmax(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    return weights @ value


# ---------------------------------------------------------------------------- multi-head
def _canonical_mask(mask: Any, name: str, dtype: Any) -> Tensor | None:
    """A bool mask (True = masked out) as a float one (-inf there, 0 elsewhere)."""
    if mask is None:
        return None
    if _is_bool(mask):
        return _constant(np.where(_mask_array(mask), -np.inf, 0.0).astype(dtype))
    if isinstance(mask, Tensor) and mask.dtype.kind != "f":
        raise DataError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    return _float_mask(mask, dtype, f"multi_head_attention_forward: {name}")


def _check_shapes(
    query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any, attn_mask: Any, heads: int
) -> bool:
    """Whether the inputs are batched, checking their ranks as PyTorch's _mha_shape_check."""
    if query.ndim not in (2, 3):
        raise ShapeError(
            "MultiheadAttention: query should be unbatched 2D (L, E) or batched 3D tensor, "
            f"got shape {query.shape}"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(
            f"MultiheadAttention: for {kind} query, expected key and value to be "
            f"{query.ndim}-D but found shapes {key.shape} and {value.shape}"
        )
    if key_padding_mask is not None and np.ndim(_mask_array(key_padding_mask)) != query.ndim - 1:
        raise ShapeError(
            f"MultiheadAttention: for {kind} query, expected key_padding_mask to be None or "
            f"{query.ndim - 1}-D but found shape {np.shape(_mask_array(key_padding_mask))}"
        )
    if attn_mask is not None:
        shape = np.shape(_mask_array(attn_mask))
        if len(shape) not in (2, 3):
            raise ShapeError(
                f"MultiheadAttention: expected attn_mask to be None, 2-D or 3-D but found {shape}"
            )
        expected = (heads, query.shape[0], key.shape[0])
        if not batched and len(shape) == 3 and shape != expected:
            raise ShapeError(
                f"MultiheadAttention: expected attn_mask shape {expected}, got {shape}"
            )
    return batched


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    separate: tuple[Tensor | None, Tensor | None, Tensor | None] | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v = query W_qᵀ + b_q, key W_kᵀ + b_k, value W_vᵀ + b_v."""
    embed_dim = query.shape[-1]
    biases: tuple[Any, Any, Any] = (None, None, None)
    if in_proj_bias is not None:
        biases = tuple(in_proj_bias.chunk(3))  # type: ignore[assignment]
    if separate is not None:
        weights = separate
        for w, x, what in zip(weights, (query, key, value), ("query", "key", "value"), strict=True):
            if w is None:
                raise ShapeError(
                    f"use_separate_proj_weight is True but {what[0]}_proj_weight is None"
                )
            if w.shape != (embed_dim, x.shape[-1]):
                raise ShapeError(
                    f"expecting {what} weights shape of {(embed_dim, x.shape[-1])}, got {w.shape}"
                )
        return tuple(  # type: ignore[return-value]
            linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases, strict=True)
        )
    if in_proj_weight is None:
        raise ShapeError("use_separate_proj_weight is False but in_proj_weight is None")
    if query is key and key is value:
        # Self-attention: one (L, N, 3E) projection, then split.
        q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        return q, k, v
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    return (
        linear(query, w_q, biases[0]),
        linear(key, w_k, biases[1]),
        linear(value, w_v, biases[2]),
    )


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention, sequence-first, as PyTorch's function of the same name.

    Args:
        query: (L, N, E) or unbatched (L, E); key (S, N, E_k), value (S, N, E_v).
        key_padding_mask: (N, S) (unbatched (S,)), bool (True = ignore that key) or float.
        attn_mask: (L, S) or (N·num_heads, L, S), bool (True = not allowed) or float (added).
        need_weights: also return the attention weights, (N, num_heads, L, S), averaged over
            heads to (N, L, S) when average_attn_weights.
        is_causal: a hint that attn_mask is the causal mask (attn_mask is still required, as
            PyTorch); without weights or padding mask it is used instead of attn_mask.

    Returns:
        (attn_output (L, N, E), attn_weights or None); unbatched inputs drop the N dim.
    """
    query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = (
                key_padding_mask.unsqueeze(0)
                if isinstance(key_padding_mask, Tensor)
                else np.asarray(key_padding_mask)[None]
            )
    length, batch, embed_dim = query.shape
    dtype = query.dtype
    if (
        key_padding_mask is not None
        and attn_mask is not None
        and _is_bool(key_padding_mask) != _is_bool(attn_mask)
    ):
        warnings.warn(
            "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same "
            "type for both instead.",
            stacklevel=2,
        )
    padding = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise ShapeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )
    mask: Tensor | None = None
    if is_causal and padding is None and not need_weights:
        mask = None  # scaled_dot_product_attention builds the causal mask itself
    else:
        mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        if padding is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise ShapeError(
            f"MultiheadAttention: was expecting embedding dimension of {embed_dim_to_check}, "
            f"but got query of shape {query.shape}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ShapeError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise ShapeError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                f"{value.shape[:2]}"
            )
    elif key.shape != value.shape:
        raise ShapeError(f"key shape {key.shape} does not match value shape {value.shape}")
    if key.shape[1] != batch:
        raise ShapeError(
            f"MultiheadAttention: query has batch size {batch} but key has {key.shape[1]} "
            f"(shapes {query.shape} and {key.shape})"
        )
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    source = key.shape[0]

    if mask is not None:
        expected = (length, source) if mask.ndim == 2 else (batch * num_heads, length, source)
        if mask.shape != expected:
            raise ShapeError(
                f"The shape of the {mask.ndim}D attn_mask is {mask.shape}, but should be "
                f"{expected}."
            )
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)  # (1, L, S)

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ShapeError("bias cannot be added to static key or value")
        # One more key and value position, learnt: (S+1, N, E).
        k = concatenate([k, bias_k.expand(1, batch, embed_dim)])
        v = concatenate([v, bias_v.expand(1, batch, embed_dim)])
        mask = _pad_last(mask)
        padding = _pad_last(padding)
    elif bias_k is not None or bias_v is not None:
        raise ShapeError("bias_k and bias_v must be given together")

    q = q.reshape(length, batch * num_heads, head_dim).transpose(0, 1)  # (N·h, L, d)
    k = _heads(k, static_k, batch, num_heads, head_dim, "static_k")  # (N·h, S, d)
    v = _heads(v, static_v, batch, num_heads, head_dim, "static_v")
    if add_zero_attn:
        zeros = np.zeros((batch * num_heads, 1, head_dim), dtype=k.dtype)
        k = concatenate([k, _constant(zeros)], 1)
        v = concatenate([v, _constant(zeros)], 1)
        mask = _pad_last(mask)
        padding = _pad_last(padding)
    source = k.shape[1]

    if padding is not None:
        if padding.shape != (batch, source):
            raise ShapeError(
                f"expecting key_padding_mask shape of {(batch, source)}, but got {padding.shape}"
            )
        # (N, S) -> (N·h, 1, S): the same padding for every head of a batch element.
        padding = padding.reshape(batch, 1, 1, source).expand(-1, num_heads, -1, -1)
        padding = padding.reshape(batch * num_heads, 1, source)
        mask = padding if mask is None else mask + padding

    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)  # (N·h, L, S)
        if mask is not None:
            scores = scores + mask
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p)
        out = weights @ v  # (N·h, L, d)
        out = out.transpose(0, 1).reshape(length * batch, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(length, batch, embed_dim)
        weights = weights.reshape(batch, num_heads, length, source)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            return out.squeeze(1), weights.squeeze(0)
        return out, weights

    if mask is not None:
        if mask.shape[0] == 1 and mask.ndim == 3:
            mask = mask.unsqueeze(0)  # (1, 1, L, S)
        else:
            mask = mask.reshape(batch, num_heads, -1, source)
    q = q.reshape(batch, num_heads, length, head_dim)
    k = k.reshape(batch, num_heads, source, head_dim)
    v = v.reshape(batch, num_heads, source, head_dim)
    out = scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal)  # (N, h, L, d)
    out = out.permute(2, 0, 1, 3).reshape(batch * length, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(length, batch, embed_dim)
    return (out if batched else out.squeeze(1)), None


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """One more key position that is not masked: a zero column at the end of the last dim."""
    if mask is None:
        return None
    zeros = np.zeros((*mask.shape[:-1], 1), dtype=mask.dtype)
    return concatenate([mask, _constant(zeros)], -1)


def _heads(
    x: Tensor, static: Tensor | None, batch: int, heads: int, head_dim: int, name: str
) -> Tensor:
    """(S, N, E) -> (N·h, S, d), or the given static keys/values (N·h, S, d) as they are."""
    if static is None:
        return x.reshape(x.shape[0], batch * heads, head_dim).transpose(0, 1)
    static = _as_tensor(static)
    if static.ndim != 3 or static.shape[0] != batch * heads or static.shape[2] != head_dim:
        raise ShapeError(
            f"expecting {name} of shape ({batch * heads}, S, {head_dim}), got {static.shape}"
        )
    return static
