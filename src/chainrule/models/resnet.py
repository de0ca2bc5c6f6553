"""A residual CNN (He et al. 2016) for small images: torchvision's BasicBlock, stacked."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ..errors import ConfigError
from ..tensor import Tensor


class BasicBlock(nn.Module):
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), torchvision's block.

    conv1 is 3x3 with ``stride``, conv2 3x3; the shortcut is the identity, or a strided 1x1
    conv with batch norm (``downsample``) where the shape changes. The gradient reaches x by
    both paths and the two are summed: the skip carries it past the convolutions undamped.
    Shapes: (N, inplanes, H, W) -> (N, planes, ceil(H / stride), ceil(W / stride)).
    state_dict keys as torchvision's: conv1, bn1, conv2, bn2, downsample.0, downsample.1.
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        for arg, value in (("inplanes", inplanes), ("planes", planes), ("stride", stride)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"BasicBlock: {arg} must be a positive integer, got {value!r}")
        # Batch norm follows each conv, so a conv bias would be subtracted out again.
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def build_resnet(
    in_shape: tuple[int, int, int],
    num_classes: int,
    widths: Sequence[int] = (16, 32, 64),
    blocks: int = 1,
) -> nn.Sequential:
    """Unflatten → conv 3x3 → BatchNorm2d → ReLU, then per width ``blocks`` BasicBlocks (the
    first of each stage after the first halves H and W), then global average pooling → Linear.

    in_shape is (C, H, W); the model takes (N, C, H, W) images or (N, C·H·W) rows. With the
    default widths a 28x28 image ends as 64 channels of 7x7, an 8x8 digit as 64 of 2x2.
    """
    if len(widths) == 0 or min(widths) < 1:
        raise ConfigError(f"widths must be positive channel counts, got {list(widths)}")
    if blocks < 1:
        raise ConfigError(f"blocks per stage must be at least 1, got {blocks}")
    c = in_shape[0]
    layers: list[nn.Module] = [
        nn.Unflatten(1, in_shape),
        nn.Conv2d(c, widths[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(widths[0]),
        nn.ReLU(),
    ]
    inplanes = widths[0]
    for stage, planes in enumerate(widths):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            layers.append(BasicBlock(inplanes, planes, stride))
            inplanes = planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(inplanes, num_classes)]
    return nn.Sequential(*layers)
