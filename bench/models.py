"""W-MLP, W-CNN and the CLI's ResNet and LSTM built identically in chainrule and PyTorch, with
the same initial weights."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn

MLP_SIZES = (784, 512, 256, 10)


def chainrule_mlp() -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(MLP_SIZES)):
        layers.append(nn.Linear(a, b))
        if i < len(MLP_SIZES) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def chainrule_cnn() -> nn.Sequential:
    """conv 1->32 3x3 p1, ReLU, maxpool 2; conv 32->64 3x3 p1, ReLU, maxpool 2; 3136->128->10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def chainrule_model(kind: str) -> nn.Sequential:
    """mlp and cnn as above; resnet and lstm as ``chainrule train --model`` builds them for
    MNIST (without the input normalisation layer), taking (N, 784) rows."""
    from chainrule.models import build_resnet, build_rnn

    builders = {"mlp": chainrule_mlp, "cnn": chainrule_cnn,
                "resnet": lambda: build_resnet((1, 28, 28), 10),
                "lstm": lambda: build_rnn((1, 28, 28), 10)}  # fmt: skip
    return builders[kind]()


def torch_twin(model: nn.Sequential, kind: str = "mlp") -> Any:
    """The same architecture in PyTorch, with chainrule's initial weights copied in."""
    import torch

    if kind in ("resnet", "lstm"):
        net = _torch_resnet() if kind == "resnet" else _torch_lstm()
        net.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                             for k, v in model.state_dict().items()})  # fmt: skip
        return net

    layers = []
    for layer in model:
        name = type(layer).__name__
        if name == "Linear":
            twin = torch.nn.Linear(layer.in_features, layer.out_features)
        elif name == "Conv2d":
            twin = torch.nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.kernel_size,
                stride=layer.stride, padding=layer.padding,
            )  # fmt: skip
        elif name == "MaxPool2d":
            twin = torch.nn.MaxPool2d(layer.kernel_size)
        elif name == "ReLU":
            twin = torch.nn.ReLU()
        elif name == "Flatten":
            twin = torch.nn.Flatten()
        else:
            raise ValueError(f"no PyTorch twin for {name}")
        layers.append(twin)
    net = torch.nn.Sequential(*layers)
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    net.load_state_dict(state)
    return net


def _torch_resnet() -> Any:
    """chainrule.models.build_resnet((1, 28, 28), 10) written with torchvision's BasicBlock."""
    import torch
    from torch import nn as tnn

    class BasicBlock(tnn.Module):
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

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    return tnn.Sequential(
        tnn.Unflatten(1, (1, 28, 28)), tnn.Conv2d(1, 16, 3, 1, 1, bias=False),
        tnn.BatchNorm2d(16), tnn.ReLU(), BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
        BasicBlock(32, 64, 2), tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10),
    )  # fmt: skip


def _torch_lstm() -> Any:
    """chainrule.models.build_rnn((1, 28, 28), 10): an LSTM over the 28 rows, then Linear."""
    import torch
    from torch import nn as tnn

    class Rows(tnn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(-1, 28, 28)

    class Last(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = tnn.LSTM(28, 128, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.rnn(x)[0][:, -1]

    return tnn.Sequential(tnn.Identity(), Rows(), Last(), tnn.Linear(128, 10))


def layer_costs(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[float]:
    """Forward matrix-product FLOPs per sample of each Linear/Conv2d (2 per multiply-add)."""
    costs = []
    x = cr.tensor(np.zeros((1, *input_shape), dtype=np.float32))
    with cr.no_grad():
        for layer in model:
            out = layer(x)
            if hasattr(layer, "weight"):
                # Each output element is a dot product of the weight's fan-in with an input patch.
                fan_in = int(np.prod(layer.weight.shape[1:]))
                costs.append(2.0 * fan_in * out.numel())
            x = out
    return costs


def train_flops_per_sample(model: nn.Sequential, input_shape: tuple[int, ...]) -> float:
    """Forward, dW and dX each cost one product per layer; the first layer skips dX (the input
    needs no gradient), as both libraries do."""
    costs = layer_costs(model, input_shape)
    return 3 * sum(costs) - costs[0]


def inference_flops_per_sample(model: nn.Sequential, input_shape: tuple[int, ...]) -> float:
    return sum(layer_costs(model, input_shape))
