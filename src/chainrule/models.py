"""The built-in architectures that the CLI, the benchmarks and the demos share."""

from __future__ import annotations

from collections.abc import Sequence

from . import nn
from .errors import ConfigError

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def build_mlp(
    in_features: int,
    num_classes: int,
    hidden: Sequence[int] = (512, 256),
    activation: str = "relu",
    init: str | None = None,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Linear → activation (→ Dropout) per hidden width, then a Linear to the class scores.

    init defaults to He for ReLU and Xavier for sigmoid/tanh. For 2 classes with a single output
    unit (num_classes=1) the last layer emits one logit for BCEWithLogitsLoss.
    """
    if activation not in ACTIVATIONS:
        raise ConfigError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    init = init or ("he" if activation == "relu" else "xavier")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for size in hidden:
        if size < 1:
            raise ConfigError(f"hidden layer widths must be positive, got {size}")
        layers += [nn.Linear(width, size, init=init), ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    # The output layer feeds a softmax/sigmoid loss, not a ReLU: Xavier suits it either way.
    layers.append(nn.Linear(width, num_classes, init="xavier"))
    return nn.Sequential(*layers)
