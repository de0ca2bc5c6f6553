"""Conv2d, pooling and BatchNorm layers; build_cnn: shapes, reprs, errors, files and learning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn, optim
from chainrule.data import load_digits, train_val_split
from chainrule.errors import ShapeError
from chainrule.models import build_cnn
from chainrule.serialization import LAYER_TYPES, load, save
from chainrule.train import fit
from chainrule.train.fit import evaluate


def test_conv2d_layer_shapes_and_repr() -> None:
    layer = nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2))
    assert layer.weight.shape == (8, 3, 3, 5) and layer.bias.shape == (8,)
    assert layer(cr.tensor(np.ones((2, 3, 9, 10)))).shape == (2, 8, 5, 5)
    assert repr(layer) == "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2))"
    assert repr(nn.Conv2d(1, 4, 3, bias=False)) == (
        "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), bias=False)"
    )
    assert nn.Conv2d(1, 4, 3, bias=False).bias is None
    assert layer.config() == {  # the constructor's arguments as given, defaults included
        "in_channels": 3,
        "out_channels": 8,
        "kernel_size": [3, 5],
        "stride": 2,
        "padding": [1, 2],
        "dilation": 1,
        "groups": 1,
        "bias": True,
        "padding_mode": "zeros",
    }


def test_conv2d_he_init_uses_receptive_field() -> None:
    layer = nn.Conv2d(16, 32, 3, init="he")
    bound = np.sqrt(6 / (16 * 9))  # He uniform: √3 · √2/√fan_in
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.9 * bound
    assert not layer.bias.numpy().any()


def test_pooling_layers() -> None:
    pool = nn.MaxPool2d(2)
    assert (
        repr(pool) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert nn.AvgPool2d(3, 2, 1).config() == {
        "kernel_size": 3,
        "stride": 2,
        "padding": 1,
        "ceil_mode": False,
        "count_include_pad": True,
        "divisor_override": None,
    }
    x = cr.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(pool(x).numpy()[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).numpy()[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="at most half the kernel"):
        nn.MaxPool2d(2, padding=2)


def test_layers_are_registered_for_model_files() -> None:
    names = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "BatchNorm1d"]
    names += ["BatchNorm2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"]
    names += ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
    names += ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
    names += ["PixelShuffle", "PixelUnshuffle"]
    for name in names:
        assert LAYER_TYPES[name] is getattr(nn, name)


# ---------------------------------------------------------------------------- batch norm
def test_batch_norm_layer_state_and_modes(rng: np.random.Generator) -> None:
    layer = nn.BatchNorm2d(3)
    assert repr(layer) == (
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == [  # PyTorch's keys
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 3).astype(np.float32)
    out = layer(cr.tensor(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, atol=1e-3)
    mean = x.mean(axis=(0, 2, 3))
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.running_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * unbiased, rtol=1e-5)
    assert layer.running_mean.dtype == np.float32
    layer.eval()
    before = layer.running_mean.numpy().copy()
    expected = (x - before[None, :, None, None]) / np.sqrt(
        layer.running_var.numpy()[None, :, None, None] + 1e-5
    )
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.running_mean, before)  # eval leaves the statistics


def test_batch_norm_layer_shape_errors() -> None:
    with pytest.raises(ShapeError) as info:
        nn.BatchNorm2d(3)(cr.tensor(np.zeros((2, 4, 5, 5))))
    assert str(info.value) == "BatchNorm2d(3) expects input (N, 3, H, W), got (2, 4, 5, 5)"
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(5\) expects input \(N, 5\) or"):
        nn.BatchNorm1d(5)(cr.tensor(np.zeros((2, 3, 4, 4))))
    assert nn.BatchNorm1d(5)(cr.tensor(np.ones((4, 5)))).shape == (4, 5)


def test_batch_norm_layer_matches_pytorch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(4, momentum=0.2), torch.nn.BatchNorm2d(4, momentum=0.2)
    for _ in range(3):
        x = (rng.standard_normal((5, 4, 3, 3)) * 2 - 1).astype(np.float32)
        np.testing.assert_allclose(
            ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), atol=1e-5
        )
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(theirs, name).numpy(), rtol=1e-4, atol=1e-5
        )
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(
        ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )


# ---------------------------------------------------------------------------- build_cnn
def test_build_cnn_shapes() -> None:
    mnist = build_cnn((1, 28, 28), 10)
    assert mnist(cr.tensor(np.zeros((2, 1, 28, 28)))).shape == (2, 10)
    assert mnist[8].in_features == 64 * 7 * 7
    digits = build_cnn((1, 8, 8), 10, channels=(8, 16), hidden=32, batch_norm=True, dropout=0.2)
    assert digits(cr.tensor(np.zeros((3, 1, 8, 8)))).shape == (3, 10)
    names = [type(m).__name__ for m in digits][:5]
    assert names == ["Unflatten", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert digits[1].bias is None  # batch norm subtracts a conv bias out again


def test_build_cnn_gradcheck(rng: np.random.Generator) -> None:
    model = build_cnn((1, 8, 8), 3, channels=(2, 3), hidden=5, batch_norm=True)
    result = cr.gradcheck(model, [rng.random((3, 1, 8, 8))], max_elements=10)
    assert result.passed, str(result)


def test_cnn_bad_input_names_the_layer() -> None:
    model = build_cnn((1, 28, 28), 10)
    with pytest.raises(ShapeError) as info:
        model[1](cr.tensor(np.zeros((28, 28, 1))))
    assert str(info.value) == (
        "Conv2d(1 -> 32, kernel 3x3) expects 1 input channels, got 28 in input of shape "
        "(28, 28, 1) (channels last? the layout is channels first, as PyTorch's)"
    )
    with pytest.raises(ShapeError) as info:
        model(cr.tensor(np.zeros((28, 28, 1))))
    assert str(info.value) == (
        "Unflatten(1, (1, 28, 28)) expects input (28, 784) or (28, 1, 28, 28), got (28, 28, 1)"
    )


def test_cnn_takes_flat_rows_or_images(rng: np.random.Generator) -> None:
    model = build_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16)
    x = rng.random((3, 64)).astype(np.float32)
    np.testing.assert_array_equal(
        model(cr.tensor(x)).numpy(), model(cr.tensor(x.reshape(3, 1, 8, 8))).numpy()
    )
    assert repr(model[0]) == "Unflatten(dim=1, unflattened_size=(1, 8, 8))"


def test_save_load_round_trip_with_batch_norm(tmp_path: Path, rng: np.random.Generator) -> None:
    model = build_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16, batch_norm=True, dropout=0.1)
    x = rng.random((6, 1, 8, 8)).astype(np.float32)
    model(cr.tensor(x))  # a training step moves the running statistics
    model.eval()
    expected = model(cr.tensor(x)).numpy()
    save(model, tmp_path / "cnn.npz")
    loaded = load(tmp_path / "cnn.npz")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded[2].running_var, model[2].running_var)
    assert not np.allclose(loaded[2].running_var, 1)
    np.testing.assert_array_equal(loaded(cr.tensor(x)).numpy(), expected)


def test_cnn_learns_digits() -> None:
    x, y = load_digits()
    x = (x / 16).reshape(-1, 1, 8, 8)
    x_train, y_train, x_test, y_test = train_val_split(x, y, 0.2, seed=0)
    model = build_cnn((1, 8, 8), 10)
    optimizer = optim.Adam(model.parameters(), lr=2e-3)  # the CLI's digits CNN recipe
    # 97.5-98.3% over seeds 0-3 (97.5% for the seed used here); a few seconds.
    fit(model, nn.CrossEntropyLoss(), optimizer, x_train, y_train, epochs=15, seed=0, verbose=0)
    result = evaluate(model, nn.CrossEntropyLoss(), x_test, y_test)
    assert result["accuracy"] >= 0.97


def test_float32_through_a_cnn_step(rng: np.random.Generator) -> None:
    model = build_cnn((1, 8, 8), 10, channels=(4, 8), hidden=16, batch_norm=True)
    out = model(cr.tensor(rng.random((4, 1, 8, 8))))
    F.cross_entropy(out, np.array([0, 1, 2, 3])).backward()
    assert out.dtype == np.float32
    assert all(p.grad is not None and p.grad.dtype == np.float32 for p in model.parameters())


# ---------------------------------------------------------------------------- conv layers
def layer_twin(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], shape: Any) -> None:
    """Our layer with PyTorch's state_dict loaded: repr, attributes, output and the gradients
    of input, weight and bias, in float32 and float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attribute in ("kernel_size", "stride", "padding", "dilation", "groups", "output_padding"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in state.items()
    }
    ours.load_state_dict(state)
    for dtype, tolerance in ((np.float32, {"rtol": 1e-4, "atol": 1e-5}), (np.float64, {})):
        if dtype == np.float64:
            ours, theirs = ours.double(), theirs.double()
        x = rng.standard_normal(shape).astype(dtype)
        xs, xt = cr.tensor(x, dtype=dtype, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours(xs), theirs(xt)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
        grad = rng.standard_normal(out.shape).astype(dtype)
        out.backward(grad)
        expected.backward(torch.tensor(grad))
        np.testing.assert_allclose(xs.grad, xt.grad.numpy(), **tolerance)
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            np.testing.assert_allclose(p.grad, q.grad.numpy(), **tolerance)
        ours.zero_grad()
        theirs.zero_grad()


CONV_LAYERS = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": 2, "padding": (1, 2), "dilation": (1, 2)}, (2, 4, 9, 8)),
    ("Conv2d", (4, 6, 3), {"padding": "same", "groups": 2, "bias": False}, (2, 4, 7, 6)),
    ("Conv2d", (3, 6, 3), {"groups": 3, "padding": 1}, (2, 3, 6, 6)),  # depthwise
    ("Conv2d", (3, 4, 4), {"padding": "same", "dilation": 2}, (2, 3, 9, 8)),
    ("Conv2d", (2, 3, 3), {"padding": "valid"}, (2, 2, 5, 5)),
    ("Conv2d", (3, 4, 3), {}, (3, 7, 6)),  # one unbatched image
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, (2, 3, 11)),
    ("Conv1d", (4, 4, 4), {"padding": "same", "groups": 4, "dilation": 2}, (2, 4, 10)),
    ("Conv1d", (3, 5, 2), {}, (3, 8)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 4, 5)),
    ("ConvTranspose2d", (4, 6, (2, 3)), {"groups": 2, "dilation": 2, "bias": False}, (2, 4, 3, 3)),
    ("ConvTranspose1d", (3, 4, 3), {"stride": 3, "padding": 1, "output_padding": 2}, (2, 3, 5)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CONV_LAYERS)
def test_conv_layers_match_pytorch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], shape: Any
) -> None:
    layer_twin(name, args, kwargs, shape)


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"),
    [
        ("Conv2d", (3, 4, 3), {"padding": 1}, (2, 3, 6, 5)),
        ("Conv2d", (3, 4, (3, 2)), {"padding": (2, 1), "stride": 2}, (2, 3, 7, 6)),
        ("Conv2d", (4, 4, 4), {"padding": "same", "groups": 2}, (2, 4, 6, 7)),
        ("Conv1d", (3, 2, 5), {"padding": "same", "dilation": 1}, (2, 3, 9)),
    ],
)
def test_conv_padding_modes_match_pytorch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], shape: Any, padding_mode: str
) -> None:
    layer_twin(name, args, {**kwargs, "padding_mode": padding_mode}, shape)


def test_conv_layer_gradcheck(rng: np.random.Generator) -> None:
    layers = [
        nn.Conv2d(4, 4, 3, padding="same", groups=2, padding_mode="reflect", dilation=(1, 2)),
        nn.Conv1d(2, 3, 3, stride=2, padding=1, padding_mode="circular"),
        nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        nn.ConvTranspose1d(2, 3, 2, stride=2),
    ]
    inputs = [(2, 4, 5, 6), (2, 2, 7), (1, 2, 3, 3), (2, 2, 4)]
    for layer, shape in zip(layers, inputs, strict=True):
        result = cr.gradcheck(layer, [rng.standard_normal(shape)], max_elements=30)
        assert result.passed, f"{layer}: {result}"
        assert {"weight", "bias"} <= {name.split(" ")[-1] for name in result.errors}


def test_conv_default_init_is_pytorchs() -> None:
    """kaiming_uniform_(a=√5) gives U(±1/√fan_in) for the weight; the bias is U(±1/√fan_in);
    fan_in = weight.shape[1]·kernel positions (in/groups for a conv, out/groups transposed)."""
    cases = [
        (nn.Conv2d(16, 32, 3), 16 * 9),
        (nn.Conv2d(16, 32, 3, groups=4), 4 * 9),
        (nn.Conv1d(8, 64, 5), 8 * 5),
        (nn.ConvTranspose2d(16, 8, 3, groups=2), 4 * 9),
    ]
    for layer, fan_in in cases:
        bound = 1 / np.sqrt(fan_in)
        for p in (layer.weight.numpy(), layer.bias.numpy()):
            assert p.dtype == np.float32
            assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound
        assert abs(layer.weight.numpy().std() - bound / np.sqrt(3)) < 0.1 * bound
    assert nn.Conv2d(2, 2, 3, dtype=np.float64).weight.dtype == np.float64


def test_conv_transpose_output_size(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = (
        nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
    )
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    for size in [(7, 7), (8, 7), [1, 3, 8, 8]]:
        out = ours(cr.tensor(x), output_size=size)
        expected = theirs(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeError, match=r"requested output size \[9, 7\] is not possible"):
        ours(cr.tensor(x), output_size=(9, 7))


def test_conv_layer_argument_errors() -> None:
    with pytest.raises(ValueError) as info:
        nn.Conv2d(3, 4, 3, groups=2)
    assert str(info.value) == (
        "Conv2d: in_channels must be divisible by groups, got in_channels=3 and groups=2"
    )
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.ConvTranspose1d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="groups must be a positive integer, got 0"):
        nn.Conv1d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode must be one of zeros, reflect"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTr'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair of ints"):
        nn.Conv2d(3, 4, (3, 3, 3))
    layer = nn.Conv2d(3, 8, 3, groups=1)
    with pytest.raises(ShapeError) as shape_info:
        layer(cr.tensor(np.zeros((2, 4, 8, 8))))
    assert str(shape_info.value) == (
        "Conv2d(3 -> 8, kernel 3x3) expects 3 input channels, got 4 in input of shape (2, 4, 8, 8)"
    )
    with pytest.raises(ShapeError, match=r"Conv1d\(2 -> 2, kernel 3\) expects input \(N, 2, L\)"):
        nn.Conv1d(2, 2, 3)(cr.tensor(np.zeros((1, 2, 3, 3))))


@pytest.mark.parametrize("padding", [2, "same"])
def test_conv_model_file_round_trip(padding: Any, tmp_path: Path, rng: np.random.Generator) -> None:
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=padding, dilation=2, groups=2, padding_mode="reflect"),
        nn.MaxPool2d(3, 2, 1, ceil_mode=True),
        nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
        nn.AdaptiveAvgPool2d((3, None)),
        nn.Upsample(scale_factor=2, mode="bilinear"),
    )
    x = rng.random((2, 2, 7, 7)).astype(np.float32)
    expected = model(cr.tensor(x)).numpy()
    save(model, tmp_path / "conv.npz")
    loaded = load(tmp_path / "conv.npz")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(cr.tensor(x)).numpy(), expected)


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2, padding=1),
                                    dict(dilation=2, padding=2), dict(stride=(2, 1))])  # fmt: skip
def test_conv2d_in_blocks_of_one_image_matches_pytorch(
    kwargs: dict[str, Any], monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    """Every image its own block (the blocked path's loop), forward and all gradients."""
    torch = pytest.importorskip("torch")
    from chainrule import kernels

    monkeypatch.setattr(kernels, "conv_block_bytes", lambda: 1)  # on either backend
    twin = torch.nn.Conv2d(3, 4, 3, **kwargs)
    layer = nn.Conv2d(3, 4, 3, **kwargs)
    layer.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    x = rng.standard_normal((5, 3, 9, 8)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out_t = twin(xt)
    weights = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(weights)).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    (out * cr.tensor(weights)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), twin.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(layer.bias.grad.numpy(), twin.bias.grad.numpy(), rtol=1e-4,
                               atol=1e-4)  # fmt: skip
