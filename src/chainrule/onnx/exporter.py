"""The ONNX exporter: a chainrule module tree translated, layer by layer, into one ONNX graph.

One forward pass of the example input (in eval mode, with forward hooks) records each layer's
input shape; each layer then becomes a few ONNX nodes. The batch dimension is symbolic ("N"):
every reshape copies it (a 0 in the target shape) instead of fixing it.
"""

from __future__ import annotations

import os
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import nn
from ..errors import ConfigError
from ..fileio import atomic_write_bytes
from ..grad_mode import no_grad
from ..models import BasicBlock, ImageRows, RecurrentLast
from ..tensor import Tensor, tensor

OPSET = 17
IR_VERSION = 8  # the IR of opset 17 (ONNX 1.12); read by every current runtime
BATCH = "N"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ConfigError(
            "ONNX export needs the onnx package: pip install 'chainrule[onnx]'"
        ) from None
    return onnx


def _ntuple(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int | np.integer):
        return (int(value),) * dims
    return tuple(int(v) for v in value)


class _Graph:
    """The nodes under construction, the state_dict they read, and the shapes seen in forward."""

    def __init__(
        self, onnx: Any, state: dict[str, np.ndarray], shapes: dict[int, deque[Any]]
    ) -> None:
        self.onnx, self.state, self.shapes = onnx, state, shapes
        self.nodes: list[Any] = []
        self.initializers: dict[str, np.ndarray] = {}
        self._count: dict[str, int] = defaultdict(int)

    def fresh(self, hint: str) -> str:
        self._count[hint] += 1
        n = self._count[hint]
        return hint if n == 1 else f"{hint}_{n}"

    def op(
        self, op_type: str, inputs: Sequence[str], name: str, outputs: int = 1, **attrs: Any
    ) -> Any:
        base = f"{name}/{op_type}" if name else op_type
        node_name = self.fresh(base)
        out = [f"{node_name}:{i}" for i in range(outputs)]
        self.nodes.append(
            self.onnx.helper.make_node(op_type, list(inputs), out, name=node_name, **attrs)
        )
        return out[0] if outputs == 1 else out

    def const(self, value: Any, name: str, dtype: Any = np.float32) -> str:
        """A Constant node (not an initialiser: the initialisers are the state_dict's)."""
        array = np.asarray(value, dtype=dtype)
        base = self.fresh(f"{name}/Constant" if name else "Constant")
        out = f"{base}:0"
        tensor_proto = self.onnx.numpy_helper.from_array(array, base)
        self.nodes.append(
            self.onnx.helper.make_node("Constant", [], [out], name=base, value=tensor_proto)
        )
        return out

    def ints(self, values: Sequence[int], name: str) -> str:
        return self.const(list(values), name, np.int64)

    def param(self, key: str) -> str:
        """The initialiser named key, the state_dict entry it holds."""
        if key not in self.initializers:
            self.initializers[key] = self.state[key]
        return key

    def emit(self, module: nn.Module, name: str, x: str) -> Any:
        queue = self.shapes.get(id(module))
        if not queue:
            raise ConfigError(
                f"ONNX export: layer {_label(name, module)} was not called in forward"
            )
        in_shape = queue.popleft()
        handler = _HANDLERS.get(type(module))
        if handler is None:
            raise ConfigError(
                f"ONNX export: no ONNX translation for layer {_label(name, module)}; "
                f"exportable layers: {', '.join(sorted(c.__name__ for c in _HANDLERS))}"
            )
        return handler(self, module, name, x, in_shape)


def _label(name: str, module: nn.Module) -> str:
    return (
        f"{name!r} ({type(module).__name__})" if name else f"(the model, {type(module).__name__})"
    )


def _key(name: str, attr: str) -> str:
    return f"{name}.{attr}" if name else attr


Handler = Callable[[_Graph, Any, str, str, tuple[int, ...]], Any]
_HANDLERS: dict[type, Handler] = {}


def _handles(*classes: type) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for cls in classes:
            _HANDLERS[cls] = fn
        return fn

    return register


def _unsupported(name: str, module: nn.Module, what: str) -> ConfigError:
    return ConfigError(f"ONNX export: layer {_label(name, module)}: {what} has no ONNX form")


# ----------------------------------------------------------------------------- containers
@_handles(nn.Sequential)
def _sequential(g: _Graph, m: Any, name: str, x: Any, shape: tuple[int, ...]) -> Any:
    for child_name, child in m.named_children():
        x = g.emit(child, _key(name, child_name), x)
    return x


@_handles(BasicBlock)
def _basic_block(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    def child(attr: str, value: str) -> str:
        return g.emit(getattr(m, attr), _key(name, attr), value)

    out = child("relu", child("bn1", child("conv1", x)))
    out = child("bn2", child("conv2", out))
    identity = x if m.downsample is None else child("downsample", x)
    return child("relu", g.op("Add", [out, identity], name))


@_handles(ImageRows)
def _image_rows(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    # (N, C, H, W) -> (N, H, C, W) -> (N, H, C·W)
    _, c, _, w = shape
    rows = g.op("Transpose", [x], name, perm=[0, 2, 1, 3])
    return g.op("Reshape", [rows, g.ints([0, 0, c * w], name)], name)


# ----------------------------------------------------------------------------- dense layers
@_handles(nn.Linear)
def _linear(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    weight = g.param(_key(name, "weight"))
    bias = [g.param(_key(name, "bias"))] if m.bias is not None else []
    if len(shape) == 2:
        return g.op("Gemm", [x, weight, *bias], name, transB=1)
    out = g.op("MatMul", [x, g.op("Transpose", [weight], name, perm=[1, 0])], name)
    return g.op("Add", [out, *bias], name) if bias else out


@_handles(nn.Normalize)
def _normalize(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    centred = g.op("Sub", [x, g.param(_key(name, "mean"))], name)
    return g.op("Div", [centred, g.param(_key(name, "std"))], name)


@_handles(
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
def _identity(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Identity", [x], name)  # dropout in eval mode


@_handles(nn.Flatten)
def _flatten(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    ndim = len(shape)
    start, end = m.start_dim % ndim, m.end_dim % ndim
    if start == 1 and end == ndim - 1:
        return g.op("Flatten", [x], name, axis=1)
    # Leading dims copied (0, the batch among them), the folded ones inferred, the rest fixed.
    target = [0] * start + [-1] + list(shape[end + 1 :])
    return g.op("Reshape", [x, g.ints(target, name)], name)


@_handles(nn.Unflatten)
def _unflatten(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    dim = m.dim % len(shape)
    if tuple(shape[dim:]) == m.unflattened_size:
        return g.op("Identity", [x], name)  # already unflattened: chainrule's pass-through
    return g.op("Reshape", [x, g.ints([0] * dim + list(m.unflattened_size), name)], name)


# ----------------------------------------------------------------------------- activations
_SIMPLE: dict[type, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    nn.ReLU: ("Relu", lambda m: {}),
    nn.Sigmoid: ("Sigmoid", lambda m: {}),
    nn.Tanh: ("Tanh", lambda m: {}),
    nn.Softsign: ("Softsign", lambda m: {}),
    nn.Hardswish: ("HardSwish", lambda m: {}),
    nn.LeakyReLU: ("LeakyRelu", lambda m: {"alpha": float(m.negative_slope)}),
    nn.ELU: ("Elu", lambda m: {"alpha": float(m.alpha)}),
    nn.CELU: ("Celu", lambda m: {"alpha": float(m.alpha)}),
    # PyTorch's constants (ONNX's defaults are their float32 roundings).
    nn.SELU: ("Selu", lambda m: {"alpha": 1.6732632423543772, "gamma": 1.0507009873554805}),
    nn.Hardsigmoid: ("HardSigmoid", lambda m: {"alpha": 1 / 6, "beta": 0.5}),
    nn.Softshrink: ("Shrink", lambda m: {"lambd": float(m.lambd), "bias": float(m.lambd)}),
    nn.Hardshrink: ("Shrink", lambda m: {"lambd": float(m.lambd), "bias": 0.0}),
}


def _simple(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    op_type, attrs = _SIMPLE[type(m)]
    return g.op(op_type, [x], name, **attrs(m))


for _cls in _SIMPLE:
    _HANDLERS[_cls] = _simple


@_handles(nn.GELU)
def _gelu(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    # opset 17 has no Gelu: x·Φ(x) = x·(1 + erf(x/√2))/2, or the tanh approximation.
    if m.approximate == "tanh":
        cube = g.op("Mul", [x, g.op("Mul", [x, x], name)], name)
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, name)], name)], name)
        arg = g.op("Mul", [inner, g.const(np.sqrt(2 / np.pi), name)], name)
        core = g.op("Tanh", [arg], name)
    else:
        core = g.op("Erf", [g.op("Div", [x, g.const(np.sqrt(2.0), name)], name)], name)
    half = g.op("Mul", [x, g.const(0.5, name)], name)
    return g.op("Mul", [half, g.op("Add", [core, g.const(1.0, name)], name)], name)


@_handles(nn.SiLU)
def _silu(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Mul", [x, g.op("Sigmoid", [x], name)], name)


@_handles(nn.Mish)
def _mish(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x], name)], name)], name)


@_handles(nn.Softplus)
def _softplus(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    # log(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's linear region).
    scaled = g.op("Mul", [x, g.const(m.beta, name)], name)
    soft = g.op("Div", [g.op("Softplus", [scaled], name), g.const(m.beta, name)], name)
    linear = g.op("Greater", [scaled, g.const(m.threshold, name)], name)
    return g.op("Where", [linear, x, soft], name)


@_handles(nn.Hardtanh, nn.ReLU6)
def _hardtanh(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Clip", [x, g.const(m.min_val, name), g.const(m.max_val, name)], name)


@_handles(nn.LogSigmoid)
def _logsigmoid(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    # log σ(x) = -softplus(-x)
    return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x], name)], name)], name)


@_handles(nn.Tanhshrink)
def _tanhshrink(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Sub", [x, g.op("Tanh", [x], name)], name)


@_handles(nn.Threshold)
def _threshold(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    above = g.op("Greater", [x, g.const(m.threshold, name)], name)
    return g.op("Where", [above, x, g.const(m.value, name)], name)


def _softmax_axis(m: Any, shape: tuple[int, ...]) -> int:
    # dim=None: PyTorch's legacy rule.
    return (0 if len(shape) in (0, 1, 3) else 1) if m.dim is None else int(m.dim)


@_handles(nn.Softmax)
def _softmax(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Softmax", [x], name, axis=_softmax_axis(m, shape))


@_handles(nn.LogSoftmax)
def _log_softmax(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("LogSoftmax", [x], name, axis=_softmax_axis(m, shape))


@_handles(nn.Softmin)
def _softmin(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Softmax", [g.op("Neg", [x], name)], name, axis=_softmax_axis(m, shape))


@_handles(nn.Softmax2d)
def _softmax2d(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    return g.op("Softmax", [x], name, axis=-3)


@_handles(nn.GLU)
def _glu(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    half = shape[m.dim] // 2
    a, b = g.op("Split", [x, g.ints([half, half], name)], name, outputs=2, axis=m.dim)
    return g.op("Mul", [a, g.op("Sigmoid", [b], name)], name)


@_handles(nn.PReLU)
def _prelu(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    slope = g.param(_key(name, "weight"))
    if m.num_parameters > 1 and len(shape) > 2:
        # One slope per channel (dim 1): (C,) -> (C, 1, ...) to broadcast over the positions.
        target = [m.num_parameters] + [1] * (len(shape) - 2)
        slope = g.op("Reshape", [slope, g.ints(target, name)], name)
    return g.op("PRelu", [x, slope], name)


# ----------------------------------------------------------------------------- convolution
def _spatial(name: str, m: Any, shape: tuple[int, ...], dims: int) -> None:
    if len(shape) != dims + 2:
        raise ConfigError(
            f"ONNX export: layer {_label(name, m)} takes batched input (N, C, ...), "
            f"got shape {shape}"
        )


@_handles(nn.Conv1d, nn.Conv2d, nn.Conv3d)
def _conv(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    dims = m.dims
    _spatial(name, m, shape, dims)
    if isinstance(m.padding, str) or m.padding_mode != "zeros":
        # PyTorch's stored F.pad order: (begin, end) pairs, the last dim first.
        flat = m._reversed_padding_repeated_twice
        pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(dims)][::-1]
        begins, ends = [p[0] for p in pairs], [p[1] for p in pairs]
    else:
        begins = ends = list(m.padding)
    if m.padding_mode != "zeros":
        modes = {"reflect": "reflect", "replicate": "edge"}
        if m.padding_mode not in modes:
            raise _unsupported(name, m, f"padding_mode={m.padding_mode!r} (opset {OPSET})")
        pads = g.ints([0, 0, *begins, 0, 0, *ends], name)
        x = g.op("Pad", [x, pads], name, mode=modes[m.padding_mode])
        begins = ends = [0] * dims
    inputs = [x, g.param(_key(name, "weight"))]
    if m.bias is not None:
        inputs.append(g.param(_key(name, "bias")))
    return g.op(
        "Conv",
        inputs,
        name,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=[*begins, *ends],
        dilations=list(m.dilation),
        group=m.groups,
    )


@_handles(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv_transpose(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    _spatial(name, m, shape, m.dims)
    inputs = [x, g.param(_key(name, "weight"))]
    if m.bias is not None:
        inputs.append(g.param(_key(name, "bias")))
    return g.op(
        "ConvTranspose",
        inputs,
        name,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        pads=[*m.padding, *m.padding],
        dilations=list(m.dilation),
        output_padding=list(m.output_padding),
        group=m.groups,
    )


@_handles(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batch_norm(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    if m.running_mean is None:
        raise _unsupported(name, m, "track_running_stats=False (batch statistics in eval)")
    c = m.num_features
    scale = g.param(_key(name, "weight")) if m.weight is not None else g.const(np.ones(c), name)
    bias = g.param(_key(name, "bias")) if m.bias is not None else g.const(np.zeros(c), name)
    mean, var = g.param(_key(name, "running_mean")), g.param(_key(name, "running_var"))
    return g.op("BatchNormalization", [x, scale, bias, mean, var], name, epsilon=float(m.eps))


# ----------------------------------------------------------------------------- pooling
_POOL_DIMS = {
    nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3,
    nn.AvgPool1d: 1, nn.AvgPool2d: 2, nn.AvgPool3d: 3,
    nn.AdaptiveAvgPool1d: 1, nn.AdaptiveAvgPool2d: 2, nn.AdaptiveAvgPool3d: 3,
    nn.AdaptiveMaxPool1d: 1, nn.AdaptiveMaxPool2d: 2, nn.AdaptiveMaxPool3d: 3,
}  # fmt: skip


@_handles(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
def _max_pool(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    dims = _POOL_DIMS[type(m)]
    _spatial(name, m, shape, dims)
    if m.return_indices:
        raise _unsupported(name, m, "return_indices=True")
    padding = _ntuple(m.padding, dims)
    return g.op(
        "MaxPool",
        [x],
        name,
        kernel_shape=list(_ntuple(m.kernel_size, dims)),
        strides=list(_ntuple(m.stride, dims)),
        pads=[*padding, *padding],
        dilations=list(_ntuple(m.dilation, dims)),
        ceil_mode=int(m.ceil_mode),
    )


@_handles(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
def _avg_pool(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    dims = _POOL_DIMS[type(m)]
    _spatial(name, m, shape, dims)
    divisor = getattr(m, "divisor_override", None)
    if divisor and m.ceil_mode:
        raise _unsupported(name, m, "divisor_override with ceil_mode=True")
    kernel, padding = _ntuple(m.kernel_size, dims), _ntuple(m.padding, dims)
    out = g.op(
        "AveragePool",
        [x],
        name,
        kernel_shape=list(kernel),
        strides=list(_ntuple(m.stride, dims)),
        pads=[*padding, *padding],
        ceil_mode=int(m.ceil_mode),
        count_include_pad=int(m.count_include_pad or bool(divisor)),
    )
    if divisor:
        # Σ window / divisor = (Σ window / window size)·(window size / divisor); padded zeros
        # add nothing to the sum.
        out = g.op("Mul", [out, g.const(np.prod(kernel) / divisor, name)], name)
    return out


@_handles(
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)  # fmt: skip
def _adaptive_pool(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    dims = _POOL_DIMS[type(m)]
    _spatial(name, m, shape, dims)
    if getattr(m, "return_indices", False):
        raise _unsupported(name, m, "return_indices=True")
    is_max = "Max" in type(m).__name__
    size = m.output_size
    wanted = (size,) * dims if isinstance(size, int) or size is None else tuple(size)
    spatial = shape[2:]
    out_size = [s if w is None else int(w) for s, w in zip(spatial, wanted, strict=True)]
    if all(o == 1 for o in out_size):
        return g.op("GlobalMaxPool" if is_max else "GlobalAveragePool", [x], name)
    if any(s % o for s, o in zip(spatial, out_size, strict=True)):
        raise _unsupported(
            name, m, f"output size {tuple(out_size)} that does not divide input {tuple(spatial)}"
        )
    # Equal windows when the output size divides the input's: an ordinary pool.
    kernel = [s // o for s, o in zip(spatial, out_size, strict=True)]
    return g.op(
        "MaxPool" if is_max else "AveragePool", [x], name, kernel_shape=kernel, strides=kernel
    )


# ----------------------------------------------------------------------------- normalisation
@_handles(nn.LayerNorm)
def _layer_norm(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    ns = m.normalized_shape
    scale = g.param(_key(name, "weight")) if m.weight is not None else g.const(np.ones(ns), name)
    inputs = [x, scale] + ([g.param(_key(name, "bias"))] if m.bias is not None else [])
    return g.op("LayerNormalization", inputs, name, axis=-len(ns), epsilon=float(m.eps))


@_handles(nn.RMSNorm)
def _rms_norm(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    ns = tuple(m.normalized_shape)
    eps = float(np.finfo(np.float32).eps) if m.eps is None else float(m.eps)
    axes = list(range(len(shape) - len(ns), len(shape)))
    mean_square = g.op("ReduceMean", [g.op("Mul", [x, x], name)], name, axes=axes, keepdims=1)
    root = g.op("Sqrt", [g.op("Add", [mean_square, g.const(eps, name)], name)], name)
    out = g.op("Div", [x, root], name)
    return g.op("Mul", [out, g.param(_key(name, "weight"))], name) if m.weight is not None else out


@_handles(nn.GroupNorm)
def _group_norm(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    # opset 17 has no GroupNormalization: (N, G, C/G·…), normalised over the last axis.
    groups = g.op("Reshape", [x, g.ints([0, m.num_groups, -1], name)], name)
    mean = g.op("ReduceMean", [groups], name, axes=[2], keepdims=1)
    centred = g.op("Sub", [groups, mean], name)
    var = g.op("ReduceMean", [g.op("Mul", [centred, centred], name)], name, axes=[2], keepdims=1)
    std = g.op("Sqrt", [g.op("Add", [var, g.const(m.eps, name)], name)], name)
    normed = g.op("Div", [centred, std], name)
    out = g.op("Reshape", [normed, g.ints([0, *shape[1:]], name)], name)
    per_channel = g.ints([m.num_channels] + [1] * (len(shape) - 2), name)
    if m.weight is not None:
        weight = g.op("Reshape", [g.param(_key(name, "weight")), per_channel], name)
        out = g.op("Mul", [out, weight], name)
    if m.bias is not None:
        bias = g.op("Reshape", [g.param(_key(name, "bias")), per_channel], name)
        out = g.op("Add", [out, bias], name)
    return out


# ----------------------------------------------------------------------------- recurrent
# Gate blocks of PyTorch's layout, in ONNX's order: LSTM PyTorch (i, f, g, o) -> ONNX
# (i, o, f, c); GRU (r, z, n) -> (z, r, h).
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _gates(g: _Graph, key: str, mode: str, hidden: int, name: str) -> str:
    """The state_dict tensor key with its gate blocks in ONNX's order (Split and Concat nodes,
    folded by the runtime: the initialiser keeps the state_dict's name and layout)."""
    order = _GATE_ORDER[mode]
    source = g.param(key)
    if order == list(range(len(order))):
        return source
    blocks = g.op(
        "Split", [source, g.ints([hidden] * len(order), name)], name, outputs=len(order), axis=0
    )
    return g.op("Concat", [blocks[i] for i in order], name, axis=0)


def _recurrence(g: _Graph, m: Any, name: str, x: str) -> tuple[str, list[str], list[str]]:
    """Time-major x (L, N, H_in) through every layer: the last layer's output (L, N, D·H), and
    each layer's final h (D, N, H) and, for an LSTM, final c."""
    if m.proj_size:
        raise _unsupported(name, m, "proj_size (ONNX's LSTM has no projection)")
    mode, hidden = m.mode, m.hidden_size
    directions = 2 if m.bidirectional else 1
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    attrs: dict[str, Any] = {
        "hidden_size": hidden,
        "direction": "bidirectional" if directions == 2 else "forward",
    }
    if op_type == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's n = tanh(W_in x + b_in + r·(W_hn h + b_hn))
    if op_type == "RNN":
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * directions
    h_last: list[str] = []
    c_last: list[str] = []
    for layer in range(m.num_layers):
        w, r, b = [], [], []
        for direction in range(directions):
            suffix = f"l{layer}" + ("_reverse" if direction else "")
            for stack_, kind in ((w, "weight_ih"), (r, "weight_hh")):
                gates = _gates(g, _key(name, f"{kind}_{suffix}"), mode, hidden, name)
                stack_.append(g.op("Unsqueeze", [gates, g.ints([0], name)], name))
            if m.bias:
                both = [
                    _gates(g, _key(name, f"{kind}_{suffix}"), mode, hidden, name)
                    for kind in ("bias_ih", "bias_hh")
                ]
                joined = g.op("Concat", both, name, axis=0)
                b.append(g.op("Unsqueeze", [joined, g.ints([0], name)], name))

        def both_directions(parts: list[str]) -> str:
            return parts[0] if len(parts) == 1 else g.op("Concat", parts, name, axis=0)

        inputs = [x, both_directions(w), both_directions(r)]
        if b:
            inputs.append(both_directions(b))
        outputs = g.op(op_type, inputs, name, outputs=3 if op_type == "LSTM" else 2, **attrs)
        # Y (L, D, N, H) -> (L, N, D, H) -> (L, N, D·H)
        y = g.op("Transpose", [outputs[0]], name, perm=[0, 2, 1, 3])
        x = g.op("Reshape", [y, g.ints([0, 0, directions * hidden], name)], name)
        h_last.append(outputs[1])
        if op_type == "LSTM":
            c_last.append(outputs[2])
    return x, h_last, c_last


@_handles(nn.RNN, nn.GRU, nn.LSTM)
def _rnn(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> Any:
    if len(shape) != 3:
        raise ConfigError(
            f"ONNX export: layer {_label(name, m)} takes batched 3-D input, got shape {shape}"
        )
    if m.batch_first:
        x = g.op("Transpose", [x], name, perm=[1, 0, 2])
    out, h_last, c_last = _recurrence(g, m, name, x)
    if m.batch_first:
        out = g.op("Transpose", [out], name, perm=[1, 0, 2])

    def stacked(parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else g.op("Concat", parts, name, axis=0)

    if c_last:
        return out, stacked(h_last), stacked(c_last)
    return out, stacked(h_last)


@_handles(RecurrentLast)
def _recurrent_last(g: _Graph, m: Any, name: str, x: str, shape: tuple[int, ...]) -> str:
    rnn = m.rnn
    g.shapes[id(rnn)].popleft()
    # batch_first (N, L, F) -> time-major (L, N, F)
    _, h_last, _ = _recurrence(
        g, rnn, _key(name, "rnn"), g.op("Transpose", [x], name, perm=[1, 0, 2])
    )
    # The last layer's final states (D, N, H) -> (N, D, H) -> (N, D·H)
    last = g.op("Transpose", [h_last[-1]], name, perm=[1, 0, 2])
    return g.op("Reshape", [last, g.ints([0, m.directions * rnn.hidden_size], name)], name)


# ----------------------------------------------------------------------------- export
def _flat(output: Any) -> list[Tensor]:
    if isinstance(output, tuple | list):
        return [t for item in output for t in _flat(item)]
    return [output]


def export(
    model: nn.Module,
    example_input: Any,
    path: str | os.PathLike[str],
    *,
    input_names: Sequence[str] = ("input",),
    output_names: Sequence[str] = ("output",),
    opset_version: int = OPSET,
) -> Any:
    """Write model as an ONNX file (opset 17, IR version 8) and return the ``onnx.ModelProto``.

    example_input is one batch (N, ...), a Tensor or array, taken as float32. The graph takes
    any batch size (a symbolic dimension "N"; dim 1 for a time-major RNN layer exported on its
    own); the other dimensions are the example's. The model runs in eval mode (dropout is the
    identity, batch norm uses its running statistics); each module's mode is restored after.

    Initialisers are named by the model's state_dict keys and hold those tensors unchanged,
    except that num_batches_tracked (a training counter) is left out. LSTM and GRU weights keep
    PyTorch's gate order in their initialisers; Split and Concat nodes in the graph put them in
    ONNX's (LSTM i, o, f, c; GRU z, r, h, with linear_before_reset=1 for PyTorch's GRU), and
    runtimes fold those nodes at load time.

    Exportable: the layers of chainrule.nn listed in the error for any other (Linear, the
    activations, Conv1d/2d/3d and transposed ones, pooling, BatchNorm, LayerNorm, GroupNorm,
    RMSNorm, Dropout as the identity, Flatten/Unflatten, Normalize, RNN/LSTM/GRU) and the
    models' BasicBlock, ImageRows and RecurrentLast, nested in Sequentials. Any other module
    raises ConfigError naming it (its dotted name and type). Needs the onnx package:
    ``pip install 'chainrule[onnx]'``.
    """
    onnx = _onnx()
    if opset_version != OPSET:
        raise ConfigError(f"ONNX export writes opset {OPSET}, got opset_version={opset_version}")
    if len(input_names) != 1:
        raise ConfigError(f"ONNX export takes one input, got input_names={list(input_names)}")
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked") and value.dtype != np.float32:
            raise ConfigError(
                f"ONNX export supports float32 models; {key!r} is {value.dtype} "
                "(convert with model.float())"
            )
    array = example_input.detach().numpy() if isinstance(example_input, Tensor) else example_input
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 0:
        raise ConfigError("ONNX export: example_input needs a batch dimension, got a scalar")
    batch_dim = 1 if isinstance(model, nn.RNNBase) and not model.batch_first else 0

    modules = list(model.modules())
    modes = [m.training for m in modules]
    shapes: dict[int, deque[Any]] = defaultdict(deque)

    def record(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        first = args[0] if args else None
        shapes[id(module)].append(tuple(first.shape) if isinstance(first, Tensor) else None)

    handles = [m.register_forward_hook(record) for m in modules]
    try:
        model.eval()
        with no_grad():
            outputs = _flat(model(tensor(array)))
        for handle in handles:
            handle.remove()
        handles = []
        # The output dims that follow the batch size: those that change with a doubled batch.
        doubled = np.concatenate([array, array], axis=batch_dim)
        with no_grad():
            outputs_2 = _flat(model(tensor(doubled)))
        state = {
            key: value.numpy().copy()
            for key, value in model.state_dict().items()
            if not key.endswith("num_batches_tracked")
        }
        graph = _Graph(onnx, state, shapes)
        results = graph.emit(model, "", input_names[0])
        g_out = list(results) if isinstance(results, tuple) else [results]
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in zip(modules, modes, strict=True):
            module.training = mode

    names = list(output_names)
    if len(names) > len(g_out):
        raise ConfigError(
            f"ONNX export: {len(names)} output_names for a model with {len(g_out)} outputs"
        )
    defaults = ["h_n", "c_n"] if isinstance(model, nn.RNNBase) else []
    for i in range(len(names), len(g_out)):
        names.append(defaults[i - 1] if i - 1 < len(defaults) else f"output_{i}")
    for internal, final in zip(g_out, names, strict=True):
        graph.nodes.append(onnx.helper.make_node("Identity", [internal], [final], name=final))

    helper = onnx.helper

    def value_info(name: str, one: tuple[int, ...], two: tuple[int, ...]) -> Any:
        dims = [BATCH if a != b else a for a, b in zip(one, two, strict=True)]
        return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)

    in_dims = list(array.shape)
    in_dims[batch_dim] = BATCH
    proto_graph = helper.make_graph(
        graph.nodes,
        "chainrule",
        [helper.make_tensor_value_info(input_names[0], onnx.TensorProto.FLOAT, in_dims)],
        [
            value_info(n, tuple(a.shape), tuple(b.shape))
            for n, a, b in zip(names, outputs, outputs_2, strict=True)
        ],
        [onnx.numpy_helper.from_array(value, key) for key, value in graph.initializers.items()],
    )
    from .. import __version__

    proto = helper.make_model(
        proto_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="chainrule",
        producer_version=__version__,
    )
    atomic_write_bytes(path, proto.SerializeToString())
    return proto
