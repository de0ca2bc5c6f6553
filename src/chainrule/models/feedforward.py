"""Feed-forward architectures: the MLP and the plain CNN, and the activations they take by name."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .. import nn
from ..errors import ConfigError


def activation_name(cls: type[nn.Module]) -> str:
    """The name the CLI and the tables use for an activation: ReLU -> 'relu', LeakyReLU ->
    'leaky_relu'."""
    return re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", "_", cls.__name__).lower()


def _elementwise_activations() -> dict[str, type[nn.Module]]:
    """Every class of chainrule.nn.activation that maps each value on its own with no weights
    and no required argument (the softmax family and GLU mix values; PReLU learns a slope)."""
    out: dict[str, type[nn.Module]] = {}
    for name in nn.__all__:
        cls = getattr(nn, name)
        if not (isinstance(cls, type) and cls.__module__ == "chainrule.nn.activation"):
            continue
        try:
            layer = cls()
        except TypeError:
            continue  # a required argument (Threshold's threshold and value)
        if "dim" not in layer.config() and "Softmax" not in name and not layer._parameters:
            out[activation_name(cls)] = cls
    return out


ACTIVATIONS = _elementwise_activations()


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


def build_cnn(
    in_shape: tuple[int, int, int],
    num_classes: int,
    channels: Sequence[int] = (32, 64),
    hidden: int = 128,
    batch_norm: bool = False,
    dropout: float = 0.0,
    init: str = "torch",
) -> nn.Sequential:
    """Unflatten, then per entry of channels: conv 3x3 pad 1 (→ BatchNorm2d) → ReLU → max-pool 2;
    then Flatten → Linear(→ hidden) → ReLU (→ Dropout) → Linear(→ num_classes).

    in_shape is (C, H, W); the model takes (N, C, H, W) images or (N, C·H·W) rows. Each pool
    halves H and W (rounding down), so (1, 28, 28) ends at 7x7 and the shipped 8x8 digits at 2x2.

    init defaults to PyTorch's scheme: He init, with max-pooling passing on the largest of each
    four activations, starts MNIST at a loss of 4.5 instead of 2.3, and measured (same recipe,
    5 epochs) 99.00% against 99.12% test accuracy.
    """
    c, h, w = in_shape
    if len(channels) == 0 or min(channels) < 1:
        raise ConfigError(f"channels must be positive widths, got {list(channels)}")
    if h >> len(channels) == 0 or w >> len(channels) == 0:
        raise ConfigError(
            f"images of {h}x{w} are too small for {len(channels)} pooling blocks "
            f"(each halves height and width)"
        )
    layers: list[nn.Module] = [nn.Unflatten(1, in_shape)]
    for width in channels:
        # With batch norm right after, a conv bias would be subtracted out again.
        layers.append(nn.Conv2d(c, width, 3, padding=1, bias=not batch_norm, init=init))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = width, h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden, init=init), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, num_classes, init="xavier" if init == "he" else init))
    return nn.Sequential(*layers)
