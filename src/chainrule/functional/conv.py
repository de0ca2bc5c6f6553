"""Convolution (1-d, 2-d, 3-d, transposed), batch normalisation, padding, fold and unfold as
functions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels, ops
from ..errors import ShapeError
from ..tensor import Tensor, apply
from ._common import _as_tensor

IntPair = int | tuple[int, ...] | list[int]
Padding = IntPair | str


def _pair(value: IntPair, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _single(value: IntPair, name: str) -> int:
    """An int, or a one-element sequence of one (PyTorch's 1-d layers store (k,))."""
    single = value if isinstance(value, int | np.integer) else tuple(value)
    if isinstance(single, tuple):
        if len(single) != 1 or not isinstance(single[0], int | np.integer):
            raise ValueError(f"{name} must be an int or a 1-tuple of an int, got {value!r}")
        single = single[0]
    return int(single)


def _triple(value: IntPair, name: str) -> tuple[int, int, int]:
    triple = (value,) * 3 if isinstance(value, int | np.integer) else tuple(value)
    if len(triple) != 3 or not all(isinstance(v, int | np.integer) for v in triple):
        raise ValueError(f"{name} must be an int or a triple of ints, got {value!r}")
    return int(triple[0]), int(triple[1]), int(triple[2])


def _as_2d(value: IntPair, name: str, dims: int, fill: int) -> tuple[int, ...]:
    """A 1-d argument as a pair for the height-1 image, a 2-d one checked, or a 3-d one as a
    triple (3-d layers run on their own three axes)."""
    if dims == 3:
        return _triple(value, name)
    return (fill, _single(value, name)) if dims == 1 else _pair(value, name)


def _size(pair: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in pair)


def _padding_text(padding: tuple[int, ...]) -> str:
    return str(padding[0]) if len(set(padding)) == 1 else str(padding)


def _check_window(
    layer: str,
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    dims: int = 2,
) -> None:
    """Positive kernel, stride and dilation, non-negative padding, and a (dilated) kernel that
    fits the padded image. For 1-d layers only the width is reported."""
    if min(stride) < 1 or min(kernel) < 1 or min(dilation) < 1:
        raise ShapeError(
            f"{layer}: kernel, stride and dilation must be positive, got {kernel[-dims:]}, "
            f"{stride[-dims:]}, {dilation[-dims:]}"
        )
    if min(padding) < 0:
        raise ShapeError(f"{layer}: padding must be non-negative, got {padding[-dims:]}")
    axes = len(kernel)
    padded = tuple(x.shape[-axes + i] + 2 * padding[i] for i in range(axes))[-dims:]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))[-dims:]
    if any(s > p for s, p in zip(span, padded, strict=True)):
        what = "kernel" if max(dilation) == 1 else "dilated kernel"
        raise ShapeError(
            f"{layer}: {what} {_size(span)} is larger than the padded "
            f"{('sequence', 'image', 'volume')[dims - 1]} {_size(padded)} "
            f"(input {x.shape}, padding {_padding_text(padding[-dims:])})"
        )


def _conv_padding(
    padding: Padding,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    dims: int,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(symmetric padding, extra rows and columns at the bottom and right; per axis)).

    'valid' is no padding. 'same' pads d·(k-1) in all, half before and the rest after, as
    PyTorch does, so an even kernel gets its odd remainder at the bottom and right; it is for
    stride 1 only (a strided 'same' has no one answer, and PyTorch refuses it).
    """
    if isinstance(padding, str):
        none = (0,) * len(kernel)
        if padding == "valid":
            return none, none
        if padding != "same":
            raise ShapeError(
                f"Invalid padding string {padding!r}, should be one of 'valid', 'same'"
            )
        if max(stride) != 1:
            raise ShapeError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        before = tuple(t // 2 for t in totals)
        return before, tuple(t - 2 * b for t, b in zip(totals, before, strict=True))
    return _as_2d(padding, "padding", dims, 0), (0,) * len(kernel)


def _conv_name(kind: str, weight: Tensor, groups: int, dims: int, transposed: bool) -> str:
    """The layer as error messages name it: Conv2d(3 -> 8, kernel 3x3[, groups 2])."""
    kernel = _size(weight.shape[2:])
    if transposed:
        in_channels, out_channels = weight.shape[0], weight.shape[1] * groups
    else:
        in_channels, out_channels = weight.shape[1] * groups, weight.shape[0]
    text = f"{kind}({in_channels} -> {out_channels}, kernel {kernel}"
    return text + (f", groups {groups})" if groups != 1 else ")")


def _check_conv_args(
    kind: str,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    groups: int,
    dims: int,
    transposed: bool = False,
) -> str:
    """Shapes of input, weight and bias for a dims-d (transposed) convolution; returns the
    layer's name for later messages."""
    kernel = ("k", "kh, kw", "kd, kh, kw")[dims - 1]
    layout = f"(C, K/groups, {kernel})" if transposed else f"(K, C/groups, {kernel})"
    if weight.ndim != dims + 2:
        raise ShapeError(f"{kind.lower()} expects a weight of shape {layout}, got {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, int | np.integer) or groups < 1:
        raise ShapeError(f"{kind}: groups must be a positive integer, got {groups!r}")
    layer = _conv_name(kind, weight, groups, dims, transposed)
    divided = weight.shape[0]
    if divided % groups:
        axis = "in_channels" if transposed else "out_channels"
        raise ShapeError(
            f"{layer}: groups={groups} must divide {axis}, weight {weight.shape} has {divided}"
        )
    in_channels = weight.shape[0] if transposed else weight.shape[1] * groups
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    spatial = ("L", "H, W", "D, H, W")[dims - 1]
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{layer} expects input (N, {in_channels}, {spatial}) or ({in_channels}, {spatial}), "
            f"got {x.shape}"
        )
    channels = x.shape[-dims - 1]
    if channels != in_channels:
        hint = ""
        if x.shape[-1] == in_channels:
            hint = " (channels last? the layout is channels first, as PyTorch's)"
        raise ShapeError(
            f"{layer} expects {in_channels} input channels, got {channels} in input of shape "
            f"{x.shape}{hint}"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ShapeError(f"{layer} expects a bias of shape ({out_channels},), got {bias.shape}")
    return layer


def _conv(
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntPair,
    padding: Padding,
    dilation: IntPair,
    groups: int,
) -> Tensor:
    """A dims-d convolution on the 2-d kernel (a 1-d one is a height-1 image), or the 3-d one."""
    x = _as_tensor(x)
    layer = _check_conv_args(f"Conv{dims}d", x, weight, bias, groups, dims)
    stride_ = _as_2d(stride, "stride", dims, 1)
    dilation_ = _as_2d(dilation, "dilation", dims, 1)
    kernel = (1, weight.shape[2]) if dims == 1 else tuple(weight.shape[2:])
    padding_, extra = _conv_padding(padding, kernel, stride_, dilation_, dims)
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.unsqueeze(0)
    if dims == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)  # (N, C, L) -> (N, C, 1, L)
    if any(extra):
        x = pad(x, tuple(w for e in reversed(extra) for w in (0, e)))  # the last axis first
    _check_window(layer, x, kernel, stride_, padding_, dilation_, dims)
    out = apply(
        ops.conv.Conv3d if dims == 3 else ops.Conv2d,
        x,
        weight,
        bias,
        stride=stride_,
        padding=padding_,
        dilation=dilation_,
        groups=int(groups),
    )
    if dims == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (im2col and one matmul).

    Args:
        input: (N, C, H, W), or (C, H, W) for one image.
        weight: (K, C/groups, kh, kw).
        bias: (K,) or None.
        stride, dilation: an int or a (vertical, horizontal) pair.
        padding: an int, a pair, 'valid' (none) or 'same' (output as large as the input;
            stride 1 only); zeros.
        groups: split C and K into this many independent convolutions (C for depthwise).

    Returns:
        (N, K, H_out, W_out) with H_out = (H + 2·padding - dilation·(kh - 1) - 1) // stride + 1,
        likewise W_out.
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``: input (N, C, L) or (C, L),
    weight (K, C/groups, k); the arguments as conv2d's, for one axis."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation, as ``torch.nn.functional.conv3d``: input (N, C, D, H, W) or
    (C, D, H, W), weight (K, C/groups, kd, kh, kw); the arguments as conv2d's, an int or a
    (depth, height, width) triple."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntPair,
    padding: IntPair,
    output_padding: IntPair,
    groups: int,
    dilation: IntPair,
) -> Tensor:
    """The adjoint of a dims-d convolution (a 1-d one on a height-1 image): each input pixel
    scatters weight-times-value into a kernel-sized window of the output, windows stride
    apart."""
    x = _as_tensor(x)
    kind = f"ConvTranspose{dims}d"
    layer = _check_conv_args(kind, x, weight, bias, groups, dims, transposed=True)
    stride_ = _as_2d(stride, "stride", dims, 1)
    padding_ = _as_2d(padding, "padding", dims, 0)
    extra = _as_2d(output_padding, "output_padding", dims, 0)
    dilation_ = _as_2d(dilation, "dilation", dims, 1)
    if min(stride_) < 1 or min(dilation_) < 1 or min(padding_) < 0 or min(extra) < 0:
        raise ShapeError(
            f"{layer}: stride and dilation must be positive, padding and output_padding "
            f"non-negative, got {stride_[-dims:]}, {dilation_[-dims:]}, "
            f"{padding_[-dims:]}, {extra[-dims:]}"
        )
    if any(e >= max(s, d) for e, s, d in zip(extra, stride_, dilation_, strict=True)):
        raise ShapeError(
            f"{layer}: output_padding {extra[-dims:]} must be smaller than either stride "
            f"{stride_[-dims:]} or dilation {dilation_[-dims:]}"
        )
    input_shape, unbatched = x.shape, x.ndim == dims + 1
    if unbatched:
        x = x.unsqueeze(0)
    if dims == 1:
        x, weight = x.unsqueeze(2), weight.unsqueeze(2)  # (N, C, L) -> (N, C, 1, L)
    spans = [(n - 1) * s + 1 for n, s in zip(x.shape[2:], stride_, strict=True)]
    sizes = [
        span - 2 * p + d * (k - 1) + e
        for span, p, d, k, e in zip(
            spans, padding_, dilation_, weight.shape[2:], extra, strict=True
        )
    ]
    if min(sizes) < 1:
        raise ShapeError(
            f"{layer}: padding {padding_[-dims:]} leaves no output for input {input_shape} "
            f"(output size {tuple(sizes[-dims:])})"
        )
    out = apply(
        ops.conv.ConvTranspose3d if dims == 3 else ops.ConvTranspose2d,
        x,
        weight,
        bias,
        stride=stride_,
        padding=padding_,
        output_padding=extra,
        dilation=dilation_,
        groups=int(groups),
    )
    if dims == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """2-D transposed convolution (the gradient of conv2d with respect to its input), as
    ``torch.nn.functional.conv_transpose2d``.

    Args:
        input: (N, C, H, W), or (C, H, W) for one image.
        weight: (C, K/groups, kh, kw).
        bias: (K,) or None.
        output_padding: rows and columns added at the bottom and right of the output, to pick
            one of the sizes a strided conv2d maps to the same output; below stride or dilation.

    Returns:
        (N, K, H_out, W_out) with
        H_out = (H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1.
    """
    return _conv_transpose(
        2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``: input
    (N, C, L) or (C, L), weight (C, K/groups, k); the arguments as conv_transpose2d's."""
    return _conv_transpose(
        1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d``: input
    (N, C, D, H, W) or (C, D, H, W), weight (C, K/groups, kd, kh, kw); the arguments as
    conv_transpose2d's, an int or a (depth, height, width) triple."""
    return _conv_transpose(
        3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def batch_norm(
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of x (N, C) or (N, C, H, W), then scale by weight and shift by bias.

    Training: by this batch's mean and biased variance over every axis but C, and update the
    running statistics in place: r ← (1 - momentum)·r + momentum·s, with the unbiased variance
    for running_var (as PyTorch). Evaluation: by running_mean and running_var. The running
    statistics may be arrays or tensors, or None in training (batch statistics only).
    """
    x = _as_tensor(x)
    if isinstance(running_mean, Tensor):
        running_mean = running_mean.array
    if isinstance(running_var, Tensor):
        running_var = running_var.array
    if running_mean is None and not training:
        raise ShapeError("batch_norm in evaluation needs running_mean and running_var")
    features = x.shape[1] if running_mean is None and x.ndim >= 2 else len(running_mean)
    if x.ndim < 2 or x.shape[1] != features:
        raise ShapeError(
            f"batch_norm over {features} features expects input (N, {features}, ...), got {x.shape}"
        )
    if not training:
        return apply(
            ops.BatchNormEval, x, weight, bias, mean=running_mean, var=running_var, eps=eps
        )
    count = x.numel() // features if features else 0
    if count < 2:
        raise ShapeError(
            f"batch_norm in training needs more than one value per channel, got input {x.shape}"
        )
    # The statistics are computed once here and handed to the primitive as constants: its
    # backward is the exact one through them, and the running statistics need them as well.
    mean, var = kernels.batch_norm_stats(
        np.ascontiguousarray(x.array).reshape(len(x), features, -1)
    )  # (C,): the batch's mean and biased variance
    if running_mean is not None:
        with_momentum = np.asarray(momentum, dtype=running_mean.dtype)
        running_mean *= 1 - with_momentum
        running_mean += with_momentum * mean
    if running_var is not None:
        with_momentum = np.asarray(momentum, dtype=running_var.dtype)
        running_var *= 1 - with_momentum
        running_var += with_momentum * var * np.asarray(count / (count - 1), dtype=var.dtype)
    return apply(ops.BatchNorm, x, weight, bias, mean=mean, var=var, eps=eps)


# ---------------------------------------------------------------------------- padding
def pad(x: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the last dims, as ``torch.nn.functional.pad``.

    Args:
        pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on.
        mode: 'constant' (with ``value``, 0 by default), 'reflect' (mirror, edge not repeated),
            'replicate' (repeat the edge) or 'circular' (wrap around).
    """
    x = _as_tensor(x)
    widths = [int(w) for w in pad]
    if len(widths) % 2 or len(widths) // 2 > x.ndim:
        raise ShapeError(
            f"pad needs pairs of widths for at most {x.ndim} dims, got {len(widths)} values"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(
            f"pad mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    pairs = [(widths[2 * i], widths[2 * i + 1]) for i in range(len(widths) // 2)]
    dims = [x.ndim - 1 - i for i in range(len(pairs))]  # the last dim first
    # Negative widths crop first, in every mode; the rest pads what is left.
    crop = [slice(None)] * x.ndim
    for d, (lo, hi) in zip(dims, pairs, strict=True):
        crop[d] = slice(max(-lo, 0), x.shape[d] - max(-hi, 0))
    if any(s != slice(None) for s in crop):
        x = x[tuple(crop)]
    pairs = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        full = [(0, 0)] * x.ndim
        for d, (lo, hi) in zip(dims, pairs, strict=True):
            full[d] = (lo, hi)
        if not any(lo or hi for lo, hi in full):
            return x
        return apply(ops.Pad, x, widths=tuple(full), value=0.0 if value is None else value)
    for d, (lo, hi) in zip(dims, pairs, strict=True):
        n = x.shape[d]
        positions = np.arange(-lo, n + hi)
        if mode == "replicate":
            index = np.clip(positions, 0, n - 1)
        elif mode == "circular":
            if lo > n or hi > n:
                raise ShapeError(f"circular padding of {lo, hi} is larger than dim {d}'s size {n}")
            index = positions % n
        else:
            if lo >= n or hi >= n:
                raise ShapeError(
                    f"reflect padding of {lo, hi} must be smaller than dim {d}'s size {n}"
                )
            period = 2 * (n - 1) if n > 1 else 1
            index = np.abs(positions) % period
            index = np.where(index >= n, period - index, index)
        x = x.index_select(d, index)  # a gather: repeated positions add up in backward
    return x


# ---------------------------------------------------------------------------- fold, unfold
def _window_args(
    kernel_size: IntPair, dilation: IntPair, padding: IntPair, stride: IntPair
) -> tuple[tuple[int, int], ...]:
    return tuple(
        _pair(value, name)
        for value, name in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )


def unfold(
    input: Tensor,
    kernel_size: IntPair,
    dilation: IntPair = 1,
    padding: IntPair = 0,
    stride: IntPair = 1,
) -> Tensor:
    """Every kernel_size window of (N, C, H, W) input (zero padded) as a column, as
    ``torch.nn.functional.unfold`` (im2col).

    Returns:
        (N, C·kh·kw, L), L the number of window positions, each column channels first then
        kernel row and column; (C·kh·kw, L) for a (C, H, W) input.
    """
    input = _as_tensor(input)
    kernel, dilation_, padding_, stride_ = _window_args(kernel_size, dilation, padding, stride)
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold expects input (N, C, H, W) or (C, H, W), got shape {input.shape}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    _check_window("unfold", x, kernel, stride_, padding_, dilation_)
    out = apply(ops.Im2Col, x, kernel=kernel, stride=stride_, padding=padding_, dilation=dilation_)
    return out.squeeze(0) if unbatched else out


def fold(
    input: Tensor,
    output_size: IntPair,
    kernel_size: IntPair,
    dilation: IntPair = 1,
    padding: IntPair = 0,
    stride: IntPair = 1,
) -> Tensor:
    """Columns (N, C·kh·kw, L) back into an (N, C, *output_size) image, summing where windows
    overlap, as ``torch.nn.functional.fold`` (col2im, the adjoint of unfold).

    L must be the number of window positions in the padded output_size image; (C·kh·kw, L)
    input gives a (C, *output_size) image.
    """
    input = _as_tensor(input)
    image_hw = _pair(output_size, "output_size")
    kernel, dilation_, padding_, stride_ = _window_args(kernel_size, dilation, padding, stride)
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"fold expects input (N, C·kh·kw, L) or (C·kh·kw, L), got shape {input.shape}"
        )
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    if min(kernel) < 1 or min(stride_) < 1 or min(dilation_) < 1 or min(padding_) < 0:
        raise ShapeError(
            f"fold: kernel_size, stride and dilation must be positive and padding non-negative, "
            f"got {kernel}, {stride_}, {dilation_}, {padding_}"
        )
    per_window = kernel[0] * kernel[1]
    if x.shape[1] % per_window:
        raise ShapeError(
            f"fold: dim {x.ndim - 2} of input {input.shape} must be divisible by the "
            f"kernel's {per_window} positions (C·kh·kw with kernel {_size(kernel)})"
        )
    blocks = [
        ops.conv.output_size(s, k, st, p, d)
        for s, k, st, p, d in zip(image_hw, kernel, stride_, padding_, dilation_, strict=True)
    ]
    if min(blocks) < 1 or x.shape[2] != blocks[0] * blocks[1]:
        raise ShapeError(
            f"fold: input {input.shape} has {x.shape[2]} blocks, but output_size "
            f"{image_hw} with kernel {kernel}, dilation {dilation_}, padding {padding_} and "
            f"stride {stride_} has {blocks[0]} x {blocks[1]} = {blocks[0] * blocks[1]}"
        )
    out = apply(
        ops.Col2Im,
        x,
        image_hw=image_hw,
        kernel=kernel,
        stride=stride_,
        padding=padding_,
        dilation=dilation_,
    )
    return out.squeeze(0) if unbatched else out
