"""Every differentiable primitive, forward and backward side by side, on NumPy arrays only.

Grouped by kind: ``elementwise``, ``reduce``, ``shape`` (and matmul), ``nn`` (fused layers,
activations and losses), ``conv`` (convolution, pooling, batch norm).
"""

from .base import Array, Context, Function, Grads, constant_like
from .conv import AvgPool2d, BatchNorm, BatchNormEval, Conv2d, MaxPool2d
from .elementwise import Abs, Add, Clip, Div, Exp, Log, Mul, Neg, Pow, Sqrt, Sub, Where
from .nn import (
    BCE,
    BCEWithLogits,
    CrossEntropy,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .reduce import Max, Mean, Sum
from .shape import Concatenate, Index, MatMul, Reshape, Transpose

__all__ = [
    "BCE",
    "Abs",
    "Add",
    "Array",
    "AvgPool2d",
    "BCEWithLogits",
    "BatchNorm",
    "BatchNormEval",
    "Clip",
    "Concatenate",
    "Context",
    "Conv2d",
    "CrossEntropy",
    "Div",
    "Exp",
    "Function",
    "Grads",
    "Index",
    "LeakyReLU",
    "Linear",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool2d",
    "Mean",
    "Mul",
    "Neg",
    "Pow",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Sqrt",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Where",
    "constant_like",
]
