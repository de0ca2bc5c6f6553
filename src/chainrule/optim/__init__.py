"""Optimisers, gradient clipping and learning-rate schedules, as ``torch.optim``."""

from . import lr_scheduler
from .adam import Adam
from .clip import clip_grad_norm_, clip_grad_value_
from .lr_scheduler import ReduceLROnPlateau, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "Optimizer",
    "ReduceLROnPlateau",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]
