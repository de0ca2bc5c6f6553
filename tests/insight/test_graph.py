"""chainrule.insight.graph: the autograd graph as DOT text, SVG and PNG; the notebook reprs."""

from __future__ import annotations

import contextlib
import html
import importlib
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.errors import ConfigError, TensorError
from chainrule.insight import Graph, graph, trace_layer
from chainrule.train.state import History
from conftest import REPO

graph_module = importlib.import_module("chainrule.insight.drawing")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot not installed")


def small_graph() -> tuple[cr.Tensor, cr.Tensor, cr.Tensor, cr.Tensor]:
    """loss = Σ exp(c)·c with c = a·b: c feeds two ops."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([0.5, -1.0], requires_grad=True)
    c = a * b
    loss = (c.exp() * c).sum()
    return a, b, c, loss


def by_label(g: Graph, first_line: str) -> list[str]:
    return [n.key for n in g.nodes if n.label_lines(g.show_values)[0] == first_line]


def parse_dot(source: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Node id -> label and the edges, read back from our own DOT text."""
    nodes = dict(re.findall(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"', source, re.M))
    edges = re.findall(r"^  (n\d+) -> (n\d+);$", source, re.M)
    return nodes, edges


def test_small_graph_nodes_edges_and_labels() -> None:
    a, b, _, loss = small_graph()
    g = graph(loss, params={"a": a, "b": b})
    ops = [n.op for n in g.nodes if n.kind == "op"]
    assert sorted(ops) == ["ExpBackward", "MulBackward", "MulBackward", "SumBackward"]
    assert [n.name for n in g.nodes if n.kind == "leaf"] == ["a", "b"]
    assert len(g.nodes) == 6 and len(g.edges) == 6
    assert (
        g.nodes[0].op == "SumBackward" and g.nodes[0].shape == () and g.nodes[0].dtype == "float32"
    )
    # c = a·b is one node with two arrows out (into exp and into the product).
    (c_key,) = [n.key for n in g.nodes if n.op == "MulBackward" and n.key != g.edges[0][0]]
    out_of_c = [e for e in g.edges if e[0] == c_key]
    assert len(out_of_c) == 2 and len({target for _, target in out_of_c}) == 2
    (a_key,) = by_label(g, "a")
    assert g.edges.count((a_key, c_key)) == 1  # data-flow direction: leaf -> op
    nodes, edges = parse_dot(g.source)
    assert set(nodes) == {n.key for n in g.nodes} and sorted(edges) == sorted(g.edges)
    assert nodes[a_key] == "a\\n(2,) float32"
    assert "‖grad‖" not in g.source  # no backward yet


def test_a_tensor_used_twice_by_one_op_has_two_edges() -> None:
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    y = x * 3.0
    loss = (y * y).sum()
    g = graph(loss)
    (y_key,) = [n.key for n in g.nodes if n.op == "MulBackward" and n.key != g.edges[0][0]]
    square = g.edges[0][0]
    assert g.edges.count((y_key, square)) == 2
    assert len([n for n in g.nodes if n.key == y_key]) == 1
    assert by_label(g, "leaf")  # an unnamed leaf


def test_module_names_the_leaves() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    loss = model(cr.tensor([[1.0, 0.5]])).sum()
    g = graph(loss, params=model)
    leaves = {n.name: n.shape for n in g.nodes if n.kind == "leaf"}
    assert leaves == {"0.weight": (3, 2), "0.bias": (3,), "2.weight": (1, 3), "2.bias": (1,)}
    assert sum(n.op == "LinearBackward" for n in g.nodes) == 2
    assert sum(n.op == "TanhBackward" for n in g.nodes) == 1


def test_gradient_norms_after_backward_match_the_grads() -> None:
    a, b, c, loss = small_graph()
    c.retain_grad()
    g = graph(loss, params={"a": a, "b": b}, show_values=True)
    loss.backward()
    assert all(n.grad_norm is None for n in g.nodes)  # shown only after update()
    g.update()
    leaves = {n.name: n for n in g.nodes if n.kind == "leaf"}
    for name, t in (("a", a), ("b", b)):
        assert leaves[name].grad_norm == pytest.approx(float(np.linalg.norm(t.grad.array)))
        np.testing.assert_array_equal(leaves[name].grad, t.grad.array)
        np.testing.assert_array_equal(leaves[name].value, t.array)
    # The op nodes' gradients come from the hooks: c's equals its retained .grad.
    (c_node,) = [n for n in g.nodes if n.op == "MulBackward" and n.key != g.edges[0][0]]
    assert c_node.grad_norm == pytest.approx(float(np.linalg.norm(c.grad.array)), rel=1e-6)
    np.testing.assert_allclose(c_node.value, c.array)  # retained, so its value is known
    assert g.nodes[0].grad_norm == 1.0
    assert f"‖grad‖ {float(np.linalg.norm(a.grad.array)):.4g}" in g.source
    exact = np.exp(c.array) * (1 + c.array)  # d/dc Σ exp(c)·c
    np.testing.assert_allclose(c_node.grad, exact, rtol=1e-6)


def test_graph_after_backward_needs_the_graph_retained() -> None:
    a, b, _, loss = small_graph()
    loss.backward(retain_graph=True)
    g = graph(loss, params={"a": a, "b": b})  # leaf grads are read at once
    assert {n.name: n.grad_norm is not None for n in g.nodes if n.kind == "leaf"} == {
        "a": True,
        "b": True,
    }
    _, _, _, loss = small_graph()
    loss.backward()
    with pytest.raises(TensorError, match="freed"):
        graph(loss)
    with pytest.raises(TensorError, match="no autograd graph"):
        graph(cr.tensor([1.0]) * 2)
    with pytest.raises(ConfigError, match="params"):
        graph(small_graph()[3], params=[1, 2])


def test_a_dropped_graph_leaves_backward_alone() -> None:
    a, _, _, loss = small_graph()
    graph(loss)  # its hooks stay on the nodes; the Graph itself is gone
    loss.backward()
    np.testing.assert_allclose(a.grad.array, [0.5 * np.exp(0.5) * 1.5, -1.0 * np.exp(-2.0) * -1.0])


def test_names_are_escaped_in_dot() -> None:
    x = cr.tensor([1.0], requires_grad=True)
    g = graph((x * 2).sum(), params={'say "hi" \\o/': x})
    nodes, _ = parse_dot(g.source)
    assert 'say \\"hi\\" \\\\o/\\n(1,) float32' in nodes.values()


def test_render_dot_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module, "dot_program", lambda: None)
    g = graph(small_graph()[3])
    path = g.render(tmp_path / "g.dot")
    assert path.read_text() == g.source and g.source.startswith("digraph autograd {")
    for suffix in (".svg", ".png"):
        with pytest.raises(ConfigError, match="apt install graphviz / brew install graphviz"):
            g.render(tmp_path / f"g{suffix}")
        assert not (tmp_path / f"g{suffix}").exists()
    assert g._repr_svg_() is None
    shown = g._repr_html_()
    assert "<pre>" in shown and "n1 -&gt; n0" in shown and "apt install graphviz" in shown
    with pytest.raises(ConfigError, match=r"\.svg, \.png or \.dot"):
        g.render(tmp_path / "g.txt")


@needs_dot
def test_render_svg_and_png(tmp_path: Path) -> None:
    a, b, _, loss = small_graph()
    g = graph(loss, params={'a "quoted" name': a, "b": b}, show_values=True)
    loss.backward()
    g.update()
    svg = g.render(tmp_path / "g.svg").read_bytes()
    assert svg.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in svg[:500]
    assert b"ExpBackward" in svg and b"&quot;quoted&quot;" in svg
    assert g.render(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert g._repr_svg_().startswith("<svg") and g._repr_html_().startswith("<svg")


def test_history_repr_html() -> None:
    history = History([{"epoch": 1, "loss": 0.512345, "accuracy": 0.9},
                       {"epoch": 2, "loss": np.float32(0.25), "val_loss": 0.5}])  # fmt: skip
    shown = history._repr_html_()
    assert shown.startswith("<table>") and shown.count("<tr>") == 3
    header = re.findall(r"<th>(.*?)</th>", shown)
    assert header == ["epoch", "loss", "accuracy", "val_loss"]
    cells = re.findall(r"<td>(.*?)</td>", shown)
    assert cells == ["1", "0.5123", "0.9", "", "2", "0.25", "", "0.5"]


def test_tracer_tables_repr_html() -> None:
    layer = nn.Linear(2, 3)
    tracer = trace_layer(layer, np.array([1.0, 0.5]), "sigmoid")
    for table in (tracer.forward_table("0"), tracer.backward_table("0")):
        assert isinstance(table, str) and "neuron" in table
        shown = table._repr_html_()
        assert shown.startswith("<table>") and shown.count("<tr>") == 4  # header + 3 neurons
    assert "sigmoid(z)" in tracer.forward_table("0")._repr_html_()
    assert "f&#x27;(z)" in tracer.backward_table("0")._repr_html_()  # escaped


def test_cli_explain_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "g.dot"
    assert main(["explain", "--graph", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "loss before the step" in printed and f"wrote {out}" in printed
    nodes, edges = parse_dot(out.read_text())
    assert len(nodes) == 10 and len(edges) == 10
    labels = "\n".join(nodes.values())
    for text in ("MeanBackward", "SigmoidBackward", "0.weight\\n(3, 2) float32", "value 0.5833",
                 "value [0.2362]", "grad [-1.528]", "a = sigmoid(z)"):  # fmt: skip
        assert text in labels, text
    assert main(["explain", "--model", str(tmp_path / "m.npz"), "--graph", str(out)]) == 2
    assert "worked example" in capsys.readouterr().err
    if shutil.which("dot") is not None:
        svg = tmp_path / "g.svg"
        assert main(["explain", "--graph", str(svg), "--activation", "tanh"]) == 0
        assert b"<svg" in svg.read_bytes()[:500] and b"TanhBackward" in svg.read_bytes()


def test_docs_picture_is_the_worked_example() -> None:
    """docs/autograd-graph.svg carries every label line of `chainrule explain --graph`."""
    picture = (REPO / "docs" / "autograd-graph.svg").read_text()
    drawn = {html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", picture)}
    g = graph_module.worked_example_graph()
    wanted = {line for n in g.nodes for line in n.label_lines(True)}
    assert wanted <= drawn, wanted - drawn


def test_readme_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "README.md").read_text()
    marker = text.index("<!-- readme-graph")
    block = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.group(1), "README.md", "exec"), {})  # our own README
    assert printed.getvalue().strip() == "digraph autograd {"
    assert "‖grad‖" in (tmp_path / "graph.dot").read_text()
