"""chainrule.onnx.export against onnxruntime and onnx's ReferenceEvaluator: every exportable
layer and the built-in models at batch 1 and 7, outputs within ATOL of chainrule's eval ones."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.errors import ConfigError  # noqa: E402
from chainrule.models import (  # noqa: E402
    BasicBlock,
    ImageRows,
    build_cnn,
    build_mlp,
    build_resnet,
    build_rnn,
)
from chainrule.onnx import export  # noqa: E402

ATOL = 1e-5  # absolute, on every output element
BATCHES = (1, 7)


def _randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every float parameter and buffer redrawn at its own scale; constant ones (batch norm's
    initial statistics and affine, Normalize's) moved off their values, variances and stds kept
    positive: a batch norm at mean 0 and var 1 would hide a swapped or skipped input."""
    rng = np.random.default_rng(seed)
    for key, value in model.state_dict().items():
        array = value.numpy()
        if array.dtype != np.float32:
            continue
        spread = float(array.std())
        if spread > 0:
            draw = rng.normal(0, spread, array.shape)
        else:
            draw = array + rng.normal(0, 0.3, array.shape)
        if key.endswith(("running_var", "std")):
            draw = np.abs(draw) + 0.5
        array[...] = draw
    return model


def _outputs(result: Any) -> list[np.ndarray]:
    if isinstance(result, tuple | list):
        return [a for item in result for a in _outputs(item)]
    return [result.numpy()]


def _check(model: nn.Module, sample: tuple[int, ...], tmp_path: Path, batch_dim: int = 0) -> float:
    """Export at batch 1, then compare at each of BATCHES; the largest difference seen."""
    rng = np.random.default_rng(1)

    def batch(n: int) -> np.ndarray:
        shape = list(sample)
        shape.insert(batch_dim, n)
        return (rng.normal(size=shape) * 2).astype(np.float32)

    path = tmp_path / "model.onnx"
    model.train()
    proto = export(model, batch(1), path)
    assert model.training  # the mode comes back
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert proto.ir_version == 8 and proto.opset_import[0].version == 17
    graph = proto.graph
    assert graph.input[0].type.tensor_type.shape.dim[batch_dim].dim_param == "N"
    wanted = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert {t.name for t in graph.initializer} == wanted
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # onnx's reference RNN knows only the Tanh activation.
    relu_rnn = any(getattr(m, "mode", "") == "RNN_RELU" for m in model.modules())
    reference = None if relu_rnn else ReferenceEvaluator(proto)
    model.eval()
    worst = 0.0
    for n in BATCHES:
        x = batch(n)
        with cr.no_grad():
            want = _outputs(model(cr.tensor(x)))
        runs = [session.run(None, {"input": x})]
        if reference is not None:
            runs.append(reference.run(None, {"input": x}))
        for got in runs:
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.shape == w.shape
                worst = max(worst, float(np.abs(g - w).max(initial=0.0)))
                np.testing.assert_allclose(g, w, rtol=0, atol=ATOL)
    return worst


LAYERS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "linear": (lambda: nn.Linear(6, 4), (6,)),
    "linear-no-bias": (lambda: nn.Linear(6, 4, bias=False), (6,)),
    "linear-3d": (lambda: nn.Linear(6, 4), (3, 6)),
    "normalize": (lambda: nn.Normalize((5,)), (5,)),
    "identity": (lambda: nn.Identity(), (5,)),
    "dropout": (lambda: nn.Dropout(0.5), (5,)),
    "dropout2d": (lambda: nn.Dropout2d(0.5), (2, 3, 3)),
    "alpha-dropout": (lambda: nn.AlphaDropout(0.5), (5,)),
    "flatten": (lambda: nn.Flatten(), (2, 3, 4)),
    "flatten-1-2": (lambda: nn.Flatten(1, 2), (2, 3, 4)),
    "flatten-2": (lambda: nn.Flatten(2), (2, 3, 4)),
    "unflatten": (lambda: nn.Unflatten(1, (2, 3)), (6,)),
    "unflatten-pass-through": (lambda: nn.Unflatten(1, (2, 3)), (2, 3)),
    "relu": (nn.ReLU, (5,)),
    "sigmoid": (nn.Sigmoid, (5,)),
    "tanh": (nn.Tanh, (5,)),
    "leaky-relu": (lambda: nn.LeakyReLU(0.1), (5,)),
    "softmax": (lambda: nn.Softmax(dim=1), (5,)),
    "softmax-dim-2": (lambda: nn.Softmax(dim=2), (3, 4)),
    "log-softmax": (lambda: nn.LogSoftmax(dim=-1), (5,)),
    "softmin": (lambda: nn.Softmin(dim=1), (5,)),
    "softmax2d": (nn.Softmax2d, (3, 2, 2)),
    "elu": (lambda: nn.ELU(0.7), (5,)),
    "celu": (lambda: nn.CELU(1.3), (5,)),
    "selu": (nn.SELU, (5,)),
    "gelu": (nn.GELU, (5,)),
    "gelu-tanh": (lambda: nn.GELU("tanh"), (5,)),
    "silu": (nn.SiLU, (5,)),
    "mish": (nn.Mish, (5,)),
    "softplus": (lambda: nn.Softplus(beta=2.0, threshold=1.5), (5,)),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 0.8), (5,)),
    "relu6": (nn.ReLU6, (5,)),
    "hardsigmoid": (nn.Hardsigmoid, (5,)),
    "hardswish": (nn.Hardswish, (5,)),
    "logsigmoid": (nn.LogSigmoid, (5,)),
    "softsign": (nn.Softsign, (5,)),
    "tanhshrink": (nn.Tanhshrink, (5,)),
    "softshrink": (lambda: nn.Softshrink(0.3), (5,)),
    "hardshrink": (lambda: nn.Hardshrink(0.3), (5,)),
    "threshold": (lambda: nn.Threshold(0.1, -2.0), (5,)),
    "glu": (lambda: nn.GLU(dim=1), (6,)),
    "prelu": (nn.PReLU, (3, 4, 4)),
    "prelu-channels": (lambda: nn.PReLU(3), (3, 4, 4)),
    "conv1d": (lambda: nn.Conv1d(3, 4, 3, padding=1), (3, 7)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (3, 7, 7)),
    "conv2d-groups-dilation": (lambda: nn.Conv2d(4, 6, 3, dilation=2, groups=2), (4, 7, 7)),
    "conv2d-same-even": (lambda: nn.Conv2d(3, 4, (2, 3), padding="same"), (3, 5, 6)),
    "conv2d-reflect": (lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), (3, 5, 5)),
    "conv2d-replicate": (
        lambda: nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="replicate"),
        (3, 5, 5),
    ),
    "conv3d": (lambda: nn.Conv3d(2, 3, 2), (2, 3, 4, 4)),
    "conv-transpose1d": (lambda: nn.ConvTranspose1d(3, 2, 4, stride=2), (3, 5)),
    "conv-transpose2d": (
        lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        (3, 4, 4),
    ),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5), (5,)),
    "batchnorm1d-sequence": (lambda: nn.BatchNorm1d(3), (3, 6)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (3, 4, 4)),
    "batchnorm2d-no-affine": (lambda: nn.BatchNorm2d(3, affine=False), (3, 4, 4)),
    "batchnorm3d": (lambda: nn.BatchNorm3d(2), (2, 3, 3, 3)),
    "maxpool1d": (lambda: nn.MaxPool1d(2), (3, 7)),
    "maxpool2d": (lambda: nn.MaxPool2d(2), (3, 8, 8)),
    "maxpool2d-padded": (lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=1), (3, 7, 7)),
    "maxpool2d-dilated": (lambda: nn.MaxPool2d(2, stride=1, dilation=2), (2, 6, 6)),
    "maxpool2d-ceil": (lambda: nn.MaxPool2d(2, ceil_mode=True), (3, 7, 7)),
    "maxpool2d-ceil-padded": (lambda: nn.MaxPool2d(2, 2, 1, ceil_mode=True), (2, 6, 6)),
    "maxpool3d": (lambda: nn.MaxPool3d(2), (2, 4, 4, 4)),
    "avgpool1d": (lambda: nn.AvgPool1d(2), (3, 7)),
    "avgpool2d": (lambda: nn.AvgPool2d(2), (3, 8, 8)),
    "avgpool2d-padded": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (3, 7, 7)),
    "avgpool2d-exclude-pad": (
        lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        (3, 7, 7),
    ),
    "avgpool2d-divisor": (lambda: nn.AvgPool2d(2, padding=1, divisor_override=3), (2, 5, 5)),
    "avgpool2d-ceil": (lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 6, 6)),
    "avgpool2d-ceil-exclude-pad": (
        lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        (2, 6, 6),
    ),
    "avgpool3d": (lambda: nn.AvgPool3d(2), (2, 4, 4, 4)),
    "adaptive-avgpool2d-global": (lambda: nn.AdaptiveAvgPool2d(1), (3, 5, 5)),
    "adaptive-avgpool2d": (lambda: nn.AdaptiveAvgPool2d((2, None)), (3, 4, 6)),
    "adaptive-avgpool1d": (lambda: nn.AdaptiveAvgPool1d(3), (2, 6)),
    "adaptive-maxpool2d": (lambda: nn.AdaptiveMaxPool2d(2), (3, 4, 4)),
    "adaptive-maxpool2d-global": (lambda: nn.AdaptiveMaxPool2d((1, 1)), (3, 4, 4)),
    "layernorm": (lambda: nn.LayerNorm(6), (6,)),
    "layernorm-2d": (lambda: nn.LayerNorm((3, 4)), (3, 4)),
    "layernorm-no-affine": (lambda: nn.LayerNorm(6, elementwise_affine=False), (2, 6)),
    "layernorm-no-bias": (lambda: nn.LayerNorm(6, bias=False), (6,)),
    "groupnorm": (lambda: nn.GroupNorm(2, 4), (4, 3, 3)),
    "rmsnorm": (lambda: nn.RMSNorm(6), (6,)),
    "rmsnorm-eps": (lambda: nn.RMSNorm((2, 3), eps=1e-3), (2, 3)),
    "lstm": (lambda: nn.LSTM(5, 4, batch_first=True), (3, 5)),
    "lstm-2-layers-bidirectional": (
        lambda: nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True),
        (3, 5),
    ),
    "lstm-no-bias": (lambda: nn.LSTM(5, 4, bias=False, batch_first=True), (3, 5)),
    "gru": (lambda: nn.GRU(5, 4, batch_first=True), (3, 5)),
    "gru-2-layers-bidirectional": (
        lambda: nn.GRU(5, 4, num_layers=2, batch_first=True, bidirectional=True),
        (3, 5),
    ),
    "rnn": (lambda: nn.RNN(5, 4, batch_first=True), (3, 5)),
    "rnn-relu-bidirectional": (
        lambda: nn.RNN(5, 4, nonlinearity="relu", batch_first=True, bidirectional=True),
        (3, 5),
    ),
    "basic-block": (lambda: BasicBlock(3, 3), (3, 6, 6)),
    "basic-block-downsample": (lambda: BasicBlock(3, 4, stride=2), (3, 7, 7)),
    "image-rows": (ImageRows, (2, 4, 3)),
}


@pytest.mark.parametrize("case", list(LAYERS))
def test_layer(case: str, tmp_path: Path) -> None:
    factory, sample = LAYERS[case]
    cr.manual_seed(0)
    _check(_randomise(factory()), sample, tmp_path)


def test_time_major_rnn_has_batch_dim_1(tmp_path: Path) -> None:
    cr.manual_seed(0)
    model = _randomise(nn.LSTM(5, 4, num_layers=2))
    _check(model, (3, 5), tmp_path, batch_dim=1)
    proto = onnx.load(str(tmp_path / "model.onnx"))
    assert [o.name for o in proto.graph.output] == ["output", "h_n", "c_n"]
    h_n = proto.graph.output[1].type.tensor_type.shape.dim
    assert [d.dim_value or d.dim_param for d in h_n] == [2, "N", 4]


MODELS = {
    "mlp": lambda: nn.Sequential(nn.Normalize(), *build_mlp(64, 10, hidden=(32, 16), dropout=0.2)),
    "mlp-gelu": lambda: build_mlp(64, 10, hidden=(16,), activation="gelu"),
    "cnn": lambda: build_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16, dropout=0.25),
    "cnn-batchnorm": lambda: build_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16, batch_norm=True),
    "resnet": lambda: build_resnet((1, 8, 8), 10, widths=(4, 8)),
    "lstm": lambda: build_rnn((1, 8, 8), 10, mode="LSTM", hidden=12, num_layers=2),
    "gru": lambda: build_rnn((1, 8, 8), 10, mode="GRU", hidden=12),
    "rnn-relu": lambda: build_rnn((1, 8, 8), 10, mode="RNN_RELU", hidden=12),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("sample", [(64,), (1, 8, 8)], ids=["rows", "images"])
def test_model(name: str, sample: tuple[int, ...], tmp_path: Path) -> None:
    cr.manual_seed(0)
    _check(_randomise(MODELS[name]()), sample, tmp_path)


class Doubler(nn.Module):
    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return x * 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), Doubler())), "'1.1' (Doubler)"),
        (nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.LPPool2d(2, 2)), "'1' (LPPool2d)"),
        (
            nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.Conv2d(1, 1, 1, padding_mode="circular")),
            "'1' (Conv2d): padding_mode='circular'",
        ),
        (nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.MaxPool2d(2, return_indices=True)), "return"),
        (nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.AdaptiveAvgPool2d(3)), "does not divide"),
    ],
)
def test_unsupported_layer_is_named(model: nn.Module, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        export(model, np.zeros((1, 4), np.float32), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_without_onnx_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=r"pip install 'chainrule\[onnx\]'"):
        export(nn.Linear(2, 2), np.zeros((1, 2), np.float32), tmp_path / "x.onnx")


def test_cli_export_predicts_as_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from chainrule.cli import main
    from chainrule.serialization import load
    from chainrule.train import evaluate
    from chainrule.train.recipes import load_dataset, loss_for

    run, out = tmp_path / "run", tmp_path / "model.onnx"
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run / "model.npz"), "--onnx", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (opset 17, input (N, 64))\n"
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    data = load_dataset("digits")
    model = load(run / "model.npz")
    expected = evaluate(model, loss_for(data, model), data.x_test, data.y_test)["predictions"]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": data.x_test.astype(np.float32)})
    np.testing.assert_array_equal(logits.argmax(1), expected)


def test_cli_export_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from chainrule.cli import main

    cr.save(nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.LPPool2d(2, 2)), tmp_path / "m.npz")
    model, out = str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")
    assert main(["export", model, "--onnx", out, "--input-shape", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'1' (LPPool2d)" in err
    cr.save(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), tmp_path / "plain.npz", metadata=[1, 2])
    plain = str(tmp_path / "plain.npz")
    assert main(["export", plain, "--onnx", out]) == 0  # no data set named: the first Linear's
    assert "input (N, 3)" in capsys.readouterr().out
    cr.save(nn.Sequential(nn.Conv2d(1, 2, 3)), tmp_path / "conv.npz")
    assert main(["export", str(tmp_path / "conv.npz"), "--onnx", out]) == 2
    assert "give --input-size" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "conv.npz"), "--onnx", out, "--input-size", "1,5,5"]) == 0
