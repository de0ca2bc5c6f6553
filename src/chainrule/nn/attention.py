"""MultiheadAttention, as ``torch.nn.MultiheadAttention``: names, arguments, parameters, init."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError
from ..functional.attention import multi_head_attention_forward
from ..tensor import Tensor
from . import init
from .layers import Linear
from .module import Module, Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention's out_proj (so that reprs match)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias, init="torch")


class MultiheadAttention(Module):
    """Attention over num_heads subspaces of embed_dim / num_heads dimensions each.

    attn = softmax(q kᵀ/√d + mask) v per head, q = query W_qᵀ + b_q (k, v likewise), then the
    heads concatenated and projected by out_proj. Parameters as PyTorch: ``in_proj_weight``
    (3E, E) (or ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight``
    (E, vdim) when kdim or vdim differ from E), ``in_proj_bias`` (3E,), ``bias_k``/``bias_v``
    (1, 1, E) with add_bias_kv, ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,). Projections
    start Glorot uniform, biases at zero.

    forward(query, key, value): (L, N, E), (S, N, kdim), (S, N, vdim), or (N, L, E) ... with
    batch_first, or unbatched (L, E) ...; returns (attn_output (L, N, E), attn_weights
    (N, L, S), averaged over heads, or (N, num_heads, L, S), or None if not need_weights).
    Masks: key_padding_mask (N, S), attn_mask (L, S) or (N·num_heads, L, S); bool True means
    "do not attend", a float mask is added to the scores.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ConfigError(
                "MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                f"embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ConfigError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                f"embed_dim={embed_dim} and num_heads={num_heads}"
            )
        if not 0 <= dropout < 1:
            raise ConfigError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        super().__init__()
        check_device(device)
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=np.float32))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=np.float32))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=np.float32))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=np.float32))
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=np.float32))
        else:
            self.in_proj_bias = None
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=np.float32))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=np.float32))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if dtype is not None:
            self.to(as_dtype(dtype))

    def _reset_parameters(self) -> None:
        """Glorot uniform projections, zero biases, Glorot normal bias_k/bias_v, as PyTorch;
        out_proj.weight keeps Linear's default (He uniform with a = √5)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows only out_proj

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = query.ndim == 3
        if self.batch_first and batched:
            # (N, L, E) -> (L, N, E), keeping self-attention's q is k is v.
            if key is value:
                if query is key:
                    query = key = value = query.transpose(0, 1)
                else:
                    query, key = query.transpose(0, 1), key.transpose(0, 1)
                    value = key
            else:
                query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        out, weights = multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights
