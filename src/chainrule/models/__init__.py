"""The built-in architectures that the CLI, the benchmarks and the demos share.

Each builder returns an ``nn.Sequential`` of chainrule layers, so a trained model saves to a
model file and loads back without code. The few layers that PyTorch keeps outside ``torch.nn``
(torchvision's ``BasicBlock``) or writes inline in a ``forward`` (reading an image row by row,
keeping an RNN's last hidden state) live here; ``LAYERS`` lists them for the model-file loader.
"""

from .feedforward import ACTIVATIONS, activation_name, build_cnn, build_mlp
from .recurrent import ImageRows, RecurrentLast, build_rnn
from .resnet import BasicBlock, build_resnet

LAYERS = (BasicBlock, ImageRows, RecurrentLast)

__all__ = [
    "ACTIVATIONS",
    "LAYERS",
    "BasicBlock",
    "ImageRows",
    "RecurrentLast",
    "activation_name",
    "build_cnn",
    "build_mlp",
    "build_resnet",
    "build_rnn",
]
