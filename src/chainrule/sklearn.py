"""scikit-learn estimators over chainrule's MLP: NeuralNetClassifier and NeuralNetRegressor.

They follow scikit-learn's contract (parameters stored as given and checked in fit, fitted
attributes ending in ``_``, inputs checked by scikit-learn's validators), so they go into
Pipeline, GridSearchCV and cross_val_score, and pass ``parametrize_with_checks``. Inside, fit is
chainrule.train.fit on a chainrule.models.build_mlp network.

This module imports scikit-learn; ``import chainrule`` does not import this module.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import nn, optim
from .models.feedforward import ACTIVATIONS, build_mlp
from .random import get_rng_state, set_rng_state
from .tensor import Tensor, no_grad
from .train import EarlyStopping
from .train import fit as train_fit

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor"]

# Optimisers that take (params, lr=...) and step without a closure (LBFGS needs one).
OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "rmsprop": optim.RMSprop,
    "adagrad": optim.Adagrad,
    "adamax": optim.Adamax,
    "nadam": optim.NAdam,
    "radam": optim.RAdam,
    "adadelta": optim.Adadelta,
}

_SEED_LIMIT = 2**31 - 1
_seeding = threading.Lock()  # estimators fitted in threads (joblib's threading backend)


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Draw from chainrule's global generator as if seeded with ``seed``, then put its state
    back: the same random_state gives the same weights, and the caller's stream is untouched."""
    with _seeding:
        saved = get_rng_state()
        set_rng_state(np.random.default_rng(seed).bit_generator.state)
        try:
            yield
        finally:
            set_rng_state(saved)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _NeuralNetBase(BaseEstimator):
    """What both estimators share: parameters, network construction and the training call."""

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (32,),
        activation: str = "relu",
        optimizer: str | type[optim.Optimizer] = "adam",
        lr: float = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        warm_start: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        # scikit-learn's contract: store the parameters as given; fit checks them.
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ---- to be provided by the classifier and the regressor
    def _loss(self) -> nn.Module:
        raise NotImplementedError

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        return None

    # ---- shared machinery
    def _check_params(self) -> None:
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, int | np.integer) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            self._hidden = [_positive_int(h, "hidden_layer_sizes entries") for h in hidden]
        except TypeError:
            raise ValueError(
                f"hidden_layer_sizes must be a sequence of positive integers, got {hidden!r}"
            ) from None
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if isinstance(self.optimizer, str):
            if self.optimizer.lower() not in OPTIMIZERS:
                raise ValueError(
                    f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
                )
        elif not (isinstance(self.optimizer, type) and issubclass(self.optimizer, optim.Optimizer)):
            raise ValueError(
                f"optimizer must be a name or a chainrule.optim.Optimizer class, "
                f"got {self.optimizer!r}"
            )
        if isinstance(self.lr, bool) or not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        _positive_int(self.epochs, "epochs")
        _positive_int(self.batch_size, "batch_size")
        _positive_int(self.n_iter_no_change, "n_iter_no_change")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )

    def _new_optimizer(self) -> optim.Optimizer:
        cls = (
            OPTIMIZERS[self.optimizer.lower()]
            if isinstance(self.optimizer, str)
            else self.optimizer
        )
        return cls(self.model_.parameters(), lr=float(self.lr))

    def _initialize(self, n_features: int, seed: int) -> None:
        self._seed = seed
        with _seeded(seed):
            self.model_ = build_mlp(
                n_features, self._n_outputs(), hidden=self._hidden, activation=self.activation
            )
        self.optimizer_ = self._new_optimizer()
        self.n_iter_ = 0
        self.loss_curve_: list[float] = []

    def _run(self, X: np.ndarray, y: np.ndarray, epochs: int, early_stopping: bool) -> None:
        """Train for ``epochs`` more epochs; every call shuffles from its own derived seed."""
        seed = int(np.random.SeedSequence([self._seed, self.n_iter_]).generate_state(1)[0])
        validation, callbacks = None, []
        if early_stopping:
            X, X_val, y, y_val = train_test_split(
                X,
                y,
                test_size=self.validation_fraction,
                random_state=seed % _SEED_LIMIT,
                stratify=self._stratify(y),
            )
            validation = (X_val, y_val)
            callbacks = [
                EarlyStopping("val_loss", self.n_iter_no_change, restore_best_weights=True)
            ]
        history = train_fit(
            self.model_,
            self._loss(),
            self.optimizer_,
            X,
            y,
            epochs=epochs,
            batch_size=int(self.batch_size),
            validation_data=validation,
            seed=seed,
            callbacks=callbacks,
            verbose=int(self.verbose),
        )
        self.n_iter_ += len(history)
        self.loss_curve_ = [*self.loss_curve_, *history["loss"]]
        if early_stopping:
            self.validation_loss_curve_ = history["val_loss"]
            self.best_epoch_ = callbacks[0].best_epoch

    def _fit(self, X: np.ndarray, y: np.ndarray, warm: bool) -> None:
        if not warm:
            seed = int(check_random_state(self.random_state).randint(_SEED_LIMIT))
            self._initialize(X.shape[1], seed)
        self._run(X, y, int(self.epochs), bool(self.early_stopping))

    def _forward(self, X: Any) -> np.ndarray:
        """The network's raw outputs, (N, outputs), computed in float64 from the float32 weights:
        float32 matrix products round differently with the batch's size, and scikit-learn asks
        a row's prediction not to depend on the rows predicted with it."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        model = copy.deepcopy(self.model_).double().eval()
        with no_grad():
            return model(Tensor(np.asarray(X, dtype=np.float64))).numpy()


class NeuralNetClassifier(ClassifierMixin, _NeuralNetBase):
    """A multi-layer perceptron classifier trained by chainrule.

    Two classes: one output logit under BCEWithLogitsLoss; more: one logit per class under
    CrossEntropyLoss. Labels of any type are mapped to 0..C-1 through ``classes_`` (sorted, as
    np.unique gives them).

    Parameters:
        hidden_layer_sizes: widths of the hidden layers.
        activation: a name from chainrule.models.feedforward.ACTIVATIONS ('relu', 'tanh'...).
        optimizer: a name ('adam', 'sgd', 'adamw', 'rmsprop'...) or a chainrule.optim class.
        lr: the learning rate.
        epochs: epochs per fit (partial_fit runs one).
        batch_size: samples per mini-batch.
        early_stopping: hold out ``validation_fraction`` (stratified), stop when its loss has
            not improved for ``n_iter_no_change`` epochs, and keep the best epoch's weights.
        warm_start: fit continues from the fitted weights and optimiser state.
        random_state: fixes the initial weights, the shuffling and the validation split.
        verbose: 0 silent, 1 one line per epoch.

    Fitted attributes: ``classes_``, ``n_features_in_`` (``feature_names_in_`` for data frames
    with string column names), ``model_`` (the chainrule network), ``optimizer_``, ``n_iter_``
    (epochs trained), ``loss_curve_`` (the mean training loss of each epoch); after a fit with
    early stopping, that fit's ``validation_loss_curve_`` and ``best_epoch_`` (counted from 1,
    the epoch whose weights were kept).
    """

    def _n_outputs(self) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _loss(self) -> nn.Module:
        return nn.BCEWithLogitsLoss() if len(self.classes_) == 2 else nn.CrossEntropyLoss()

    def _stratify(self, y: np.ndarray) -> np.ndarray | None:
        return y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if unknown.any():
            raise ValueError(
                f"y holds labels not in classes_ {self.classes_.tolist()}: "
                f"{np.unique(y[unknown]).tolist()}"
            )
        return codes.astype(np.int64)

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train from scratch (or, with warm_start, on from the fitted weights) for ``epochs``."""
        self._check_params()
        warm = self.warm_start and hasattr(self, "model_")
        previous = (getattr(self, "classes_", None), getattr(self, "n_features_in_", None))
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; "
                f"the data holds only one class: {classes.tolist()}"
            )
        if warm and not (
            previous[1] == X.shape[1]
            and previous[0] is not None
            and np.array_equal(previous[0], classes)
        ):
            raise ValueError(
                "warm_start needs the same classes and features as the previous fit: got classes "
                f"{classes.tolist()} and {X.shape[1]} features, fitted on {previous[0].tolist()} "
                f"and {previous[1]}"
            )
        self.classes_ = classes
        self._fit(X, self._encode(y), warm)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NeuralNetClassifier:
        """One epoch over (X, y). The first call needs ``classes``: every label fit will see."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], reset=first)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(np.asarray(classes))
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes, got {self.classes_.tolist()}"
                )
            seed = int(check_random_state(self.random_state).randint(_SEED_LIMIT))
            self._initialize(X.shape[1], seed)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes {np.unique(classes).tolist()} differ from the classes of the first "
                f"call to partial_fit, {self.classes_.tolist()}"
            )
        self._run(X, self._encode(y), 1, early_stopping=False)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: (N,) for two classes (> 0 means classes_[1]), else (N, C)."""
        out = self._forward(X)
        return out[:, 0] if len(self.classes_) == 2 else out

    def predict_proba(self, X: Any) -> np.ndarray:
        """(N, C) class probabilities, columns in the order of ``classes_``; rows sum to 1."""
        out = self._forward(X)
        if len(self.classes_) == 2:
            p = 1.0 / (1.0 + np.exp(-out[:, 0]))
            return np.column_stack([1.0 - p, p])
        out -= out.max(axis=1, keepdims=True)
        e = np.exp(out)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        out = self._forward(X)
        codes = (out[:, 0] > 0).astype(np.int64) if len(self.classes_) == 2 else out.argmax(1)
        return self.classes_[codes]


class NeuralNetRegressor(RegressorMixin, _NeuralNetBase):
    """A multi-layer perceptron regressor trained by chainrule under MSELoss.

    Takes y of shape (N,) or (N, k) (k outputs); predict returns the same shape. The targets are
    used as given: scale them (TransformedTargetRegressor) when they are large. Parameters and
    fitted attributes as NeuralNetClassifier's, with ``n_outputs_`` in place of ``classes_``.
    """

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _loss(self) -> nn.Module:
        return nn.MSELoss()

    def _validate_y(self, X: Any, y: Any, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(
            self,
            X,
            y,
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=True,
            reset=reset,
        )
        return X, np.asarray(y, dtype=np.float32)

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """Train from scratch (or, with warm_start, on from the fitted weights) for ``epochs``."""
        self._check_params()
        warm = self.warm_start and hasattr(self, "model_")
        previous = (getattr(self, "n_outputs_", None), getattr(self, "n_features_in_", None))
        X, y = self._validate_y(X, y, reset=True)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if warm and previous != (n_outputs, X.shape[1]):
            raise ValueError(
                f"warm_start needs the same outputs and features as the previous fit: got "
                f"{n_outputs} outputs and {X.shape[1]} features, fitted on {previous[0]} and "
                f"{previous[1]}"
            )
        self.n_outputs_, self._y_ndim = n_outputs, y.ndim
        self._fit(X, y, warm)
        return self

    def partial_fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """One epoch over (X, y); the first call builds the network."""
        first = not hasattr(self, "model_")
        if first:
            self._check_params()
        X, y = self._validate_y(X, y, reset=first)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_, self._y_ndim = n_outputs, y.ndim
            seed = int(check_random_state(self.random_state).randint(_SEED_LIMIT))
            self._initialize(X.shape[1], seed)
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} outputs, the model {self.n_outputs_}")
        self._run(X, y, 1, early_stopping=False)
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._forward(X)
        return out[:, 0] if self._y_ndim == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
