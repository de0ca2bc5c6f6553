"""chainrule.summary: rows, parameter counts, mult-adds, memory, and ``chainrule summary``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.cli import main
from chainrule.errors import ConfigError, ShapeError
from chainrule.insight import ModelSummary
from chainrule.insight.model_summary import LayerRow, model_input_shape
from chainrule.models import build_cnn, build_mlp, build_resnet, build_rnn


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def row(result: ModelSummary, name: str) -> LayerRow:
    return next(r for r in result.rows if r.name == name)


def test_exported_from_chainrule_and_insight() -> None:
    import chainrule.insight

    model = cr.nn.Linear(3, 2)
    assert str(cr.summary(model, (1, 3))) == str(chainrule.insight.summary(model, (1, 3)))
    assert "summary" in cr.__all__ and "summary" in chainrule.insight.__all__


def test_import_chainrule_does_not_import_tabulate() -> None:
    import subprocess
    import sys

    code = "import sys, chainrule; print('tabulate' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("make", "twin", "shape"),
    [
        (lambda m: m.Linear(5, 3), None, (4, 5)),
        (lambda m: m.Conv2d(3, 8, 3, padding=1), None, (2, 3, 10, 10)),
        (lambda m: m.Conv2d(4, 8, 3, groups=2, bias=False), None, (1, 4, 6, 6)),
        (lambda m: m.BatchNorm2d(6), None, (2, 6, 4, 4)),
        (lambda m: m.LayerNorm(7), None, (3, 7)),
        (lambda m: m.LSTM(6, 5, num_layers=2, bidirectional=True), None, (7, 3, 6)),
        (lambda m: m.GRU(6, 5, batch_first=True), None, (3, 7, 6)),
        (lambda m: m.Embedding(10, 4), "long", (2, 3)),
    ],
)
def test_param_counts_match_torch_twins(make: Any, twin: Any, shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    layer = make(nn)
    dtypes = [cr.long] if twin == "long" else None
    result = cr.summary(layer, shape, dtypes=dtypes)
    expected = sum(p.numel() for p in make(torch.nn).parameters())
    assert result.total_params == result.rows[0].params == numel(layer) == expected
    assert result.trainable_params == expected and result.non_trainable_params == 0


def test_linear_mult_adds_count_every_row() -> None:
    # weight and bias once per output row: 4 rows x (5*3 + 3)
    assert cr.summary(nn.Linear(5, 3), (4, 5)).total_mult_adds == 4 * (15 + 3)
    # applied per time step, (2, 7, 5) is 14 rows
    assert cr.summary(nn.Linear(5, 3), (2, 7, 5)).total_mult_adds == 14 * (15 + 3)
    no_bias = cr.summary(nn.Linear(5, 3, bias=False), (4, 5))
    assert no_bias.total_mult_adds == 4 * 15 and no_bias.rows[0].output_shape == (4, 3)


def test_conv_mult_adds() -> None:
    result = cr.summary(nn.Conv2d(3, 8, 3, padding=1), (2, 3, 10, 10))
    out_elements = 2 * 8 * 10 * 10
    assert result.rows[0].output_shape == (2, 8, 10, 10)
    assert result.total_mult_adds == out_elements * (3 * 3 * 3) + out_elements  # weight + bias
    grouped = cr.summary(nn.Conv2d(4, 8, 3, groups=2, bias=False), (1, 4, 6, 6))
    assert grouped.total_mult_adds == (8 * 4 * 4) * (4 // 2 * 9)
    conv1d = cr.summary(nn.Conv1d(2, 4, 3), (5, 2, 9))
    assert conv1d.total_mult_adds == (5 * 4 * 7) * (2 * 3 + 1)


def test_recurrent_mult_adds() -> None:
    n, t, i, h = 3, 7, 6, 5
    # gates x (in + hidden + both biases) x hidden, per sample and time step
    for layer, gates in ((nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)):
        result = cr.summary(layer(i, h, batch_first=True), (n, t, i))
        assert result.total_mult_adds == n * t * gates * h * (i + h + 2), layer
        assert result.rows[0].output_shape == (n, t, h)
    two = cr.summary(nn.LSTM(i, h, num_layers=2), (t, n, i))
    assert two.total_mult_adds == n * t * 4 * h * ((i + h + 2) + (h + h + 2))
    cell = cr.summary(nn.LSTMCell(i, h), (n, i))
    assert cell.total_mult_adds == n * 4 * h * (i + h + 2)


def test_parameterless_layers_cost_nothing() -> None:
    model = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.5), nn.Flatten())
    result = cr.summary(model, (2, 3, 4, 4))
    assert result.total_mult_adds == 0 and result.total_params == 0
    assert [r.output_shape for r in result.rows] == [(2, 12), (2, 3, 4, 4), (2, 3, 2, 2),
                                                     (2, 3, 2, 2), (2, 12)]  # fmt: skip
    assert cr.summary(nn.Embedding(10, 4), (2, 3), dtypes=[cr.long]).total_mult_adds == 0


def test_builtin_models_totals_and_shapes() -> None:
    mlp = build_mlp(64, 10, hidden=[32, 16])
    result = cr.summary(mlp, (1, 64))
    assert result.total_params == numel(mlp) == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    assert result.total_mult_adds == result.total_params  # one row, every weight used once
    assert result.rows[0].output_shape == (1, 10)

    cnn = build_cnn((1, 8, 8), 10)
    result = cr.summary(cnn, (2, 64))
    assert result.total_params == numel(cnn)
    shapes = [r.output_shape for r in result.rows[1:]]
    assert shapes[:4] == [(2, 1, 8, 8), (2, 32, 8, 8), (2, 32, 8, 8), (2, 32, 4, 4)]
    assert row(result, "1").mult_adds == 2 * 32 * 64 * (9 + 1)

    resnet = build_resnet((1, 8, 8), 10)
    result = cr.summary(resnet, (2, 64))
    assert result.total_params == numel(resnet)
    block = row(result, "5")
    assert block.type == "BasicBlock" and block.depth == 1 and not block.is_leaf
    assert block.params == numel(resnet[5]) and block.own_params == 0
    assert row(result, "5.downsample.0").depth == 3
    assert block.mult_adds == sum(r.own_mult_adds for r in result.rows if r.name.startswith("5."))
    # the block's ReLU runs twice: two rows, the second marked recursive
    relus = [r for r in result.rows if r.name == "5.relu"]
    assert [r.recursive for r in relus] == [False, True]
    assert result.total_mult_adds == sum(r.own_mult_adds for r in result.rows)
    assert result.rows[0].mult_adds == result.total_mult_adds

    rnn = build_rnn((1, 8, 8), 10, mode="LSTM")
    result = cr.summary(rnn, (4, 64))
    assert result.total_params == numel(rnn)
    assert row(result, "2.rnn").output_shape == (4, 8, 128)
    assert row(result, "2.rnn").mult_adds == 4 * 8 * 4 * 128 * (8 + 128 + 2)


def test_batch_size_prepends_to_one_sample_shape() -> None:
    model = build_mlp(64, 10, hidden=[8])
    a = cr.summary(model, (64,), batch_size=3)
    b = cr.summary(model, (3, 64))
    assert a.input_shapes == b.input_shapes == [(3, 64)] and a.batch_size == 3
    assert a.total_mult_adds == b.total_mult_adds == 3 * numel(model)


def test_memory_per_sample() -> None:
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    result = cr.summary(model, (4, 10))
    assert result.param_bytes == numel(model) * 4
    assert result.params_mb == pytest.approx(numel(model) * 4 / 1e6)
    assert result.input_mb == pytest.approx(10 * 4 / 1e6)
    # outputs of the leaf layers with parameters, kept for backward and their gradients
    assert result.forward_backward_mb == pytest.approx(2 * (20 + 5) * 4 / 1e6)
    double = cr.summary(model.double(), (4, 10))
    assert double.forward_backward_mb == pytest.approx(2 * result.forward_backward_mb)


def test_shared_modules_and_parameters_counted_once() -> None:
    layer = nn.Linear(4, 4)
    twice = nn.Sequential(layer, nn.ReLU(), layer)
    result = cr.summary(twice, (2, 4))
    assert result.total_params == 20
    assert result.total_mult_adds == 2 * 2 * 20  # two calls, each on two rows
    assert [r.recursive for r in result.rows if r.type == "Linear"] == [False, True]
    assert "(recursive)" in str(result)

    tied = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    tied[1].weight = tied[0].weight
    assert cr.summary(tied, (1, 4)).total_params == 16


def test_frozen_parameters() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    model[1].bias.requires_grad_(False)
    result = cr.summary(model, (1, 3))
    assert result.trainable_params == 8 and result.non_trainable_params == 16 + 2
    assert [r.trainable for r in result.rows] == ["Partial", "False", "Partial"]
    assert "(16)" in str(result)


def test_training_mode_restored_and_hooks_removed() -> None:
    model = build_resnet((1, 8, 8), 10)
    model.train()
    model[2].eval()  # a child in its own mode stays so
    kept: list[Any] = []
    model[1].register_forward_hook(lambda m, a, out: kept.append(out.shape))
    seen: list[bool] = []
    model[2].register_forward_pre_hook(lambda m, a: seen.append(m.training))
    cr.summary(model, (1, 64))
    assert seen == [False] and kept == [(1, 16, 8, 8)]
    assert model.training and not model[2].training and model[4].conv1.training
    for module in model.modules():
        extra = 1 if module is model[1] or module is model[2] else 0
        assert len(module._forward_hooks) + len(module._forward_pre_hooks) == extra
    assert cr.is_grad_enabled()

    # the same when the forward fails
    with pytest.raises(ShapeError):
        cr.summary(model, (1, 65))
    assert model.training and not model[2].training
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 2


def test_forward_runs_in_eval_mode_without_grad() -> None:
    modes: list[tuple[bool, bool]] = []

    class Probe(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            modes.append((self.training, cr.is_grad_enabled()))
            return x

    cr.summary(nn.Sequential(Probe(), nn.Dropout(0.9)), (2, 3))
    assert modes == [(False, False)]


def test_input_data_and_several_inputs() -> None:
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(3, 2)
            self.b = nn.Embedding(5, 2)

        def forward(self, x: cr.Tensor, ids: cr.Tensor) -> cr.Tensor:
            return self.a(x) + self.b(ids).sum(1)

    model = Pair()
    result = cr.summary(model, [(4, 3), (4, 6)], dtypes=[cr.float32, cr.long])
    assert result.input_shapes == [(4, 3), (4, 6)] and result.rows[0].output_shape == (4, 2)
    data = cr.summary(model, input_data=(cr.zeros(4, 3), cr.zeros(4, 6, dtype=cr.long)))
    assert data.total_params == result.total_params == 8 + 10
    kwargs = cr.summary(model, input_data={"x": np.zeros((2, 3), np.float32),
                                           "ids": cr.zeros(2, 1, dtype=cr.long)})  # fmt: skip
    assert kwargs.batch_size == 2 and kwargs.total_mult_adds == 2 * 8


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        (((),), {}),
        (((1, 0),), {}),
        (((1, 2.5),), {}),
        (("1,64",), {}),
        (((1, 64),), {"input_data": cr.zeros(1, 64)}),
        (((64,),), {"batch_size": 0}),
        (((1, 64),), {"depth": -1}),
        (((1, 64),), {"dtypes": [cr.float32, cr.float32]}),
    ],
)
def test_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        cr.summary(build_mlp(64, 10, hidden=[8]), *args, **kwargs)


def test_table_fits_and_truncates_long_names() -> None:
    inner = nn.Sequential()
    inner.add_module("a_rather_long_layer_name_that_goes_on_and_on", nn.Linear(64, 8))
    model = nn.Sequential(nn.Sequential(inner), nn.Linear(8, 64), build_resnet((1, 8, 8), 8))
    text = str(cr.summary(model, (1, 64), depth=5))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any("…" in line and "(Linear)" in line for line in lines)
    assert "└─2 (Sequential)" in text and "\n  ├─2.0 (Unflatten)" in text  # the tree
    for needle in ("Layer (type)", "Output shape", "Param #", "Trainable", "Mult-adds",
                   "Total params: ", "Trainable params: ", "Non-trainable params: ",
                   "Total mult-adds (M): ", "Input size per sample (MB): ",
                   "Forward/backward pass size per sample (MB): ",
                   "Params size (MB): "):  # fmt: skip
        assert needle in text, needle
    assert f"Total params: {numel(model):,}" in text


def test_depth_limits_rows_shown_not_totals() -> None:
    model = build_resnet((1, 8, 8), 10)
    full = cr.summary(model, (1, 64))
    shallow = cr.summary(model, (1, 64), depth=1)
    assert "4.conv1" in str(full) and "4.conv1" not in str(shallow)
    assert shallow.total_params == full.total_params
    # a block listed without its children shows its whole count
    assert f"{numel(model[4]):,}" in str(shallow)
    assert len(str(cr.summary(model, (1, 64), depth=0)).split("---")[-1].splitlines()) > 1


def test_to_dict_and_html() -> None:
    result = cr.summary(build_cnn((1, 8, 8), 10), (1, 64))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["totals"]["total_params"] == result.total_params
    assert data["totals"]["total_mult_adds"] == result.total_mult_adds
    assert data["rows"][1] == {
        "name": "0", "type": "Unflatten", "depth": 1, "output_shape": [1, 1, 8, 8],
        "params": 0, "trainable_params": 0, "trainable": "--", "mult_adds": 0,
        "is_leaf": True, "recursive": False,
    }  # fmt: skip
    assert set(data["memory"]) == {
        "params_mb",
        "forward_backward_mb_per_sample",
        "input_mb_per_sample",
        "total_mb",
    }
    page = result._repr_html_()
    assert page.startswith("<div>") and "<table>" in page and "Conv2d" in page
    assert "Total params: 53,002" in page


def test_model_input_shape_from_metadata_or_layers() -> None:
    mlp = build_mlp(30, 2)
    assert model_input_shape(mlp, {"config": {"dataset": "breast-cancer"}}) == (30,)
    assert model_input_shape(mlp, {"config": {"dataset": "mnist"}}) == (1, 28, 28)
    assert model_input_shape(mlp, None) == (30,)
    assert model_input_shape(build_cnn((1, 12, 12), 3), {"config": "junk"}) == (144,)
    with pytest.raises(ConfigError, match="--input-size"):
        model_input_shape(nn.Sequential(nn.Conv2d(1, 2, 3)), {})


def test_cli_summary_of_a_trained_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    path = tmp_path / "model.npz"
    assert main(["summary", str(path)]) == 0
    printed = capsys.readouterr().out
    model = cr.load(path)
    assert f"Total params: {numel(model):,}" in printed
    assert "(Linear)" in printed and "[1, 10]" in printed
    assert main(["summary", str(path), "--batch-size", "4", "--depth", "0"]) == 0
    printed = capsys.readouterr().out
    assert "[4, 10]" in printed and "(Linear)" not in printed

    assert main(["summary", str(path), "--input-size", "1,65"]) == 2
    assert "expects input" in capsys.readouterr().err
    assert main(["summary", str(path), "--input-size", "0,3"]) == 2
    assert "positive" in capsys.readouterr().err
    assert main(["summary", str(tmp_path / "missing.npz")]) == 2
