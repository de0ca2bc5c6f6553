"""Activations, softmax, losses and layers as functions, named as in ``torch.nn.functional``
(``import chainrule.nn.functional as F`` is this package).

Most are thin calls to a fused primitive in ``ops``; mse_loss, dropout and cross-entropy with
probability targets are composites with no backward of their own. One module per family:
activation, loss, layers (linear, dropout), conv (convolution, pooling, normalisation, padding).
"""

from ._common import Reduction
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .conv import avg_pool2d, batch_norm, conv2d, max_pool2d, pad
from .layers import dropout, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_penalty,
    mse_loss,
    nll_loss,
    one_hot,
)

__all__ = [
    "Reduction",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "l1_penalty",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]
