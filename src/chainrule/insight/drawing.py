"""The autograd graph that ``backward()`` walks, as a picture: DOT text, SVG or PNG.

``graph(loss)`` walks from ``loss.grad_fn`` and keeps a snapshot of the structure: one box per
recorded op (its Node's name, the output's shape and dtype) and one per leaf that requires grad
(its name when known, shape, dtype). Arrows run the way data flows in the forward pass, from the
leaves down to the loss; ``backward()`` walks them in reverse, and where a tensor feeds two ops it
has two arrows out, whose two gradients backward sums.

Gradients: the graph registers a read-only hook on each of its Nodes, so a ``backward()`` through
them records d(root)/d(output) of every op; ``update()`` after backward takes those and the
leaves' ``.grad`` and shows ‖grad‖ in each box. So draw the graph *before* backward (which frees
it, unless ``retain_graph=True``), then update it:

    g = chainrule.insight.graph(loss, params=model, show_values=True)
    loss.backward()
    g.update().render("graph.svg")    # .svg, .png (needs Graphviz's dot) or .dot

A Node keeps only what its op's backward needs, not its output, so ``show_values`` shows the
values of the root, the leaves and the intermediate tensors named in ``params`` or kept with
``retain_grad()`` (tensors of at most ``SMALL`` elements; and their gradients after ``update()``).

DOT text never needs Graphviz; SVG and PNG run its ``dot`` program (``apt install graphviz``,
``brew install graphviz`` or ``conda install graphviz``). In a notebook a Graph shows itself as
SVG (``_repr_svg_``, ``_repr_html_``), or as its DOT text when ``dot`` is not installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import functional as F
from .. import nn
from ..errors import ChainruleError, ConfigError, TensorError
from ..fileio import atomic_write_bytes
from ..graph import Node
from ..tensor import Tensor

SMALL = 8  # show_values shows tensors of at most this many elements
DOT_TIMEOUT = 60.0  # seconds: dot lays out a graph of thousands of nodes in a few
INSTALL = "install Graphviz: apt install graphviz / brew install graphviz / conda install graphviz"
_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
_LEAF_FILL, _OP_FILL, _ROOT_FILL = "#dbeafe", "#f1f5f9", "#dcfce7"


def dot_program() -> str | None:
    """The path of Graphviz's ``dot``, or None when it is not installed."""
    return shutil.which("dot")


@dataclass
class GraphNode:
    """One box of the picture: an op's Node (``kind='op'``) or a leaf tensor (``kind='leaf'``)."""

    key: str  # the DOT id: n0 is the root
    kind: str
    op: str | None  # e.g. 'LinearBackward'; None for a leaf
    name: str | None  # from params, when given
    shape: tuple[int, ...]
    dtype: str
    value: np.ndarray | None = None  # a copy, when shown
    grad_norm: float | None = None  # ‖d(root)/d(this tensor)‖ after update()
    grad: np.ndarray | None = field(default=None, repr=False)  # a copy, when shown

    def label_lines(self, show_values: bool) -> list[str]:
        lines = [self.name] if self.name else []
        if self.kind == "op":
            lines.append(self.op or "")
        elif not self.name:
            lines.append("leaf")
        lines.append(f"{self.shape} {self.dtype}")
        if show_values and self.value is not None:
            lines += _array_lines("value", self.value)
        if show_values and self.grad is not None:
            lines += _array_lines("grad", self.grad)
        if self.grad_norm is not None and (
            self.grad is None or self.grad.size > 1 or not show_values
        ):
            lines.append(f"‖grad‖ {_num(self.grad_norm)}")
        return lines


def _num(value: float) -> str:
    return f"{value:.4g}"


def _array_lines(what: str, array: np.ndarray) -> list[str]:
    """A small array row by row: 'value [0.27, -0.46]' then one line per further row."""
    if array.ndim == 0:
        return [f"{what} {_num(float(array))}"]
    rows = array.reshape(-1, array.shape[-1]) if array.size else array.reshape(1, 0)
    written = ["[" + ", ".join(_num(float(v)) for v in row) + "]" for row in rows]
    return [f"{what} {written[0]}", *written[1:]]


def _small(array: np.ndarray) -> np.ndarray | None:
    return np.array(array, copy=True) if array.size <= SMALL else None


def _names(params: Any) -> dict[int, tuple[str, Tensor]]:
    """id(tensor) -> (name, tensor) from a Module's named_parameters or a dict name -> tensor."""
    if params is None:
        return {}
    if isinstance(params, nn.Module):
        items = list(params.named_parameters())
    elif isinstance(params, dict):
        items = list(params.items())
    else:
        raise ConfigError(
            f"params must be a Module or a dict of name -> tensor, got {type(params).__name__}"
        )
    names: dict[int, tuple[str, Tensor]] = {}
    for name, t in items:
        if not isinstance(t, Tensor):
            raise ConfigError(f"params[{name!r}] is a {type(t).__name__}, not a tensor")
        names.setdefault(id(t), (str(name), t))
    return names


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _svg_body(svg: bytes) -> str:
    """dot's SVG without its XML prolog and doctype, for embedding in HTML."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


class Graph:
    """A snapshot of the autograd graph behind a tensor; see the module's docstring.

    Attributes:
        nodes: the boxes, the root first (``GraphNode``: kind, op, name, shape, dtype, ...).
        edges: (from key, to key) pairs in the direction data flows, one per op input.
    """

    def __init__(self, tensor: Tensor, params: Any = None, show_values: bool = False) -> None:
        if not isinstance(tensor, Tensor):
            raise ConfigError(f"graph() takes a tensor, got {type(tensor).__name__}")
        self.show_values = bool(show_values)
        self.nodes: list[GraphNode] = []
        self.edges: list[tuple[str, str]] = []
        names = _names(params)
        # The tensors whose .grad update() reads: leaves and named or retained intermediates.
        self._tensors: dict[str, Tensor | weakref.ref[Tensor]] = {}
        # What the hooks recorded in the last backward: key -> (‖grad‖, a copy when small).
        self._pending: dict[str, tuple[float, np.ndarray | None]] = {}
        self._svg: tuple[str, bytes] | None = None
        node_names = {id(t.grad_fn): (n, t) for n, t in names.values() if t.grad_fn is not None}
        root = tensor.grad_fn
        if root is None:
            if not tensor.requires_grad:
                raise TensorError(
                    "graph(): this tensor has no autograd graph (no input with "
                    "requires_grad=True contributed to it, or it was computed under no_grad())"
                )
            self._add_leaf(tensor, names)
            self.update()
            return
        node_names.setdefault(id(root), (None, tensor))  # type: ignore[arg-type]
        keys: dict[int, str] = {}
        stack: list[Node] = [root]
        keys[id(root)] = self._add_op(root, node_names)
        while stack:
            node = stack.pop()
            if node.parents is None:
                raise TensorError(
                    "graph(): the graph behind this tensor was already freed by backward(); "
                    "draw it before backward() (then update() it), or call "
                    "backward(retain_graph=True)"
                )
            for parent in node.parents:
                if parent is None:
                    continue  # a constant, or an input that does not require grad
                key = keys.get(id(parent))
                if key is None:
                    if type(parent) is Node:
                        key = self._add_op(parent, node_names)
                        stack.append(parent)
                    else:
                        key = self._add_leaf(parent, names)
                    keys[id(parent)] = key
                self.edges.append((key, keys[id(node)]))
        self.update()

    # ------------------------------------------------------------------ building
    def _add_leaf(self, t: Tensor, names: dict[int, tuple[str, Tensor]]) -> str:
        key = f"n{len(self.nodes)}"
        name = names.get(id(t), (None, t))[0]
        value = _small(t.array) if self.show_values else None
        self.nodes.append(GraphNode(key, "leaf", None, name, t.shape, str(t.dtype), value))
        self._tensors[key] = t
        return key

    def _add_op(self, node: Node, named: dict[int, tuple[str | None, Tensor]]) -> str:
        key = f"n{len(self.nodes)}"
        name, t = named.get(id(node), (None, None))
        if t is None and node.retained is not None:
            t = node.retained()
        value = _small(t.array) if self.show_values and t is not None else None
        self.nodes.append(
            GraphNode(key, "op", node.name(), name, tuple(node.shape), str(node.dtype), value)
        )
        if t is not None:
            self._tensors[key] = t if name is not None else weakref.ref(t)
        owner = weakref.ref(self)  # a hook must not keep a drawn-and-dropped Graph alive

        def record(grad: Tensor) -> None:
            g = owner()
            if g is not None:
                norm = float(np.linalg.norm(np.asarray(grad.array, dtype=np.float64)))
                g._pending[key] = (norm, _small(grad.array) if g.show_values else None)

        if node.hooks is None:
            node.hooks = []
        node.hooks.append(record)
        return key

    # ------------------------------------------------------------------ gradients
    def update(self) -> Graph:
        """Show the gradients as they are now: each leaf's ``.grad`` and, for each op, the
        gradient of its output in the last backward() through it (or a retained ``.grad``)."""
        for n in self.nodes:
            recorded = self._pending.get(n.key)
            held = self._tensors.get(n.key)
            t = held() if isinstance(held, weakref.ref) else held
            if (n.kind == "leaf" or recorded is None) and t is not None and t.grad is not None:
                grad = t.grad.array
                norm = float(np.linalg.norm(np.asarray(grad, dtype=np.float64)))
                recorded = (norm, _small(grad) if self.show_values else None)
            n.grad_norm, n.grad = recorded if recorded is not None else (None, None)
        self._svg = None
        return self

    refresh = update

    # ------------------------------------------------------------------ output
    @property
    def source(self) -> str:
        """The graph as DOT text (Graphviz's language; no Graphviz needed to make it)."""
        caption = (
            "arrows: the forward pass; backward() walks them in reverse, "
            "summing the gradients where a tensor has two arrows out"
        )
        if any(n.grad_norm is not None for n in self.nodes):
            caption += "\\ngrad = d(root)/d(tensor), from the last backward()"
        lines = [
            "digraph autograd {",
            f'  graph [fontname="Helvetica", fontsize=10, labelloc=b, label="{caption}"];',
            f'  node [shape=box, style="rounded,filled", fillcolor="{_OP_FILL}", '
            'fontname="Helvetica", fontsize=11];',
            '  edge [color="#475569", arrowsize=0.7];',
        ]
        for n in self.nodes:
            label = "\\n".join(_escape(line) for line in n.label_lines(self.show_values))
            attributes = [f'label="{label}"']
            if n.kind == "leaf":
                attributes.append(f'style=filled, fillcolor="{_LEAF_FILL}"')
            if n.key == "n0":
                attributes.append(f'fillcolor="{_ROOT_FILL}", penwidth=1.5')
            lines.append(f"  {n.key} [{', '.join(attributes)}];")
        lines += [f"  {a} -> {b};" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def pipe(self, format: str = "svg") -> bytes:
        """The picture as bytes, laid out by Graphviz's dot (``format``: 'svg' or 'png')."""
        if format == "dot":
            return self.source.encode("utf-8")
        if format not in ("svg", "png"):
            raise ConfigError(f"unknown graph format {format!r}; choose svg, png or dot")
        if format == "svg" and self._svg is not None and self._svg[0] == self.source:
            return self._svg[1]
        program = dot_program()
        if program is None:
            raise ConfigError(
                f"drawing the graph as {format.upper()} needs Graphviz's dot program: {INSTALL} "
                "(or write DOT text: a .dot path, or Graph.source)"
            )
        source = self.source
        try:
            done = subprocess.run(
                [program, f"-T{format}"],
                input=source.encode("utf-8"),
                capture_output=True,
                timeout=DOT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ChainruleError(f"Graphviz's dot took over {DOT_TIMEOUT:g} s") from None
        except OSError as exc:
            raise ChainruleError(f"cannot run Graphviz's dot ({program}): {exc}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise ChainruleError(f"Graphviz's dot failed: {message}")
        if format == "svg":
            self._svg = (source, done.stdout)
        return done.stdout

    def render(self, path: str | os.PathLike[str]) -> Path:
        """Write the graph to ``path``: SVG, PNG or DOT text by its suffix (written atomically).
        Returns the path."""
        target = Path(path)
        format = _FORMATS.get(target.suffix.lower())
        if format is None:
            raise ConfigError(
                f"cannot tell the graph's format from {target.name!r}: end the name in .svg, "
                ".png or .dot"
            )
        atomic_write_bytes(target, self.pipe(format))
        return target

    def _repr_svg_(self) -> str | None:
        if dot_program() is None:
            return None
        return _svg_body(self.pipe("svg"))

    def _repr_html_(self) -> str:
        if dot_program() is not None:
            return _svg_body(self.pipe("svg"))
        return (
            f"<p>Graphviz's dot is not installed, so here is the DOT text ({html.escape(INSTALL)}):"
            f"</p><pre>{html.escape(self.source)}</pre>"
        )

    def __repr__(self) -> str:
        return f"<Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"


def graph(tensor: Tensor, params: Any = None, show_values: bool = False) -> Graph:
    """The autograd graph behind ``tensor`` (the graph its ``backward()`` walks).

    Args:
        tensor: usually the loss, before ``backward()`` frees its graph.
        params: names for the boxes: a Module (its ``named_parameters()`` name the leaves) or a
            dict name -> tensor, which may also name intermediate tensors.
        show_values: write the values (and, after ``update()``, the gradients) of tensors with at
            most ``SMALL`` elements into their boxes.
    """
    return Graph(tensor, params, show_values)


def worked_example_graph(activation: str = "sigmoid", seed: int = 0) -> Graph:
    """The graph of ``chainrule explain``'s worked example (the 2-3-1 network and its loss
    L = (y - t)²), after its backward pass, with every value and gradient written in."""
    from .explain import WORKED_INPUT, WORKED_TARGET, worked_model

    model = worked_model(activation, seed)
    x = Tensor(np.array([WORKED_INPUT], dtype=np.float32))
    z = model[0](x)
    a = model[1](z)
    y = model[2](a)
    loss = F.mse_loss(y, np.array([[WORKED_TARGET]], dtype=np.float32))
    names: dict[str, Tensor] = dict(model.named_parameters())
    names.update({"z: layer 0's output": z, f"a = {activation}(z)": a, "y: layer 2's output": y})
    names["L = (y - t)²"] = loss
    g = graph(loss, names, show_values=True)
    loss.backward()
    return g.update()


def explain_graph(args: Any) -> None:
    """``chainrule explain --graph OUT``: draw the worked example's graph to OUT."""
    if getattr(args, "graph", None) is None:
        return
    if getattr(args, "model", None) is not None:
        raise ConfigError(
            "--graph draws the worked example's graph only; leave out --model to draw it"
        )
    path = worked_example_graph(args.activation, args.seed).render(args.graph)
    print(f"wrote {path}")
