"""Training: fit() and its History, callbacks, metrics."""

from .callbacks import Callback, EarlyStopping, LRSchedule
from .fit import evaluate, fit
from .metrics import accuracy, confusion_matrix, predict_classes
from .state import History, TrainingState

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
