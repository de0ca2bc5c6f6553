"""Forward and backward tables: one row per neuron of a Linear layer, with the engine's numbers.

Forward row of neuron j:  inputs x, weights w = W[j], bias b, z = w·x + b, a = f(z).
Backward row of neuron j: dL/da (upstream), f'(z) (local), dL/dz = dL/da · f'(z), dL/dw = dL/dz · x,
dL/db = dL/dz: the chain rule written out with actual numbers.

Nothing is recomputed for show: x and z come from a forward hook on the Linear layer, a from a hook
on the activation module that consumes z, dL/da and dL/dz from ``retain_grad()`` on those tensors,
dL/dw and dL/db from the layer's ``.grad``. Only f'(z) is written out here, with the same formula
as the op's backward (from the saved output), so a table can be checked against the engine.

Example:
    >>> import numpy as np
    >>> from chainrule import nn
    >>> from chainrule.insight import trace
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    >>> with trace(model) as tracer:
    ...     out = model(np.array([[0.5, -1.0]], dtype=np.float32))
    ...     out.sum().backward()
    >>> [row["neuron"] for row in tracer.forward_rows("0")]
    [0, 1, 2]
    >>> tracer.activation("0"), tracer.activation("2")
    ('sigmoid', 'identity')
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import nn
from ..errors import ChainruleError
from ..models import ACTIVATIONS, activation_name
from ..tensor import Tensor, enable_grad
from .layout import fit_table

Array = npt.NDArray[Any]


def is_activation(module: nn.Module) -> bool:
    """An elementwise activation (models.ACTIVATIONS), or Identity."""
    return type(module) is nn.Identity or type(module) in ACTIVATIONS.values()


def _name(module: nn.Module) -> str:
    return activation_name(type(module))


def local_derivative(module: nn.Module, z: Array) -> Array:
    """f'(z) of an elementwise activation, asked of its op rather than written a second time:
    the backward of a unit gradient through module at z."""
    zt = Tensor(np.array(z, copy=True), dtype=np.asarray(z).dtype, requires_grad=True)
    with enable_grad():
        a = module(zt)
        a.backward(Tensor(np.ones_like(a.array)))
    return zt.grad.array if zt.grad is not None else np.zeros_like(zt.array)


@dataclass
class _Record:
    layer: nn.Linear
    x: Array | None = None
    z: Tensor | None = None
    a: Tensor | None = None
    activation: str = "identity"
    module: nn.Module | None = None


class Tracer:
    """Forward hooks on a model's Linear layers (and the activations after them) that keep what
    the engine computed for the last forward pass, for tables.

    Use as a context manager (hooks are removed on exit; the recorded numbers stay):

        with Tracer(model) as tracer:
            loss = loss_fn(model(x), y)
            loss.backward()
        print(tracer.forward_table("1"))

    Args:
        model: any Module; every Linear inside it is traced (or only ``layers``, by name).
        layers: module names as in ``model.named_modules()``, e.g. ``["1", "3"]``.
    """

    def __init__(self, model: nn.Module, layers: list[str] | None = None) -> None:
        linears = {
            name or "layer": m for name, m in model.named_modules() if isinstance(m, nn.Linear)
        }
        if layers is not None:
            unknown = [name for name in layers if name not in linears]
            if unknown:
                raise ChainruleError(
                    f"no Linear layer named {unknown[0]!r}; Linear layers: {', '.join(linears)}"
                )
            linears = {name: linears[name] for name in layers}
        if not linears:
            raise ChainruleError(f"{type(model).__name__} has no Linear layer to tabulate")
        self.records: dict[str, _Record] = {name: _Record(m) for name, m in linears.items()}
        self._handles = [m.register_forward_hook(self._on_linear) for m in linears.values()]
        self._handles += [
            m.register_forward_hook(self._on_activation)
            for m in model.modules()
            if is_activation(m)
        ]

    # ------------------------------------------------------------------ hooks
    def _on_linear(self, module: nn.Module, inputs: tuple[Any, ...], output: Tensor) -> None:
        for record in self.records.values():
            if record.layer is module:
                x = inputs[0]
                record.x = np.array(x.array if isinstance(x, Tensor) else x)
                record.z, record.a, record.activation = output, output, "identity"
                record.module = None
                if output.requires_grad:
                    output.retain_grad()

    def _on_activation(self, module: nn.Module, inputs: tuple[Any, ...], output: Tensor) -> None:
        for record in self.records.values():
            if record.z is not None and inputs[0] is record.z:
                record.a, record.activation = output, _name(module)
                record.module = module
                if output.requires_grad and output is not record.z:
                    output.retain_grad()

    def remove(self) -> None:
        """Remove the hooks; what was recorded stays readable."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # ------------------------------------------------------------------ data
    @property
    def names(self) -> list[str]:
        return list(self.records)

    def _record(self, name: str | None) -> _Record:
        name = name if name is not None else self.names[0]
        if name not in self.records:
            raise ChainruleError(f"layer {name!r} is not traced; traced: {', '.join(self.names)}")
        record = self.records[name]
        if record.z is None or record.a is None or record.x is None:
            raise ChainruleError(f"layer {name!r} has not run forward since it was traced")
        return record

    def activation(self, name: str | None = None) -> str:
        return self._record(name).activation

    def _neurons(self, record: _Record, sample: int, top: int | None) -> list[int]:
        a = record.a.array.reshape(-1, record.layer.out_features)[sample]
        if top is None or top >= len(a):
            return list(range(len(a)))
        # The largest |a| first: the units this input drives hardest.
        return [int(j) for j in np.argsort(-np.abs(a), kind="stable")[:top]]

    def forward_rows(
        self, name: str | None = None, sample: int = 0, top: int | None = None
    ) -> list[dict[str, Any]]:
        """One dict per neuron: neuron, inputs, weights, bias, z, activation, a.

        Args:
            name: the Linear layer's module name (default: the first traced).
            sample: which row of the batch.
            top: only the ``top`` neurons with the largest |a|, largest first.
        """
        record = self._record(name)
        layer = record.layer
        x = record.x.reshape(-1, layer.in_features)[sample]
        z = record.z.array.reshape(-1, layer.out_features)[sample]
        a = record.a.array.reshape(-1, layer.out_features)[sample]
        rows = []
        for j in self._neurons(record, sample, top):
            rows.append(
                {
                    "neuron": j,
                    "inputs": x.tolist(),
                    "weights": layer.weight.array[j].tolist(),
                    "bias": 0.0 if layer.bias is None else float(layer.bias.array[j]),
                    "z": float(z[j]),
                    "activation": record.activation,
                    "a": float(a[j]),
                }
            )
        return rows

    def backward_rows(
        self, name: str | None = None, sample: int = 0, top: int | None = None
    ) -> list[dict[str, Any]]:
        """One dict per neuron after backward: dL/da, f'(z), dL/dz, dL/dw (list), dL/db.

        dL/da and dL/dz are the sample's; dL/dw and dL/db are the layer's ``.grad``, which sums
        over the batch (so with one sample, dL/dw = dL/dz · x exactly as the table reads).
        """
        record = self._record(name)
        layer = record.layer
        if layer.weight.grad is None or record.z.grad is None:
            raise ChainruleError(f"layer {name!r} has no gradients yet: call backward() first")
        width = layer.out_features
        z = record.z.array.reshape(-1, width)[sample]
        grad_a = record.a.grad.array if record.a.grad is not None else np.zeros_like(record.a.array)
        grad_a = grad_a.reshape(-1, width)[sample]
        grad_z = record.z.grad.array.reshape(-1, width)[sample]
        slope = np.ones_like(z) if record.module is None else local_derivative(record.module, z)
        bias_grad = None if layer.bias is None else layer.bias.grad.array
        rows = []
        for j in self._neurons(record, sample, top):
            rows.append(
                {
                    "neuron": j,
                    "dL/da": float(grad_a[j]),
                    "f'(z)": float(slope[j]),
                    "dL/dz": float(grad_z[j]),
                    "dL/dw": layer.weight.grad.array[j].tolist(),
                    "dL/db": 0.0 if bias_grad is None else float(bias_grad[j]),
                }
            )
        return rows

    # ------------------------------------------------------------------ text
    def forward_table(
        self, name: str | None = None, sample: int = 0, top: int | None = None, max_inputs: int = 4
    ) -> Table:
        record = self._record(name)
        rows = self.forward_rows(name, sample, top)
        return Table(
            render_forward(rows, record.activation, max_inputs),
            render_forward(rows, record.activation, max_inputs, tablefmt="html"),
        )

    def backward_table(
        self, name: str | None = None, sample: int = 0, top: int | None = None, max_inputs: int = 4
    ) -> Table:
        record = self._record(name)
        x = record.x.reshape(-1, record.layer.in_features)[sample]
        rows = self.backward_rows(name, sample, top)
        return Table(
            render_backward(rows, x, max_inputs), render_backward(rows, x, max_inputs, "html")
        )


class Table(str):
    """A text table (it is the str) that a notebook shows as an HTML table (``_repr_html_``)."""

    html: str

    def __new__(cls, text: str, html: str) -> Table:
        table = super().__new__(cls, text)
        table.html = html
        return table

    def _repr_html_(self) -> str:
        return self.html


def trace(model: nn.Module, layers: list[str] | None = None) -> Tracer:
    """``Tracer(model, layers)``: record every Linear layer's forward numbers for tables."""
    return Tracer(model, layers)


def trace_layer(
    layer: nn.Linear, x: Any, activation: str = "identity", grad_output: Any = None
) -> Tracer:
    """Run one Linear layer (plus an activation) forward and backward, and return its Tracer.

    Args:
        layer: the layer; its weight and bias gradients are overwritten.
        x: (N, in_features) or (in_features,) input.
        activation: 'sigmoid', 'tanh', 'relu' or 'identity'.
        grad_output: dL/da, shaped as the output; default ones (L = Σ a).
    """
    kinds = {"identity": nn.Identity, **ACTIVATIONS}
    if activation not in kinds:
        raise ChainruleError(f"unknown activation {activation!r}; choose one of {', '.join(kinds)}")
    model = nn.Sequential(layer, kinds[activation]())
    data = np.asarray(x.array if isinstance(x, Tensor) else x, dtype=layer.weight.dtype)
    layer.zero_grad()
    with Tracer(model, ["0"]) as tracer:
        out = model(Tensor(data.reshape(-1, layer.in_features)))
        seed = np.ones(out.shape) if grad_output is None else np.asarray(grad_output)
        out.backward(seed.reshape(out.shape))
    return tracer


# ---------------------------------------------------------------------- rendering
def _num(value: float) -> str:
    return f"{value:.4g}"


def factor(value: float) -> str:
    """A number inside a written-out product: negatives in parentheses, (-0.5)·(-1)."""
    return f"({_num(value)})" if value < 0 else _num(value)


def _vector(values: list[float]) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def summarise_vector(values: Array) -> str:
    """'64 values, mean 0.1, 41 nonzero, range [-1.2, 3.4]': a large input in one line."""
    values = np.asarray(values, dtype=np.float64)
    return (
        f"{values.size} values, mean {_num(values.mean())}, {np.count_nonzero(values)} nonzero, "
        f"range [{_num(values.min())}, {_num(values.max())}]"
    )


def _largest(values: Array, what: str) -> str:
    k = int(np.argmax(np.abs(values)))
    return f"‖{what}‖ {_num(float(np.linalg.norm(values)))}, largest {_num(values[k])} (input {k})"


def render_forward(
    rows: list[dict[str, Any]], activation: str, max_inputs: int = 4, tablefmt: str = "simple"
) -> str:
    """The forward rows as a text table (or tabulate's ``tablefmt``, e.g. "html"); with more than
    max_inputs inputs, the input is summarised once above the table and each weight vector by its
    norm and its largest w·x term."""

    if not rows:
        return "(no neurons)"
    x = np.asarray(rows[0]["inputs"])
    small = x.size <= max_inputs
    table = []
    for row in rows:
        w = np.asarray(row["weights"])
        if small:
            terms = " + ".join(f"{factor(wi)}·{factor(xi)}" for wi, xi in zip(w, x, strict=True))
            written = f"{terms} + {factor(row['bias'])} = {_num(row['z'])}"
            table.append([row["neuron"], _vector(row["inputs"]), _vector(row["weights"]),
                          _num(row["bias"]), written, _num(row["a"])])  # fmt: skip
        else:
            products = w * x
            k = int(np.argmax(np.abs(products)))
            norm = _num(float(np.linalg.norm(w)))
            weights = f"‖w‖ {norm}; largest w·x {_num(products[k])} (x{k})"
            table.append([row["neuron"], weights, _num(row["bias"]), _num(row["z"]),
                          _num(row["a"])])  # fmt: skip
    f = "z" if activation == "identity" else f"{activation}(z)"
    if small:
        headers = ["neuron", "inputs x", "weights w", "bias b", "z = w·x + b", f"a = {f}"]
        return fit_table(table, headers=headers, disable_numparse=True, tablefmt=tablefmt)
    headers = ["neuron", "weights w", "bias b", "z = w·x + b", f"a = {f}"]
    text = fit_table(table, headers=headers, disable_numparse=True, tablefmt=tablefmt)
    if tablefmt == "html":
        return f"<p>inputs x: {html.escape(summarise_vector(x))}</p>\n{text}"
    return f"inputs x: {summarise_vector(x)}\n{text}"


def render_backward(
    rows: list[dict[str, Any]], x: Array, max_inputs: int = 4, tablefmt: str = "simple"
) -> str:
    """The backward rows as a text table (or tabulate's ``tablefmt``), each product written out
    when the layer is small."""
    if not rows:
        return "(no neurons)"
    x = np.asarray(x)
    small = x.size <= max_inputs
    table = []
    for row in rows:
        slope = row["f'(z)"]
        dz = f"{factor(row['dL/da'])} · {factor(slope)} = {_num(row['dL/dz'])}"
        grad_w = np.asarray(row["dL/dw"])
        if small:
            dw = f"{factor(row['dL/dz'])}·x = {_vector(row['dL/dw'])}"
        else:
            dw = _largest(grad_w, "dL/dw")
        table.append([row["neuron"], _num(row["dL/da"]), _num(slope), dz, dw,
                      _num(row["dL/db"])])  # fmt: skip
    headers = ["neuron", "dL/da", "f'(z)", "dL/dz = dL/da · f'(z)", "dL/dw = dL/dz · x", "dL/db"]
    return fit_table(table, headers=headers, disable_numparse=True, tablefmt=tablefmt)
