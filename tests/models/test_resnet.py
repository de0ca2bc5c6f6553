"""BasicBlock and build_resnet: float64 gradchecks, a PyTorch twin with torch's own state_dict,
model files, errors, and learning on the shipped digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError
from chainrule.models import BasicBlock, build_resnet
from chainrule.serialization import load, save


@pytest.mark.parametrize("inplanes,planes,stride", [(3, 3, 1), (2, 4, 2), (2, 4, 1)])
def test_basic_block_gradcheck(inplanes: int, planes: int, stride: int) -> None:
    cr.manual_seed(0)
    block = BasicBlock(inplanes, planes, stride).double()
    assert (block.downsample is None) == (stride == 1 and inplanes == planes)
    x = cr.from_numpy(np.random.default_rng(0).standard_normal((3, inplanes, 5, 5)))
    result = cr.gradcheck(block, [x], max_elements=20)  # train mode: batch statistics
    assert result.passed, result.report()


def test_basic_block_shapes_keys_and_repr() -> None:
    block = BasicBlock(16, 32, stride=2)
    assert block(cr.zeros(2, 16, 7, 7)).shape == (2, 32, 4, 4)  # ceil(7 / 2)
    assert list(block.state_dict())[:2] == ["conv1.weight", "bn1.weight"]
    assert "downsample.0.weight" in block.state_dict()
    assert "downsample.1.running_var" in block.state_dict()
    assert repr(block).startswith("BasicBlock(\n  16, 32, stride=2\n  (conv1): Conv2d(16, 32,")
    assert BasicBlock(8, 8).config() == {"inplanes": 8, "planes": 8, "stride": 1}


@pytest.mark.parametrize("bad", [dict(inplanes=0, planes=4), dict(inplanes=2, planes=4, stride=0),
                                 dict(inplanes=2.0, planes=4)])  # fmt: skip
def test_basic_block_refuses_bad_sizes(bad: dict) -> None:
    with pytest.raises(ConfigError, match="BasicBlock"):
        BasicBlock(**bad)


def test_build_resnet_errors() -> None:
    with pytest.raises(ConfigError, match="widths"):
        build_resnet((1, 8, 8), 10, widths=())
    with pytest.raises(ConfigError, match="blocks"):
        build_resnet((1, 8, 8), 10, blocks=0)


def _torch_resnet(torch, in_shape, num_classes, widths, blocks):  # type: ignore[no-untyped-def]
    tnn = torch.nn

    class TorchBlock(tnn.Module):  # torchvision.models.resnet.BasicBlock, written out
        def __init__(self, inplanes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = tnn.Sequential(
                    tnn.Conv2d(inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes)
                )

        def forward(self, x):  # type: ignore[no-untyped-def]
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    layers = [tnn.Unflatten(1, in_shape), tnn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False),
              tnn.BatchNorm2d(widths[0]), tnn.ReLU()]  # fmt: skip
    inplanes = widths[0]
    for stage, planes in enumerate(widths):
        for block in range(blocks):
            layers.append(TorchBlock(inplanes, planes, 2 if stage and not block else 1))
            inplanes = planes
    layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(inplanes, num_classes)]
    return tnn.Sequential(*layers)


@pytest.mark.parametrize("blocks", [1, 2])
def test_resnet_matches_pytorch_twin(blocks: int) -> None:
    torch = pytest.importorskip("torch")
    in_shape, widths = (2, 9, 9), (4, 6, 8)
    torch.manual_seed(0)
    twin = _torch_resnet(torch, in_shape, 5, widths, blocks)
    model = build_resnet(in_shape, 5, widths=widths, blocks=blocks)
    assert list(model.state_dict()) == list(twin.state_dict())
    model.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 2 * 9 * 9)).astype(np.float32)
    target = rng.integers(0, 5, 6)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(twin(xt), torch.tensor(target)).backward()
    xc = cr.tensor(x, requires_grad=True)
    nn.functional.cross_entropy(model(xc), cr.tensor(target)).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    params = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), params[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)  # fmt: skip
    buffers = dict(twin.named_buffers())
    for name, b in model.named_buffers():  # running statistics after one training batch
        np.testing.assert_allclose(b.numpy(), buffers[name].numpy(), rtol=1e-5, atol=1e-6)
    model.eval(), twin.eval()
    with torch.no_grad():
        expected = twin(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(cr.tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_resnet_model_file_round_trip(tmp_path: Path) -> None:
    model = build_resnet((1, 8, 8), 10)
    model.eval()
    path = tmp_path / "resnet.npz"
    save(model, path)
    again = load(path)
    again.eval()
    assert repr(again) == repr(model)
    x = cr.randn(3, 64)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
