"""Transformer layers, as ``torch.nn.Transformer*``: names, arguments, parameters, init.

An encoder layer is self-attention then a position-wise feed-forward network
(linear2(dropout(activation(linear1(x))))), each in a residual branch with a LayerNorm: after the
sum (``x = norm(x + f(x))``, the original post-norm) or, with norm_first, before the branch
(``x = x + f(norm(x))``). A decoder layer adds attention over the encoder's output (memory)
between the two. Shapes are sequence-first, (S, N, E), or (N, S, E) with batch_first, or
unbatched (S, E). Masks follow MultiheadAttention: bool True means "do not attend", a float mask
is added to the scores.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from ..creation import full
from ..device import check_device
from ..errors import ConfigError, ShapeError
from ..tensor import Tensor
from . import init
from .activation import GELU
from .attention import MultiheadAttention
from .container import ModuleList
from .layers import Dropout, Linear, ReLU
from .module import Module
from .normalization import LayerNorm

Activation = str | Callable[[Tensor], Tensor]

# The activations a model file can name: ``activation=F.relu`` (the default) is stored as "relu".
_ACTIVATIONS: dict[str, Callable[..., Tensor]] = {"relu": F.relu, "gelu": F.gelu}


def _check_sizes(name: str, d_model: int, nhead: int, dim_feedforward: int, dropout: float) -> None:
    if d_model <= 0 or nhead <= 0 or d_model % nhead:
        raise ConfigError(
            f"{name}: d_model must be a positive multiple of nhead, got d_model={d_model} and "
            f"nhead={nhead}"
        )
    if dim_feedforward <= 0:
        raise ConfigError(f"{name}: dim_feedforward must be positive, got {dim_feedforward}")
    if not 0 <= dropout < 1:
        raise ConfigError(f"{name}: dropout must be in [0, 1), got {dropout}")


def _activation(layer: Module, activation: Activation) -> Callable[..., Tensor]:
    """The activation function for a string or callable; F.relu and F.gelu are recorded in the
    layer's config by name, which a model file can store (any other callable it cannot)."""
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"{type(layer).__name__}: activation should be relu/gelu, not {activation!r}"
            )
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise ConfigError(
            f"{type(layer).__name__}: activation must be 'relu', 'gelu' or a callable, got "
            f"{type(activation).__name__}"
        )
    recorded = layer._init_args
    if recorded.get("activation") is activation:
        for name, fn in _ACTIVATIONS.items():
            if activation is fn:
                recorded["activation"] = name
    return activation


def _is_causal_mask(mask: Any, size: int | None) -> bool:
    """Whether mask is the (size, size) causal mask, bool (True above the diagonal) or float
    (-inf above the diagonal, 0 elsewhere), as PyTorch's _detect_is_causal_mask."""
    array = np.asarray(mask.array if isinstance(mask, Tensor) else mask)
    size = array.shape[-2] if size is None else size
    if array.shape != (size, size):
        return False
    above = np.triu(np.ones((size, size), dtype=bool), 1)
    if array.dtype == bool:
        return bool(np.array_equal(array, above))
    return bool(np.array_equal(array, np.where(above, -np.inf, 0.0)))


def _seq_len(x: Tensor, batch_first: bool) -> int:
    return x.shape[0] if x.ndim == 2 or not batch_first else x.shape[1]


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each a residual branch with a LayerNorm.

    Parameters as PyTorch: ``self_attn`` (MultiheadAttention(d_model, nhead)), ``linear1``
    (dim_feedforward, d_model), ``linear2`` (d_model, dim_feedforward), ``norm1``, ``norm2``.

    forward(src (S, N, E), src_mask (S, S) or (N·nhead, S, S), src_key_padding_mask (N, S),
    is_causal): (S, N, E).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_sizes(type(self).__name__, d_model, nhead, dim_feedforward, dropout)
        super().__init__()
        check_device(device)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        fn = _activation(self, activation)
        # PyTorch's flag for its fused inference path: 1 relu, 2 gelu, 0 anything else.
        if fn is F.relu or isinstance(fn, ReLU):
            self.activation_relu_or_gelu = 1
        elif fn is F.gelu or isinstance(fn, GELU):
            self.activation_relu_or_gelu = 2
        else:
            self.activation_relu_or_gelu = 0
        self.activation = fn

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows the sub-modules only

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(
        self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool = False
    ) -> Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the memory, and a feed-forward network, each a residual
    branch with a LayerNorm.

    Parameters as PyTorch: ``self_attn``, ``multihead_attn`` (MultiheadAttention(d_model,
    nhead)), ``linear1``, ``linear2``, ``norm1``, ``norm2``, ``norm3``.

    forward(tgt (T, N, E), memory (S, N, E), tgt_mask (T, T), memory_mask (T, S),
    tgt_key_padding_mask (N, T), memory_key_padding_mask (N, S), tgt_is_causal,
    memory_is_causal): (T, N, E).
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_sizes(type(self).__name__, d_model, nhead, dim_feedforward, dropout)
        super().__init__()
        check_device(device)
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, dtype=dtype
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, dtype=dtype
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(self, activation)

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows the sub-modules only

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            mha = self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = self.norm2(x + mha)
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(
        self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool = False
    ) -> Tensor:
        out = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(out)

    def _mha_block(
        self,
        x: Tensor,
        memory: Tensor,
        attn_mask: Any,
        key_padding_mask: Any,
        is_causal: bool = False,
    ) -> Tensor:
        out = self.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _clones(name: str, layer: Module, num_layers: int) -> ModuleList:
    """num_layers deep copies of layer (independent parameters, all starting equal), as
    PyTorch's _get_clones."""
    if not isinstance(layer, Module):
        raise ConfigError(f"{name}: expected a layer Module, got {type(layer).__name__}")
    if isinstance(num_layers, bool) or not isinstance(num_layers, int | np.integer):
        raise ConfigError(f"{name}: num_layers must be an int, got {num_layers!r}")
    if num_layers < 0:
        raise ConfigError(f"{name}: num_layers must be at least 0, got {num_layers}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer (``layers.0`` ...), applied in turn, then norm.

    A model file cannot describe it (encoder_layer is a Module): build it in code and save its
    state_dict. enable_nested_tensor is accepted for PyTorch's sake: chainrule has no nested
    tensors, so padded positions are computed like any other (as PyTorch's training path).
    """

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(type(self).__name__, encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows the sub-modules only

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        if is_causal is None:
            is_causal = False
            if mask is not None and self.layers:
                batch_first = self.layers[0].self_attn.batch_first
                is_causal = _is_causal_mask(mask, _seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(
                output,
                src_mask=mask,
                is_causal=is_causal,
                src_key_padding_mask=src_key_padding_mask,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer (``layers.0`` ...), applied in turn, then norm.

    A model file cannot describe it (decoder_layer is a Module): build it in code and save its
    state_dict.
    """

    def __init__(
        self,
        decoder_layer: TransformerDecoderLayer,
        num_layers: int,
        norm: Module | None = None,
    ) -> None:
        super().__init__()
        self.layers = _clones(type(self).__name__, decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows the sub-modules only

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        if tgt_is_causal is None:
            tgt_is_causal = False
            if tgt_mask is not None and self.layers:
                batch_first = self.layers[0].self_attn.batch_first
                tgt_is_causal = _is_causal_mask(tgt_mask, _seq_len(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(
                output,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al., 2017).

    ``encoder`` is a TransformerEncoder of num_encoder_layers TransformerEncoderLayers with a
    final LayerNorm (``encoder.norm``), ``decoder`` likewise; every parameter of two or more
    dims starts Glorot uniform, as PyTorch.

    forward(src (S, N, E), tgt (T, N, E), src_mask (S, S), tgt_mask (T, T), memory_mask (T, S),
    src_key_padding_mask (N, S), tgt_key_padding_mask (N, T), memory_key_padding_mask (N, S),
    src_is_causal, tgt_is_causal, memory_is_causal): (T, N, E).
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        _activation(self, activation)  # checks it, and records F.relu/F.gelu by name
        layer_args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_args, dtype=dtype),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype),
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_args, dtype=dtype),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype),
            )
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def extra_repr(self) -> str:
        return ""  # PyTorch's repr shows the sub-modules only

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[batch_dim] != tgt.shape[batch_dim]):
            raise ShapeError(
                f"Transformer: the batch number of src and tgt must be equal, got shapes "
                f"{src.shape} and {tgt.shape} (batch_first={self.batch_first})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(
                f"Transformer: the feature number of src and tgt must be equal to d_model "
                f"({self.d_model}), got shapes {src.shape} and {tgt.shape}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The (sz, sz) causal mask: -inf above the diagonal (a position may not attend to
        later ones), 0 elsewhere; float32 unless dtype is given."""
        check_device(device)
        return full((sz, sz), float("-inf"), dtype=dtype).triu(1)
