"""chainrule: backpropagation on NumPy, made visible.

Reading order: ``tensor.py`` (the graph and the chain rule), ``ops/`` (each op's forward and
backward), then up the stack: ``functional``, ``nn``, ``optim``, ``data``, ``train``, ``insight``.
"""

from . import functional, nn, optim
from .errors import ChainruleError
from .gradcheck import GradcheckResult, gradcheck
from .random import manual_seed
from .serialization import load, save
from .tensor import (
    Tensor,
    cat,
    concatenate,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    tensor,
    where,
)

__version__ = "0.1.0"

__all__ = [
    "ChainruleError",
    "GradcheckResult",
    "Tensor",
    "__version__",
    "cat",
    "concatenate",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "gradcheck",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
    "save",
    "tensor",
    "where",
]
