"""chainrule.sklearn: scikit-learn's own estimator checks, and the estimators at work in
Pipeline, GridSearchCV and cross_val_score."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import chainrule
from chainrule.data import load_breast_cancer, load_iris
from chainrule.sklearn import NeuralNetClassifier, NeuralNetRegressor


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()])
def test_sklearn_estimator_checks(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, ...]:
    x, y = load_breast_cancer()
    return tuple(train_test_split(x, y, test_size=0.25, stratify=y, random_state=0))


def test_breast_cancer_in_a_pipeline(cancer) -> None:  # type: ignore[no-untyped-def]
    x_train, x_test, y_train, y_test = cancer
    pipe = Pipeline(
        [("scale", StandardScaler()), ("net", NeuralNetClassifier(random_state=0))]
    ).fit(x_train, y_train)
    assert pipe.score(x_test, y_test) >= 0.95  # measured 0.958
    net = pipe.named_steps["net"]
    assert net.n_features_in_ == 30 and net.classes_.tolist() == [0, 1]
    assert net.n_iter_ == net.epochs == len(net.loss_curve_)
    assert net.loss_curve_[-1] < net.loss_curve_[0]


def test_grid_search_over_learning_rates(cancer) -> None:  # type: ignore[no-untyped-def]
    x_train, x_test, y_train, y_test = cancer
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=5, random_state=0))
    grid = GridSearchCV(pipe, {"neuralnetclassifier__lr": [1e-4, 1e-2]}, cv=3).fit(x_train, y_train)
    assert grid.best_params_ == {"neuralnetclassifier__lr": 1e-2}  # 5 epochs at 1e-4: too few
    assert grid.cv_results_["mean_test_score"][0] < grid.cv_results_["mean_test_score"][1]
    assert grid.score(x_test, y_test) >= 0.9


def test_cross_val_score_multiclass() -> None:
    x, y = load_iris()
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0))
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.shape == (3,) and scores.mean() >= 0.85  # measured 0.90


def test_string_labels_and_probabilities() -> None:
    x, y = load_iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    net = make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0)).fit(x, names)
    assert net.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    predicted = net.predict(x)
    assert predicted.dtype == names.dtype and (predicted == names).mean() > 0.85
    proba = net.predict_proba(x)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(net.classes_[proba.argmax(axis=1)], predicted)
    # two string classes: one logit under BCE, still two probability columns
    binary = names != "setosa"
    labels = np.where(binary, "other", "setosa")
    two = make_pipeline(StandardScaler(), NeuralNetClassifier(random_state=0)).fit(x, labels)
    proba = two.predict_proba(x)
    assert proba.shape == (150, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (two.predict(x) == labels).mean() > 0.95


def test_one_class_is_refused() -> None:
    x = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="at least 2 classes"):
        NeuralNetClassifier().fit(x, np.ones(10))


def test_regressor_fits_a_linear_target() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=600)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    reg = NeuralNetRegressor(random_state=0).fit(x_train, y_train)
    assert reg.predict(x_test).shape == (150,)
    assert reg.score(x_test, y_test) > 0.95
    # k outputs in, k outputs out
    y2 = np.column_stack([y, -y])
    both = NeuralNetRegressor(random_state=0).fit(x, y2)
    assert both.n_outputs_ == 2 and both.predict(x).shape == (600, 2)
    assert both.score(x, y2) > 0.95


def test_random_state_fixes_the_fit_and_leaves_chainrules_generator_alone(cancer) -> None:  # type: ignore[no-untyped-def]
    x_train, _, y_train, _ = cancer
    x_train = StandardScaler().fit_transform(x_train)
    before = chainrule.get_rng_state()
    a = NeuralNetClassifier(epochs=3, random_state=7).fit(x_train, y_train)
    assert chainrule.get_rng_state() == before
    b = NeuralNetClassifier(epochs=3, random_state=7).fit(x_train, y_train)
    c = NeuralNetClassifier(epochs=3, random_state=8).fit(x_train, y_train)
    np.testing.assert_array_equal(a.predict_proba(x_train), b.predict_proba(x_train))
    assert not np.array_equal(a.predict_proba(x_train), c.predict_proba(x_train))


def test_partial_fit_trains_one_epoch_per_call() -> None:
    x, y = load_iris()
    x = StandardScaler().fit_transform(x)
    net = NeuralNetClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        net.partial_fit(x, y)
    for _ in range(15):
        net.partial_fit(x, y, classes=[0, 1, 2])
    assert net.n_iter_ == 15 and len(net.loss_curve_) == 15
    assert net.loss_curve_[-1] < net.loss_curve_[0] and net.score(x, y) > 0.85
    with pytest.raises(ValueError, match="not in classes_"):
        net.partial_fit(x, y + 1)
    with pytest.raises(ValueError, match="features"):
        net.partial_fit(x[:, :3], y)


def test_warm_start_continues_the_fitted_weights() -> None:
    x, y = load_iris()
    x = StandardScaler().fit_transform(x)
    net = NeuralNetClassifier(epochs=4, warm_start=True, random_state=0).fit(x, y)
    model = net.model_
    net.fit(x, y)
    assert net.model_ is model and net.n_iter_ == 8
    cold = clone(net).set_params(warm_start=False).fit(x, y).fit(x, y)
    assert cold.n_iter_ == 4


def test_early_stopping_keeps_the_best_epoch(cancer) -> None:  # type: ignore[no-untyped-def]
    x_train, _, y_train, _ = cancer
    x_train = StandardScaler().fit_transform(x_train)
    net = NeuralNetClassifier(
        epochs=200, lr=0.05, early_stopping=True, n_iter_no_change=3, random_state=0
    ).fit(x_train, y_train)
    assert net.n_iter_ < 200  # stopped
    assert len(net.validation_loss_curve_) == net.n_iter_
    best = int(np.argmin(net.validation_loss_curve_)) + 1
    assert net.best_epoch_ == best == net.n_iter_ - 3


def test_bad_parameters_fail_in_fit_not_in_init() -> None:
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    for params, message in [
        ({"activation": "nope"}, "unknown activation"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"lr": 0}, "lr must be"),
        ({"epochs": 0}, "epochs must be"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ]:
        net = NeuralNetClassifier(**params)
        with pytest.raises(ValueError, match=message):
            net.fit(x, y)


def test_optimizer_by_class_and_pickle_round_trip() -> None:
    x, y = load_iris()
    x = StandardScaler().fit_transform(x)
    net = NeuralNetRegressor(optimizer=chainrule.optim.SGD, lr=0.05, random_state=0)
    net.fit(x, y.astype(float))
    assert isinstance(net.optimizer_, chainrule.optim.SGD)
    before = net.predict(x)
    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(again.predict(x), before)
    # the unpickled optimiser steps the unpickled network's weights, not the original's
    again.partial_fit(x, y.astype(float))
    assert again.n_iter_ == net.n_iter_ + 1
    assert not np.array_equal(again.predict(x), before)
    np.testing.assert_array_equal(net.predict(x), before)


def test_import_chainrule_does_not_import_sklearn() -> None:
    code = "import sys, chainrule; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
