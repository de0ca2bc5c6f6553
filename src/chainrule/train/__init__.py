"""Training: fit() and its History, callbacks, metrics."""

from .callbacks import Callback, EarlyStopping, LRSchedule
from .fit import History, TrainingState, evaluate, fit
from .metrics import accuracy, confusion_matrix, predict_classes

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "LRSchedule",
    "TrainingState",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "predict_classes",
]
