"""Embedding and EmbeddingBag: lookup tables of learnt vectors, as ``torch.nn``'s."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import functional as F
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError, ShapeError
from ..functional.layers import _padding_idx
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, empty


class Embedding(Module):
    """Rows of weight (num_embeddings, embedding_dim), picked by integer indices:
    input (*) -> (*, embedding_dim). Weight starts as N(0, 1), as PyTorch's.

    Args:
        padding_idx: a row that starts at zero and never receives a gradient.
        max_norm: rows looked up with a larger norm_type-norm are rescaled to it, in place.
        scale_grad_by_freq: each row's gradient is divided by its count in the mini-batch.
        sparse: only False (dense gradients) is supported.
    """

    # The initial table (from_pretrained's) is data, not architecture: model files leave it out.
    _not_config = (*Module._not_config, "_weight", "_freeze")

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        if sparse:
            raise ConfigError("Embedding: sparse=True (sparse gradients) is not supported")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            padding_idx = _padding_idx(padding_idx, num_embeddings)
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        dtype = np.float32 if dtype is None else as_dtype(dtype)
        if _weight is None:
            self.weight = Parameter(
                empty((num_embeddings, embedding_dim), dtype, "Embedding's weight"),
                requires_grad=not _freeze,
            )
            self.reset_parameters()
        else:
            table = _weight.array if isinstance(_weight, Tensor) else np.asarray(_weight)
            if table.shape != (num_embeddings, embedding_dim):
                raise ShapeError(
                    f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                    f"got {table.shape}"
                )
            self.weight = Parameter(table.copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1), with the padding row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding holding a copy of embeddings (rows, dim); freeze=True: no gradient."""
        table = embeddings.array if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if table.ndim != 2:
            raise ShapeError(
                f"Embedding.from_pretrained: embeddings must be 2-dimensional, got shape "
                f"{table.shape}"
            )
        rows, dim = table.shape
        return cls(
            rows,
            dim,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=table,
            _freeze=freeze,
        )

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        parts = [f"{self.num_embeddings}", f"{self.embedding_dim}"]
        if self.padding_idx is not None:
            parts.append(f"padding_idx={self.padding_idx}")
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm}")
        if self.norm_type != 2:
            parts.append(f"norm_type={self.norm_type}")
        if self.scale_grad_by_freq:
            parts.append("scale_grad_by_freq=True")
        return ", ".join(parts)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embedding rows, as ``torch.nn.EmbeddingBag``: input
    (B, L), or 1-D input with offsets -> (B, embedding_dim). Weight starts as N(0, 1).

    Args:
        mode: 'sum', 'mean' or 'max' over each bag.
        include_last_offset: offsets holds B + 1 entries, the last one ending the last bag.
        padding_idx: a row that starts at zero, never receives a gradient and is left out of
            the bags (and of a mean's count).
        max_norm, norm_type, scale_grad_by_freq: as Embedding's.
        sparse: only False (dense gradients) is supported.
    """

    _not_config = (*Module._not_config, "_weight")

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Any = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        if sparse:
            raise ConfigError("EmbeddingBag: sparse=True (sparse gradients) is not supported")
        if mode not in ("sum", "mean", "max"):
            raise ConfigError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            padding_idx = _padding_idx(padding_idx, num_embeddings)
        self.padding_idx = padding_idx
        dtype = np.float32 if dtype is None else as_dtype(dtype)
        if _weight is None:
            self.weight = Parameter(
                empty((num_embeddings, embedding_dim), dtype, "EmbeddingBag's weight")
            )
            self.reset_parameters()
        else:
            table = _weight.array if isinstance(_weight, Tensor) else np.asarray(_weight)
            if table.shape != (num_embeddings, embedding_dim):
                raise ShapeError(
                    f"EmbeddingBag: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                    f"got {table.shape}"
                )
            self.weight = Parameter(table.copy())
        self.mode, self.sparse = mode, sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self) -> None:
        """N(0, 1), with the padding row zeroed."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag holding a copy of embeddings (rows, dim); freeze=True: no gradient."""
        table = embeddings.array if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if table.ndim != 2:
            raise ShapeError(
                f"EmbeddingBag.from_pretrained: embeddings must be 2-dimensional, got shape "
                f"{table.shape}"
            )
        rows, dim = table.shape
        bag = cls(
            rows,
            dim,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            _weight=table,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag

    def forward(
        self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        parts = [f"{self.num_embeddings}", f"{self.embedding_dim}"]
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm!r}")
        if self.norm_type != 2:
            parts.append(f"norm_type={self.norm_type!r}")
        if self.scale_grad_by_freq:
            parts.append("scale_grad_by_freq=True")
        parts.append(f"mode={self.mode!r}")
        if self.padding_idx is not None:
            parts.append(f"padding_idx={self.padding_idx}")
        return ", ".join(parts)
