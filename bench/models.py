"""W-MLP and W-CNN built identically in chainrule and PyTorch, with the same initial weights."""

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


def torch_twin(model: nn.Sequential) -> Any:
    """The same architecture in PyTorch, with chainrule's initial weights copied in."""
    import torch

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
