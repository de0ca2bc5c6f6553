"""Conv3d and ConvTranspose3d (layers and functions): PyTorch twins with torch's state_dict
loaded, float64 gradchecks, PyTorch's init and reprs, errors naming the layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F
from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.serialization import load, save


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
        assert out.dtype == dtype and out.shape == tuple(expected.shape)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
        grad = rng.standard_normal(out.shape).astype(dtype)
        out.backward(grad)
        expected.backward(torch.tensor(grad))
        assert xs.grad.dtype == dtype
        np.testing.assert_allclose(xs.grad, xt.grad.numpy(), **tolerance)
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            assert p.grad.dtype == dtype
            np.testing.assert_allclose(p.grad, q.grad.numpy(), **tolerance)
        ours.zero_grad()
        theirs.zero_grad()


CONV3D_LAYERS = [
    ("Conv3d", (3, 4, 3), {}, (2, 3, 5, 6, 4)),
    ("Conv3d", (4, 6, (3, 2, 1)), {"stride": 2, "padding": (1, 0, 2)}, (2, 4, 7, 6, 5)),
    ("Conv3d", (4, 6, 3), {"stride": (1, 2, 3), "dilation": (2, 1, 1)}, (2, 4, 6, 5, 7)),
    ("Conv3d", (4, 6, 3), {"padding": "same", "groups": 2, "bias": False}, (2, 4, 4, 5, 3)),
    ("Conv3d", (4, 4, (2, 3, 4)), {"padding": "same", "groups": 4}, (2, 4, 4, 5, 6)),  # depthwise
    ("Conv3d", (3, 4, 3), {"padding": "same", "dilation": (1, 2, 1)}, (2, 3, 5, 6, 4)),
    ("Conv3d", (2, 3, 2), {"padding": "valid"}, (2, 2, 3, 4, 5)),
    ("Conv3d", (3, 4, 3), {"padding": 1}, (3, 4, 5, 4)),  # one unbatched volume
    ("ConvTranspose3d", (4, 6, 3), {}, (2, 4, 3, 4, 2)),
    (
        "ConvTranspose3d",
        (4, 6, 3),
        {"stride": 2, "padding": 1, "output_padding": (1, 0, 1)},
        (2, 4, 3, 2, 4),
    ),
    (
        "ConvTranspose3d",
        (4, 6, (2, 3, 1)),
        {"groups": 2, "dilation": (1, 2, 1), "stride": (1, 2, 3), "bias": False},
        (2, 4, 3, 3, 2),
    ),
    ("ConvTranspose3d", (3, 2, 2), {"stride": 2}, (3, 2, 3, 2)),  # unbatched
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CONV3D_LAYERS)
def test_conv3d_layers_match_pytorch(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], shape: Any
) -> None:
    layer_twin(name, args, kwargs, shape)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({"padding": 1}, (2, 3, 4, 5, 4)),
        ({"padding": (2, 1, 0), "stride": 2}, (2, 3, 5, 4, 6)),
        ({"padding": "same", "kernel_size": (2, 3, 4)}, (2, 3, 4, 5, 6)),
    ],
)
def test_conv3d_padding_modes_match_pytorch(
    kwargs: dict[str, Any], shape: Any, padding_mode: str
) -> None:
    kwargs = {"kernel_size": 3, **kwargs, "padding_mode": padding_mode}
    layer_twin("Conv3d", (3, 4), kwargs, shape)


def test_conv3d_layer_gradcheck(rng: np.random.Generator) -> None:
    layers = [
        nn.Conv3d(4, 4, 3, padding="same", groups=2, padding_mode="reflect", dilation=(1, 2, 1)),
        nn.Conv3d(2, 3, (2, 3, 2), stride=(2, 1, 2), padding=1),
        nn.ConvTranspose3d(2, 4, 3, stride=2, padding=1, output_padding=(1, 0, 1), groups=2),
        nn.ConvTranspose3d(2, 3, 2, stride=(1, 2, 1), dilation=(2, 1, 1)),
    ]
    inputs = [(1, 4, 3, 5, 4), (2, 2, 4, 3, 4), (1, 2, 2, 3, 2), (1, 2, 2, 2, 3)]
    for layer, shape in zip(layers, inputs, strict=True):
        result = cr.gradcheck(layer, [rng.standard_normal(shape)], max_elements=30)
        assert result.passed, f"{layer}: {result}"
        assert {"weight", "bias"} <= {name.split(" ")[-1] for name in result.errors}


def test_conv3d_functions_gradcheck(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 4, 3, 4, 3))
    w = rng.standard_normal((6, 2, 2, 3, 2))
    b = rng.standard_normal(6)
    result = cr.gradcheck(
        lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2), [x, w, b]
    )
    assert result.passed, result
    wt = rng.standard_normal((4, 3, 2, 2, 3))
    result = cr.gradcheck(
        lambda x, w: F.conv_transpose3d(x, w, None, 2, 1, (1, 0, 1), 1, (1, 1, 2)), [x, wt]
    )
    assert result.passed, result


def test_conv3d_functions_match_pytorch(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 5, 4, 6))
    w = rng.standard_normal((6, 2, 3, 2, 3))
    ours = F.conv3d(
        cr.tensor(x, dtype=np.float64), cr.tensor(w, dtype=np.float64), None, 2, 1, 1, 2
    )
    theirs = torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w), None, 2, 1, 1, 2)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    wt = rng.standard_normal((4, 3, 3, 2, 2))
    args = (None, (2, 1, 3), (1, 0, 1), (1, 0, 2), 1, (1, 2, 1))
    ours = F.conv_transpose3d(
        cr.tensor(x, dtype=np.float64), cr.tensor(wt, dtype=np.float64), *args
    )
    theirs = torch.nn.functional.conv_transpose3d(torch.tensor(x), torch.tensor(wt), *args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_conv3d_default_init_is_pytorchs() -> None:
    """U(±1/√fan_in) for weight and bias, fan_in = weight.shape[1]·kd·kh·kw."""
    cases = [
        (nn.Conv3d(8, 16, 3), 8 * 27),
        (nn.Conv3d(8, 16, (1, 3, 2), groups=4), 2 * 6),
        (nn.ConvTranspose3d(8, 6, 3, groups=2), 3 * 27),
    ]
    for layer, fan_in in cases:
        bound = 1 / np.sqrt(fan_in)
        for p in (layer.weight.numpy(), layer.bias.numpy()):
            assert p.dtype == np.float32
            assert np.abs(p).max() <= bound and np.abs(p).max() > 0.7 * bound
        assert abs(layer.weight.numpy().std() - bound / np.sqrt(3)) < 0.1 * bound
    assert nn.Conv3d(2, 2, 3, dtype=np.float64).weight.dtype == np.float64


def test_conv_transpose3d_output_size(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    ours = nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 2, 3, 4, 3)).astype(np.float32)
    for size in [(5, 7, 5), (6, 8, 5), [1, 3, 6, 7, 6]]:
        out = ours(cr.tensor(x), output_size=size)
        expected = theirs(torch.tensor(x), output_size=size)
        assert out.shape == tuple(expected.shape)
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeError, match=r"requested output size \[7, 7, 5\] is not possible"):
        ours(cr.tensor(x), output_size=(7, 7, 5))


def test_conv3d_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match="kernel_size must be an int or a triple of ints"):
        nn.Conv3d(3, 4, (3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv3d(3, 4, 3, stride=(1, 2, 1), padding="same")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTr'):
        nn.ConvTranspose3d(3, 4, 3, padding_mode="reflect")
    layer = nn.Conv3d(3, 8, 3)
    with pytest.raises(ShapeError) as info:
        layer(cr.tensor(np.zeros((2, 4, 5, 5, 5))))
    assert str(info.value) == (
        "Conv3d(3 -> 8, kernel 3x3x3) expects 3 input channels, got 4 in input of shape "
        "(2, 4, 5, 5, 5)"
    )
    with pytest.raises(ShapeError) as info:
        layer(cr.tensor(np.zeros((2, 3, 5, 5))))  # a batch of images, not of volumes
    assert str(info.value) == (
        "Conv3d(3 -> 8, kernel 3x3x3) expects 3 input channels, got 2 in input of shape "
        "(2, 3, 5, 5)"
    )
    with pytest.raises(ShapeError, match=r"expects input \(N, 3, D, H, W\) or \(3, D, H, W\)"):
        layer(cr.tensor(np.zeros((3, 5, 5))))
    with pytest.raises(ShapeError) as info:
        layer(cr.tensor(np.zeros((1, 3, 2, 5, 5))))
    assert str(info.value) == (
        "Conv3d(3 -> 8, kernel 3x3x3): kernel 3x3x3 is larger than the padded volume 2x5x5 "
        "(input (1, 3, 2, 5, 5), padding 0)"
    )
    with pytest.raises(ShapeError, match=r"conv3d expects a weight of shape \(K, C/groups, kd"):
        F.conv3d(cr.tensor(np.zeros((1, 3, 4, 4, 4))), cr.tensor(np.zeros((2, 3, 3, 3))))
    with pytest.raises(ShapeError, match=r"output_padding \(2, 0, 0\) must be smaller"):
        F.conv_transpose3d(
            cr.tensor(np.zeros((1, 2, 3, 3, 3))),
            cr.tensor(np.zeros((2, 2, 3, 3, 3))),
            stride=2,
            output_padding=(2, 0, 0),
        )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv3d_model_file_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    model = nn.Sequential(
        nn.Conv3d(2, 4, 3, padding="same", groups=2, padding_mode="replicate"),
        nn.MaxPool3d(2, ceil_mode=True),
        nn.ConvTranspose3d(4, 2, 3, stride=2, output_padding=1),
        nn.AdaptiveAvgPool3d((3, None, 2)),
    )
    x = rng.random((2, 2, 5, 4, 5)).astype(np.float32)
    expected = model(cr.tensor(x)).numpy()
    save(model, tmp_path / "conv3d.npz")
    loaded = load(tmp_path / "conv3d.npz")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(cr.tensor(x)).numpy(), expected)
