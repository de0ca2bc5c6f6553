"""Recurrent layers, as ``torch.nn``: RNN, LSTM, GRU and their single-step cells.

Names, arguments, parameter names and shapes, gate order and initialisation are PyTorch's:
weights ``weight_ih_l{k}`` (G·H, H_in), ``weight_hh_l{k}`` (G·H, H), biases ``bias_ih_l{k}`` and
``bias_hh_l{k}`` (G·H,), with ``_reverse`` for the backward direction, G = 1 (RNN), 3 (GRU: r, z,
n) or 4 (LSTM: i, f, g, o), all drawn from U(-1/√H, 1/√H).

Each layer and direction projects the whole sequence in one matmul, x W_ihᵀ + b_ih, then runs the
recurrence as one primitive (``ops.rnn``), whose backward is backpropagation through time.

A PackedSequence input (sequences sorted longest first) runs the primitive once per stretch of
steps with one batch size, on the first batch_sizes[t] rows; the other rows keep their state, so
h_n holds each sequence's state at its own last step (the reverse direction starts there).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, cast

import numpy as np

from .. import functional as F
from ..device import check_device
from ..dtypes import as_dtype
from ..errors import ConfigError, DataError, ShapeError
from ..ops.rnn import GRURecurrence, LSTMRecurrence, RNNRecurrence
from ..tensor import Tensor, apply, concatenate, stack, tensor
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_NONLINEARITIES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}


def _as_input(layer: str, x: Any) -> Tensor:
    if type(x).__name__ == "PackedSequence":  # another library's (PyTorch's): its data is not ours
        raise ConfigError(
            f"{layer}: got a {type(x).__module__}.PackedSequence; pack the batch with "
            "chainrule.nn.utils.rnn.pack_padded_sequence (or pack_sequence)"
        )
    return x if isinstance(x, Tensor) else tensor(x)


def _runs(batch_sizes: np.ndarray) -> list[tuple[int, int, int]]:
    """(first step, end step, batch size) of each stretch of steps with one batch size."""
    changes = np.flatnonzero(np.diff(batch_sizes)) + 1
    starts = [0, *changes.tolist()]
    ends = [*changes.tolist(), len(batch_sizes)]
    return [(a, b, int(batch_sizes[a])) for a, b in zip(starts, ends, strict=True)]


def _check_dtype(layer: str, x: Tensor, weight: Tensor) -> None:
    if x.dtype != weight.dtype:
        raise DataError(
            f"{layer} input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}): "
            f"convert the input with .to({weight.dtype}) or the model with .to({x.dtype})"
        )


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros((), dtype=x.dtype)
    return F.dropout(x, p, training)


class RNNBase(Module):
    """What RNN, LSTM and GRU share: their parameters, checks and the loop over layers.

    ``mode`` is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', as in PyTorch.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ConfigError(f"Unrecognized RNN mode: {mode!r}; choose one of {list(_GATES)}")
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1  # type: ignore[operator]
        ):
            raise ConfigError(
                f"{name}: dropout should be a number in range [0, 1] representing the "
                f"probability of an element being zeroed, got {dropout!r}"
            )
        if dropout > 0 and num_layers == 1:  # type: ignore[operator]
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        for arg, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}: {arg} should be a bool, got {value!r}")
        for arg, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(
                    f"{name}: {arg} must be an integer greater than zero, got {value!r}"
                )
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
            raise ConfigError(
                f"{name}: proj_size should be a positive integer or zero to disable "
                f"projections, got {proj_size!r}"
            )
        if proj_size and mode != "LSTM":
            raise ConfigError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ConfigError(
                f"{name}: proj_size has to be smaller than hidden_size, got proj_size="
                f"{proj_size} and hidden_size={hidden_size}"
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)  # type: ignore[arg-type]
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        out_size = proj_size or hidden_size  # the size of h: P with a projection, else H
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = {
                    f"weight_ih_l{layer}{suffix}": (gate_size, layer_input_size),
                    f"weight_hh_l{layer}{suffix}": (gate_size, out_size),
                }
                if bias:
                    shapes[f"bias_ih_l{layer}{suffix}"] = (gate_size,)
                    shapes[f"bias_hh_l{layer}{suffix}"] = (gate_size,)
                if proj_size:
                    shapes[f"weight_hr_l{layer}{suffix}"] = (proj_size, hidden_size)
                for param_name, shape in shapes.items():
                    setattr(self, param_name, Parameter(np.empty(shape, dtype=np.float32)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()
        if dtype is not None:
            self.to(as_dtype(dtype))

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def flatten_parameters(self) -> None:
        """A no-op, as PyTorch's is off the GPU (kept so that ported code runs)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward
    def _time_major(self, x: Tensor) -> tuple[Tensor, bool]:
        """(L, N, H_in) from any of PyTorch's layouts, and whether the input was batched."""
        if x.ndim not in (2, 3):
            raise ShapeError(
                f"{self._name}: Expected input to be 2D (L, H_in) or 3D "
                f"({'N, L' if self.batch_first else 'L, N'}, H_in), got {x.ndim}D tensor "
                f"of shape {x.shape} instead"
            )
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[-1]} (input shape {x.shape})"
            )
        _check_dtype(self._name, x, self.weight_ih_l0)
        if x.ndim == 2:
            return x.unsqueeze(1), False
        return (x.transpose(0, 1) if self.batch_first else x), True

    def _initial_state(
        self, state: Any, batch: int, batched: bool, which: str, size: int
    ) -> Tensor:
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, size)
        if state is None:
            dtype = self.weight_ih_l0.dtype
            return tensor(np.zeros(expected, dtype=dtype), dtype=dtype)
        state = state if isinstance(state, Tensor) else tensor(state)
        if state.ndim != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(
                f"{self._name}: For {kind} input, {which} should also be "
                f"{3 if batched else 2}-D but got {state.ndim}-D tensor of shape {state.shape}"
            )
        if not batched:
            state = state.unsqueeze(1)
        if state.shape != expected:
            raise ShapeError(
                f"{self._name}: Expected {which} size {expected}, got {state.shape}"
                + ("" if batched else " (with the batch dim added)")
            )
        _check_dtype(self._name, state, self.weight_ih_l0)
        return state

    def _run(
        self, x: Tensor, h0: Tensor, c0: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Output (L, N, D·H), h_n and c_n (num_layers·D, N, H) from time-major x."""
        directions = 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        h_last: list[Tensor] = []
        c_last: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                names = self._all_weights[k]
                w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
                b_ih, b_hh = (
                    (getattr(self, names[2]), getattr(self, names[3]))
                    if self.bias
                    else (None, None)
                )
                reverse = direction == 1
                last = 0 if reverse else -1  # the step a direction ends on
                gates_x = F.linear(layer_input, w_ih, b_ih)  # (L, N, G·H)
                if c0 is not None:  # LSTM
                    w_hr = getattr(self, names[-1]) if self.proj_size else None
                    hc = apply(
                        LSTMRecurrence, gates_x, h0[k], c0[k], w_hh, b_hh, w_hr, reverse=reverse
                    )  # (L, N, P + H): [h | c]
                    outputs.append(hc[:, :, :out_size])
                    h_last.append(hc[last, :, :out_size])
                    c_last.append(hc[last, :, out_size:])
                    continue
                if self.mode == "GRU":
                    out = apply(GRURecurrence, gates_x, h0[k], w_hh, b_hh, reverse=reverse)
                else:
                    nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
                    out = apply(
                        RNNRecurrence,
                        gates_x,
                        h0[k],
                        w_hh,
                        b_hh,
                        nonlinearity=nonlinearity,
                        reverse=reverse,
                    )
                outputs.append(out)
                h_last.append(out[last])
            layer_input = outputs[0] if directions == 1 else concatenate(outputs, 2)
            if layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, self.training)
        return layer_input, stack(h_last), (stack(c_last) if c_last else None)

    def _packed_input(
        self, packed: PackedSequence
    ) -> tuple[Tensor, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The packed data (sum of lengths, H_in), batch sizes, sorted and unsorted indices."""
        data = _as_input(self._name, packed.data)
        if data.ndim != 2:
            raise ShapeError(
                f"{self._name}: input must have 2 dimensions, got {data.ndim} (packed data of "
                f"shape {data.shape})"
            )
        if data.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {data.shape[-1]} (packed data shape {data.shape})"
            )
        _check_dtype(self._name, data, self.weight_ih_l0)
        batch_sizes = np.asarray(packed.batch_sizes.tolist(), dtype=np.int64)
        if batch_sizes.sum() != data.shape[0]:
            raise ShapeError(
                f"{self._name}: the batch sizes of the PackedSequence add up to "
                f"{batch_sizes.sum()}, but its data has {data.shape[0]} rows"
            )
        indices = [
            None if i is None else np.asarray(i.tolist(), dtype=np.int64)
            for i in (packed.sorted_indices, packed.unsorted_indices)
        ]
        return data, batch_sizes, indices[0], indices[1]

    def _run_packed(
        self, data: Tensor, batch_sizes: np.ndarray, h0: Tensor, c0: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Packed output data, h_n and c_n (sorted batch order) from packed data."""
        directions = 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        runs = _runs(batch_sizes)
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        h_last: list[Tensor] = []
        c_last: list[Tensor] = []
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                names = self._all_weights[k]
                w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
                b_ih, b_hh = (
                    (getattr(self, names[2]), getattr(self, names[3]))
                    if self.bias
                    else (None, None)
                )
                w_hr = getattr(self, names[-1]) if self.proj_size else None
                reverse = direction == 1
                last = 0 if reverse else -1  # the step a direction ends on
                gates_x = F.linear(layer_input, w_ih, b_ih)  # (sum of lengths, G·H)
                h, c = h0[k], (None if c0 is None else c0[k])  # (B, P), (B, H)
                pieces: list[Tensor] = [h] * len(runs)
                for r in reversed(range(len(runs))) if reverse else range(len(runs)):
                    start, end, size = runs[r]
                    gates = gates_x[offsets[start] : offsets[end]]
                    gates = gates.reshape(end - start, size, gates_x.shape[-1])
                    if c is not None:
                        hc = apply(
                            LSTMRecurrence,
                            gates,
                            h[:size],
                            c[:size],
                            w_hh,
                            b_hh,
                            w_hr,
                            reverse=reverse,
                        )  # (steps, size, P + H): [h | c]
                        out = hc[:, :, :out_size]
                        c_end = hc[last, :, out_size:]
                        c = c_end if size == c.shape[0] else concatenate([c_end, c[size:]])
                    elif self.mode == "GRU":
                        out = apply(GRURecurrence, gates, h[:size], w_hh, b_hh, reverse=reverse)
                    else:
                        out = apply(
                            RNNRecurrence,
                            gates,
                            h[:size],
                            w_hh,
                            b_hh,
                            nonlinearity="tanh" if self.mode == "RNN_TANH" else "relu",
                            reverse=reverse,
                        )
                    # rows past `size` have ended (forward) or not started (reverse): kept
                    h = out[last] if size == h.shape[0] else concatenate([out[last], h[size:]])
                    pieces[r] = out.reshape((end - start) * size, out_size)
                outputs.append(pieces[0] if len(pieces) == 1 else concatenate(pieces))
                h_last.append(h)
                if c is not None:
                    c_last.append(c)
            layer_input = outputs[0] if directions == 1 else concatenate(outputs, 1)
            if layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, self.training)
        return layer_input, stack(h_last), (stack(c_last) if c_last else None)

    def _forward_packed(
        self, packed: PackedSequence, hx: Any
    ) -> tuple[PackedSequence, Tensor, Tensor | None]:
        """Output PackedSequence, h_n and c_n (original batch order) of a packed batch; hx in
        the original batch order, as PyTorch's."""
        data, batch_sizes, sorted_indices, unsorted_indices = self._packed_input(packed)
        batch = int(batch_sizes[0])
        lstm = self.mode == "LSTM"
        if lstm and hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ShapeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h_size = self.proj_size or self.hidden_size
        h_arg, c_arg = (None, None) if hx is None else (hx[0], hx[1]) if lstm else (hx, None)
        h0 = self._initial_state(h_arg, batch, True, "hx[0]" if lstm else "hx", h_size)
        c0 = self._initial_state(c_arg, batch, True, "hx[1]", self.hidden_size) if lstm else None
        if sorted_indices is not None:
            h0 = h0.index_select(1, sorted_indices)
            c0 = None if c0 is None else c0.index_select(1, sorted_indices)
        output, h_n, c_n = self._run_packed(data, batch_sizes, h0, c0)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = None if c_n is None else c_n.index_select(1, unsorted_indices)
        result = PackedSequence(
            output, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        return result, h_n, c_n

    def _restore_layout(self, output: Tensor, batched: bool) -> Tensor:
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act tanh or relu.

    Input (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in); hx
    (num_layers·D, N, H) (unbatched (num_layers·D, H)), zeros when omitted. Returns
    (output (L, N, D·H), h_n (num_layers·D, N, H)) in the input's layout, D = 2 if bidirectional.
    A PackedSequence input gives a PackedSequence output, and h_n each sequence's state at its own
    last step (hx and h_n in the original batch order).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ConfigError(
                f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(
            _NONLINEARITIES[nonlinearity],
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            packed, h_n, _ = self._forward_packed(input, hx)
            return packed, h_n
        x, batched = self._time_major(_as_input(self._name, input))
        h0 = self._initial_state(hx, x.shape[1], batched, "hx", self.hidden_size)
        output, h_n, _ = self._run(x, h0, None)
        return self._restore_layout(output, batched), (h_n if batched else h_n.squeeze(1))


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's form: r = σ(W_ir x + b_ir + W_hr h + b_hr),
    z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
    h' = (1 - z)·n + z·h. Shapes, layouts and PackedSequence inputs as RNN."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Any, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            packed, h_n, _ = self._forward_packed(input, hx)
            return packed, h_n
        x, batched = self._time_major(_as_input(self._name, input))
        h0 = self._initial_state(hx, x.shape[1], batched, "hx", self.hidden_size)
        output, h_n, _ = self._run(x, h0, None)
        return self._restore_layout(output, batched), (h_n if batched else h_n.squeeze(1))


class LSTM(RNNBase):
    """Long short-term memory: (i, f, g, o) = (σ, σ, tanh, σ)(W_ih x + b_ih + W_hh h + b_hh),
    c' = f·c + i·g, h' = o·tanh(c'). hx is (h_0, c_0), both (num_layers·D, N, H); returns
    (output, (h_n, c_n)). Layouts and PackedSequence inputs as RNN. With proj_size = P > 0,
    h' = (o·tanh(c')) W_hrᵀ with weight_hr_l{k} (P, H): h_0, h_n and the output have P features
    instead of H."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device=device,
            dtype=dtype,
        )

    def forward(
        self,
        input: Any,
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Any, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            packed, h_n, cells = self._forward_packed(input, hx)
            return packed, (h_n, cast(Tensor, cells))
        x, batched = self._time_major(_as_input(self._name, input))
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ShapeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        h_size = self.proj_size or self.hidden_size
        h0 = self._initial_state(
            None if hx is None else hx[0], x.shape[1], batched, "hx[0]", h_size
        )
        c0 = self._initial_state(
            None if hx is None else hx[1], x.shape[1], batched, "hx[1]", self.hidden_size
        )
        output, h_n, cells = self._run(x, h0, c0)
        c_n = cast(Tensor, cells)  # an LSTM always has cell states
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._restore_layout(output, batched), (h_n, c_n)


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step: parameters weight_ih (G·H, H_in), weight_hh (G·H, H), bias_ih, bias_hh."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(
                    f"{type(self).__name__}: {arg} must be an integer greater than zero, "
                    f"got {value!r}"
                )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(np.empty((gates, input_size), dtype=np.float32))
        self.weight_hh = Parameter(np.empty((gates, hidden_size), dtype=np.float32))
        if bias:
            self.bias_ih = Parameter(np.empty(gates, dtype=np.float32))
            self.bias_hh = Parameter(np.empty(gates, dtype=np.float32))
        else:
            self.bias_ih = self.bias_hh = None
        self.reset_parameters()
        if dtype is not None:
            self.to(as_dtype(dtype))

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _step_input(self, x: Any) -> tuple[Tensor, bool]:
        """x as (1, N, G·H) gates (one time step), and whether it was batched."""
        name = type(self).__name__
        x = x if isinstance(x, Tensor) else tensor(x)
        if x.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input has inconsistent input_size: got {x.shape[-1]}, expected "
                f"{self.input_size} (input shape {x.shape})"
            )
        _check_dtype(name, x, self.weight_ih)
        batched = x.ndim == 2
        x2 = x if batched else x.unsqueeze(0)  # (N, H_in)
        return F.linear(x2, self.weight_ih, self.bias_ih).unsqueeze(0), batched

    def _state(self, state: Any, batch: int, batched: bool, which: str) -> Tensor:
        name = type(self).__name__
        if state is None:
            dtype = self.weight_ih.dtype
            return tensor(np.zeros((batch, self.hidden_size), dtype=dtype), dtype=dtype)
        state = state if isinstance(state, Tensor) else tensor(state)
        if state.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected {which} to be 1D or 2D, got {state.ndim}D instead")
        if state.ndim != (2 if batched else 1):
            raise ShapeError(
                f"{name}: {which} of shape {state.shape} does not match an input that is "
                f"{'batched' if batched else 'unbatched'}"
            )
        state = state if batched else state.unsqueeze(0)
        if state.shape != (batch, self.hidden_size):
            raise ShapeError(
                f"{name}: expected {which} of shape {(batch, self.hidden_size)}, got {state.shape}"
            )
        _check_dtype(name, state, self.weight_ih)
        return state


class RNNCell(RNNCellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). Input (N, H_in) or (H_in,); hx (N, H) or (H,)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ConfigError(
                f"RNNCell: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        gates_x, batched = self._step_input(input)
        h = self._state(hx, gates_x.shape[1], batched, "hidden")
        out = apply(
            RNNRecurrence, gates_x, h, self.weight_hh, self.bias_hh, nonlinearity=self.nonlinearity
        )[0]
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; hx = (h, c), each (N, H) or (H,); returns (h', c')."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(
        self,
        input: Tensor,
        hx: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        gates_x, batched = self._step_input(input)
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ShapeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        batch = gates_x.shape[1]
        h = self._state(None if hx is None else hx[0], batch, batched, "hx[0]")
        c = self._state(None if hx is None else hx[1], batch, batched, "hx[1]")
        hc = apply(LSTMRecurrence, gates_x, h, c, self.weight_hh, self.bias_hh)[0]  # (N, 2H)
        h_new, c_new = hc[:, : self.hidden_size], hc[:, self.hidden_size :]
        return (h_new, c_new) if batched else (h_new.squeeze(0), c_new.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's form, r·(W_hn h + b_hn)); hx (N, H) or (H,)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        gates_x, batched = self._step_input(input)
        h = self._state(hx, gates_x.shape[1], batched, "hidden")
        out = apply(GRURecurrence, gates_x, h, self.weight_hh, self.bias_hh)[0]
        return out if batched else out.squeeze(0)
