"""Errors a user can cause. The CLI turns each ChainruleError into one stderr line and exit 2."""


class ChainruleError(Exception):
    """Base of every error caused by input, arguments or files (not by a bug in chainrule)."""


class DataError(ChainruleError, ValueError, RuntimeError):
    """Bad, missing or corrupt data, or a bad data argument (also a RuntimeError, as PyTorch's
    errors for bad values in tensors are)."""


class LabelError(DataError, IndexError):
    """A class label outside 0..C-1 (an IndexError too, as PyTorch's "Target is out of bounds")."""


class ShapeError(ChainruleError, ValueError, RuntimeError):
    """An input whose shape does not fit the layer or op; the message names both shapes. Also a
    RuntimeError, which is what PyTorch raises for shape mismatches."""


class TensorError(ChainruleError, RuntimeError):
    """What PyTorch refuses with a RuntimeError: backward through a freed graph or from a tensor
    that does not require grad, a tensor changed in place that backward needs, an in-place op on
    a leaf that requires grad, an ambiguous truth value."""


class ConfigError(ChainruleError, ValueError):
    """A bad hyperparameter or option (learning rate, batch size, unknown name)."""


class StateDictError(ChainruleError, KeyError):
    """A state_dict whose names do not match the model's (missing or unexpected keys)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""  # KeyError would quote the message


class FormatError(ChainruleError, ValueError):
    """A model or checkpoint file that is truncated, corrupt, foreign, too large or too new."""


class NonFiniteError(ChainruleError, FloatingPointError):
    """A loss or gradient became NaN or infinite."""


class Terminated(KeyboardInterrupt):
    """SIGTERM where no step can be finished first (before or after fit(), or a second one
    during it): stop at once, as a second Ctrl-C would; the exit status is 143, not 130."""

    signal = 15


class TrainingInterrupted(KeyboardInterrupt):
    """The first Ctrl-C (or SIGTERM) during fit(): the step finished and, when checkpointing, a
    checkpoint was written to ``path``. A KeyboardInterrupt, so code that catches those still
    does. ``signal`` is the signal's number (2 for Ctrl-C, 15 for SIGTERM)."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        epoch: int = 0,
        step: int = 0,
        signal: int = 2,
    ):
        super().__init__(message)
        self.path, self.epoch, self.step, self.signal = path, epoch, step, int(signal)
