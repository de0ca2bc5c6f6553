"""A model's summary, as torchinfo prints one: layers, output shapes, parameters, mult-adds.

``summary(model, (1, 64))`` runs one forward pass on zeros of that shape (the batch dimension
included, torchinfo's convention; ``batch_size=N`` instead prepends N to a one-sample shape)
with hooks on every module, and tabulates, per call of a module: its dotted name and type, the
shape of its output, its parameters (trainable or not) and the multiply-adds it did.

Multiply-adds follow torchinfo's rules (``LayerInfo.calculate_macs``): a module's own
parameters, each applied once per position of its output. With N the batch size:

- ConvNd: (weight + bias elements) × N × output positions, i.e. output elements ×
  (C_in/groups × kernel elements) for the weight, plus one per output element for the bias.
- Linear, Bilinear: (weight + bias elements) × output rows (every leading dimension: torchinfo
  counts only the first, which undercounts a Linear applied per time step).
- RNN, LSTM, GRU and their cells: every weight and bias × N × time steps, so an LSTM layer
  costs N·T·4H·(in + H + 2) (4 gates; GRU 3, RNN 1).
- Other modules with a ``weight`` or ``bias`` (BatchNorm, LayerNorm, GroupNorm, PReLU):
  those elements × N, as torchinfo.
- Embedding (a lookup) and modules without parameters (activations, pooling, dropout): 0.

Totals count every parameter once (shared ones too, containers' own ones too) and the
mult-adds of every call. Memory is torchinfo's: parameters' bytes; "forward/backward pass":
the outputs of the leaf layers that have parameters, twice (the activation kept for backward
and its gradient); both this and the input are reported per sample. 1 MB is 10⁶ bytes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn
from ..creation import as_tensor, zeros
from ..errors import ConfigError
from ..nn.conv import _ConvNd
from ..tensor import Tensor, no_grad

LAYER_WIDTH = 36  # the layer column; with the others, the table fits in 100 columns
SHAPE_WIDTH = 18


@dataclass
class LayerRow:
    """One call of one module during the summary's forward pass."""

    name: str  # dotted, as named_modules (the model itself is "")
    type: str
    depth: int  # 0 for the model, 1 for its children, ...
    output_shape: tuple[int, ...] | None
    params: int  # this module's parameters, its descendants' included, each once
    trainable_params: int
    own_params: int  # those registered on this module itself
    mult_adds: int  # this call's, its descendants' calls included
    own_mult_adds: int
    is_leaf: bool
    recursive: bool = False  # a further call of a module already listed
    output_bytes: int = 0

    @property
    def trainable(self) -> str:
        """torchinfo's column: True, False, Partial, or -- without parameters."""
        if self.params == 0:
            return "--"
        if self.trainable_params == 0:
            return "False"
        return "True" if self.trainable_params == self.params else "Partial"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "depth": self.depth,
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "trainable": self.trainable,
            "mult_adds": self.mult_adds,
            "is_leaf": self.is_leaf,
            "recursive": self.recursive,
        }


@dataclass
class ModelSummary:
    """What ``summary`` measured; ``str()`` is the table, ``to_dict()`` the numbers."""

    model_type: str
    rows: list[LayerRow]
    input_shapes: list[tuple[int, ...]]
    batch_size: int
    depth: int
    total_params: int
    trainable_params: int
    total_mult_adds: int
    param_bytes: int
    activation_bytes: int  # forward and backward, for the whole batch
    input_bytes: int  # for the whole batch
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def params_mb(self) -> float:
        return self.param_bytes / 1e6

    @property
    def forward_backward_mb(self) -> float:
        """torchinfo's "Forward/backward pass size", per sample."""
        return self.activation_bytes / self.batch_size / 1e6

    @property
    def input_mb(self) -> float:
        """The input's size, per sample."""
        return self.input_bytes / self.batch_size / 1e6

    @property
    def total_mb(self) -> float:
        """torchinfo's "Estimated Total Size": input, activations and parameters of the batch."""
        return (self.input_bytes + self.activation_bytes + self.param_bytes) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_type,
            "input_size": [list(s) for s in self.input_shapes],
            "batch_size": self.batch_size,
            "rows": [row.to_dict() for row in self.rows],
            "totals": {
                "total_params": self.total_params,
                "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params,
                "total_mult_adds": self.total_mult_adds,
            },
            "memory": {
                "params_mb": self.params_mb,
                "forward_backward_mb_per_sample": self.forward_backward_mb,
                "input_mb_per_sample": self.input_mb,
                "total_mb": self.total_mb,
            },
        }

    # ------------------------------------------------------------------ rendering
    def _table(self) -> tuple[list[str], list[list[str]]]:
        shown = [row for row in self.rows if row.depth <= self.depth]
        headers = ["Layer (type)", "Output shape", "Param #", "Trainable", "Mult-adds"]
        cells = [
            [label, _fit(_shape_text(row.output_shape), SHAPE_WIDTH), *_numbers(row, self.depth)]
            for row, label in zip(shown, _tree_labels(shown), strict=True)
        ]
        return headers, cells

    def _footer(self) -> tuple[list[str], list[str]]:
        unit, scale = _readable(self.total_mult_adds)
        return [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total mult-adds ({unit}): {self.total_mult_adds / scale:.2f}",
        ], [
            f"Input size per sample (MB): {self.input_mb:.4f}",
            f"Forward/backward pass size per sample (MB): {self.forward_backward_mb:.4f}",
            f"Params size (MB): {self.params_mb:.4f}",
            f"Estimated total size, batch of {self.batch_size} (MB): {self.total_mb:.4f}",
        ]

    def __str__(self) -> str:
        from tabulate import tabulate

        headers, cells = self._table()
        table = tabulate(
            cells,
            headers=headers,
            disable_numparse=True,
            colalign=("left", "left", "right", "left", "right"),
            preserve_whitespace=True,  # the tree's indentation
        )
        width = max(len(line) for line in table.splitlines())
        counts, memory = self._footer()
        rule = "=" * width
        return "\n".join([rule, table, rule, *counts, rule, *memory, rule])

    def __repr__(self) -> str:
        return (
            f"ModelSummary({self.model_type}, total_params={self.total_params:,}, "
            f"total_mult_adds={self.total_mult_adds:,})"
        )

    def _repr_html_(self) -> str:
        from tabulate import tabulate

        headers, cells = self._table()
        table = tabulate(
            cells, headers=headers, tablefmt="html", disable_numparse=True, preserve_whitespace=True
        )
        counts, memory = self._footer()
        footer = "<br>".join(html.escape(line) for line in [*counts, *memory])
        return f"<div>{table}<p>{footer}</p></div>"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "--" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def _numbers(row: LayerRow, max_depth: int) -> list[str]:
    """torchinfo's convention: a row whose children are listed below it shows only its own
    parameters and mult-adds, so that no column counts anything twice."""
    expanded = not row.is_leaf and row.depth < max_depth
    params = row.own_params if expanded else row.params
    macs = row.own_mult_adds if expanded else row.mult_adds
    if row.recursive and row.params:
        params_text = "(recursive)"
    elif params == 0:
        params_text = "--"
    else:
        params_text = f"{params:,}" if row.trainable_params else f"({params:,})"
    return [params_text, row.trainable, f"{macs:,}" if macs else "--"]


def _tree_labels(rows: list[LayerRow]) -> list[str]:
    """'├─name (Type)' lines indented by depth, '└─' for a parent's last child."""
    labels = []
    open_levels: list[bool] = []  # per ancestor depth: whether siblings follow it
    for i, row in enumerate(rows):
        if row.depth == 0:
            labels.append(_fit(row.type, LAYER_WIDTH))
            continue
        later = (r.depth for r in rows[i + 1 :] if r.depth <= row.depth)
        last = next(later, 0) < row.depth
        del open_levels[row.depth - 1 :]
        prefix = "".join("│ " if more else "  " for more in open_levels)
        prefix += "└─" if last else "├─"
        open_levels.append(not last)
        suffix = f" ({row.type})"
        room = LAYER_WIDTH - len(prefix) - len(suffix)
        name = row.name if room >= len(row.name) else row.name[: max(room - 1, 0)] + "…"
        labels.append(_fit(prefix + name + suffix, LAYER_WIDTH))
    return labels


def _readable(count: int) -> tuple[str, float]:
    if count >= 1e12:
        return "T", 1e12
    if count >= 1e9:
        return "G", 1e9
    return "M", 1e6


# ---------------------------------------------------------------------- measuring


def _tensors(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def _mult_adds(module: nn.Module, shape: tuple[int, ...]) -> int:
    """This call's multiply-adds by the module's own parameters (the rules in the module
    docstring), from the shape of its (first) output."""
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return 0
    rows = math.prod(shape[:-1])  # every position a Linear/recurrent layer is applied at
    total = 0
    for name, param in module._parameters.items():
        if param is None:
            continue
        count = param.numel()
        if isinstance(module, _ConvNd):
            channel_axis = len(shape) - len(module.kernel_size) - 1
            total += count * math.prod(shape) // max(shape[channel_axis], 1)
        elif isinstance(module, (nn.Linear, nn.Bilinear, nn.RNNBase, nn.RNNCellBase)):
            total += count * rows
        elif name in ("weight", "bias"):
            total += count * (shape[0] if len(shape) > 1 else 1)
        elif "weight" in name or "bias" in name:  # weight_ih_l0 and the like, as torchinfo
            total += count * rows
    return total


def _count(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _shapes(input_size: Any, batch_size: int | None) -> list[tuple[int, ...]]:
    """input_size as a list of shapes: one tuple of ints, or a sequence of them."""
    if not isinstance(input_size, Sequence) or isinstance(input_size, str):
        raise ConfigError(f"input_size must be a tuple of ints like (1, 64), got {input_size!r}")
    several = len(input_size) > 0 and all(
        isinstance(s, Sequence) and not isinstance(s, str) for s in input_size
    )
    shapes = [tuple(s) for s in input_size] if several else [tuple(input_size)]
    for shape in shapes:
        if not all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape):
            raise ConfigError(f"input_size needs positive integer sizes, got {input_size!r}")
        if batch_size is None and not shape:
            raise ConfigError("input_size includes the batch dimension, e.g. (1, 64); got ()")
    if batch_size is not None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        shapes = [(int(batch_size), *shape) for shape in shapes]
    return [tuple(int(d) for d in shape) for shape in shapes]


def _default_dtype(model: nn.Module) -> Any:
    from ..dtypes import get_default_dtype

    for param in model.parameters():
        if np.issubdtype(param.dtype, np.floating):
            return param.dtype
    return get_default_dtype()


def summary(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    input_data: Any = None,
    batch_size: int | None = None,
    depth: int = 3,
    dtypes: Sequence[Any] | None = None,
) -> ModelSummary:
    """Summarise ``model`` from one forward pass, as ``torchinfo.summary`` does.

    Args:
        model: any chainrule Module.
        input_size: the input's shape, batch dimension included as in torchinfo (``(1, 64)``,
            ``(8, 1, 28, 28)``); a list of shapes for a model that takes several inputs.
        input_data: the inputs themselves instead (a Tensor or array, a tuple of them as
            positional arguments, or a dict as keyword arguments).
        batch_size: when given, input_size is one sample's shape and this is prepended; torchinfo
            has no such guess, and neither does this: without it, input_size is taken whole.
        depth: how deep the table goes (0 is the model alone); totals always cover everything.
        dtypes: one dtype per input (e.g. ``[chainrule.long]`` for an Embedding); default: the
            model's floating dtype.

    The forward runs under no_grad in eval mode, on zeros; every module's training flag is
    restored and every hook removed afterwards, also when the forward raises.
    """
    if not isinstance(model, nn.Module):
        raise ConfigError(f"summary() needs a chainrule Module, got {type(model).__name__}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ConfigError(f"depth must be a non-negative integer, got {depth!r}")
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = {}
    if input_data is not None:
        if input_size is not None:
            raise ConfigError("give input_size or input_data, not both")
        if isinstance(input_data, dict):
            args, kwargs = (), dict(input_data)
        elif isinstance(input_data, (list, tuple)):
            args = tuple(input_data)
        else:
            args = (input_data,)
        args = tuple(as_tensor(a) if isinstance(a, np.ndarray) else a for a in args)
        kwargs = {k: as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        if batch_size is not None:
            raise ConfigError("batch_size goes with input_size; input_data has its own batch")
    elif input_size is None:
        raise ConfigError("summary() needs input_size (e.g. (1, 64)) or input_data")
    else:
        shapes = _shapes(input_size, batch_size)
        if dtypes is not None and len(dtypes) != len(shapes):
            raise ConfigError(f"dtypes has {len(dtypes)} entries for {len(shapes)} inputs")
        kinds = list(dtypes) if dtypes is not None else [_default_dtype(model)] * len(shapes)
        args = tuple(zeros(s, dtype=k) for s, k in zip(shapes, kinds, strict=True))
    inputs = list(_tensors((args, kwargs)))
    if not inputs:
        raise ConfigError("input_data holds no tensor")
    batch = inputs[0].shape[0] if inputs[0].ndim > 0 else 1
    input_bytes = sum(t.numel() * t.element_size() for t in inputs)

    names = {id(m): name for name, m in model.named_modules()}
    rows: list[LayerRow] = []
    stack: list[LayerRow] = []
    called: set[int] = set()

    def before(module: nn.Module, _args: Any) -> None:
        params, trainable = _count(module)
        own = sum(p.numel() for p in module._parameters.values() if p is not None)
        row = LayerRow(
            name=names.get(id(module), "?"),
            type=type(module).__name__,
            depth=len(stack),
            output_shape=None,
            params=params,
            trainable_params=trainable,
            own_params=own,
            mult_adds=0,
            own_mult_adds=0,
            is_leaf=not any(True for _ in module.children()),
            recursive=id(module) in called,
        )
        called.add(id(module))
        rows.append(row)
        stack.append(row)

    def after(module: nn.Module, _args: Any, output: Any) -> None:
        row = stack.pop()
        outputs = list(_tensors(output))
        if outputs:
            row.output_shape = tuple(outputs[0].shape)
            row.own_mult_adds = _mult_adds(module, row.output_shape)
            row.output_bytes = sum(t.numel() * t.element_size() for t in outputs)
        row.mult_adds += row.own_mult_adds
        if stack:
            stack[-1].mult_adds += row.mult_adds

    modes = [(m, m.training) for m in model.modules()]
    handles = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        model.eval()
        with no_grad():
            model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            object.__setattr__(module, "training", training)

    total, trainable = _count(model)
    return ModelSummary(
        model_type=type(model).__name__,
        rows=rows,
        input_shapes=[tuple(t.shape) for t in inputs],
        batch_size=max(int(batch), 1),
        depth=depth,
        total_params=total,
        trainable_params=trainable,
        total_mult_adds=sum(row.own_mult_adds for row in rows),
        param_bytes=sum(p.numel() * p.element_size() for p in model.parameters()),
        activation_bytes=2 * sum(r.output_bytes for r in rows if r.is_leaf and r.params),
        input_bytes=input_bytes,
    )


# ---------------------------------------------------------------------- command line

# One sample's shape per built-in data set (chainrule.train.recipes.load_dataset): digits and
# breast-cancer are tables of 64 and 30 features (the image models unflatten the 64 to 1x8x8).
DATASET_INPUTS = {"digits": (64,), "breast-cancer": (30,), "mnist": (1, 28, 28)}


def model_input_shape(model: nn.Module, metadata: Any) -> tuple[int, ...]:
    """One sample's input shape for a model file: from its data set, else from its first
    Unflatten (an image model) or Linear (an MLP). (``chainrule summary`` and ``export``.)"""
    config = metadata.get("config") if isinstance(metadata, dict) else None
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if isinstance(dataset, str) and dataset in DATASET_INPUTS:
        return DATASET_INPUTS[dataset]
    for module in model.modules():
        if isinstance(module, nn.Unflatten):
            return (math.prod(module.unflattened_size),)
        if isinstance(module, nn.Linear):
            return (module.in_features,)
    raise ConfigError("cannot tell this model's input shape: give --input-size, e.g. 1,28,28")


def shape_arg(text: str) -> tuple[int, ...]:
    import argparse

    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive comma-separated sizes like 1,28,28, got {text!r}"
        )
    return shape


def add_summary_command(commands: Any) -> None:
    from ..cli import _positive_int

    parser = commands.add_parser(
        "summary", help="layers, output shapes, parameters and mult-adds of a model file"
    )
    parser.add_argument("model_path", metavar="MODEL", help="a model file from train --out")
    parser.add_argument(
        "--input-size", type=shape_arg, metavar="C,H,W",
        help="one sample's shape (default: from the model's data set)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=_positive_int, default=1, metavar="N",
        help="the batch the shapes and activation memory are shown for",
    )  # fmt: skip
    parser.add_argument("--depth", type=int, default=3, help="how deep the table goes")
    parser.set_defaults(handler=cmd_summary)


def cmd_summary(args: Any) -> int:
    from ..serialization import load, read_header

    model = load(args.model_path)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{args.model_path} holds no model (a state file?)")
    shape = args.input_size
    if shape is None:
        shape = model_input_shape(model, read_header(args.model_path).get("metadata"))
    print(summary(model, shape, batch_size=args.batch_size, depth=args.depth))
    return 0
