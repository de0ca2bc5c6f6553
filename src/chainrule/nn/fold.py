"""Fold and Unfold: sliding windows of an image as columns (im2col) and back (col2im)."""

from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor
from .module import Module

IntPair = int | tuple[int, ...]


def _as_given(value: IntPair | list[int]) -> IntPair:
    """The argument as PyTorch keeps it, with a list (as a model file returns a tuple) a tuple."""
    return tuple(value) if isinstance(value, list) else value


class Unfold(Module):
    """(N, C, H, W) -> (N, C·kh·kw, L): every kernel_size window as a column."""

    def __init__(
        self,
        kernel_size: IntPair,
        dilation: IntPair = 1,
        padding: IntPair = 0,
        stride: IntPair = 1,
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation = _as_given(kernel_size), _as_given(dilation)
        self.padding, self.stride = _as_given(padding), _as_given(stride)

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Fold(Module):
    """(N, C·kh·kw, L) -> (N, C, *output_size): columns summed back into their windows."""

    def __init__(
        self,
        output_size: IntPair,
        kernel_size: IntPair,
        dilation: IntPair = 1,
        padding: IntPair = 0,
        stride: IntPair = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = _as_given(output_size), _as_given(kernel_size)
        self.dilation, self.padding = _as_given(dilation), _as_given(padding)
        self.stride = _as_given(stride)

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


__all__ = ["Fold", "Unfold"]
