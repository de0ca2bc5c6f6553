"""Data sets and training recipes behind ``chainrule train``: a run from a plain config dict.

The CLI parses flags into a config and calls ``train_run``; tests and benchmarks call it too, so
there is one implementation of "train the default model on data set X".
"""

from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn, optim
from ..data import load_breast_cancer, load_digits, load_idx_folder, load_mnist, train_val_split
from ..data.loader import check_finite
from ..distributed import process_group as pg
from ..errors import ConfigError, DataError
from ..models import build_cnn, build_mlp, build_resnet, build_rnn
from ..random import manual_seed
from .callbacks import Callback, EarlyStopping, LRSchedule
from .checkpoint import CheckpointConfig, resolve
from .fit import evaluate, fit
from .metrics import confusion_matrix
from .state import History

DATASETS = ("digits", "breast-cancer", "mnist", "idx")
MODELS = ("mlp", "cnn", "resnet", "lstm")
IMAGE_MODELS = ("cnn", "resnet", "lstm")
SCHEDULES = ("constant", "step", "cosine", "onecycle")


@dataclass
class Dataset:
    """Train and test splits as NumPy arrays, with what a model needs to know about them."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    image_shape: tuple[int, int, int] | None  # (C, H, W) for image data, None for tables

    @property
    def in_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """digits and breast-cancer ship with chainrule (20% stratified test split, fixed seed);
    mnist and idx read the four MNIST-layout files (official 60,000/10,000 split)."""
    if name == "digits":
        x, y = load_digits()
        x_train, y_train, x_test, y_test = train_val_split(x, y, val_fraction=0.2, seed=0)
        return Dataset(name, x_train, y_train, x_test, y_test, 10, (1, 8, 8))
    if name == "breast-cancer":
        x, y = load_breast_cancer()
        x_train, y_train, x_test, y_test = train_val_split(x, y, val_fraction=0.2, seed=0)
        return Dataset(name, x_train, y_train, x_test, y_test, 2, None)
    if name in ("mnist", "idx"):
        if name == "idx" and data_dir is None:
            raise ConfigError("--dataset idx needs --data-dir DIR holding the four IDX files")
        loader = load_mnist if name == "mnist" else load_idx_folder
        (x_train, y_train), (x_test, y_test) = loader(data_dir)
        if len(x_train) == 0 or len(x_test) == 0:
            raise DataError(
                f"{name} data set is empty ({len(x_train)} training, {len(x_test)} test samples)"
            )
        # Rows as in the files, before the validation split reorders them.
        check_finite(x_train, name=f"{name} training images")
        check_finite(x_test, name=f"{name} test images")
        num_classes = int(y_train.max()) + 1  # every test label is one (load_idx_folder)
        present = np.unique(y_train)
        if len(present) < 2:
            raise DataError(
                f"{name} training labels hold one class ({int(present[0])}): nothing to learn"
            )
        h, w = x_train.shape[1:3]
        # (N, H, W) -> (N, 1, H, W): one channel, so the same arrays feed an MLP or a CNN.
        x_train = x_train.reshape(len(x_train), 1, h, w)
        x_test = x_test.reshape(len(x_test), 1, h, w)
        return Dataset(
            name,
            x_train,
            y_train.astype(np.int64),
            x_test,
            y_test.astype(np.int64),
            num_classes,
            (1, h, w),
        )
    raise ConfigError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


# Defaults per data set and model; any flag the user gives overrides them. The MNIST recipes are
# the ones that reach 98% (MLP), 99.2% (CNN), 99.4% (ResNet) and 98% (LSTM): see the README for
# measured runs. The ResNet follows He et al.'s recipe (SGD with momentum and weight decay 5e-4)
# under a one-cycle schedule; the LSTM takes Adam and clips its gradients, as recurrent nets do.
RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("digits", "mlp"): dict(hidden=[128, 64], optimizer="sgd", lr=0.05, momentum=0.9,
                            batch_size=32, epochs=15),
    ("breast-cancer", "mlp"): dict(hidden=[32], optimizer="adam", lr=1e-3, batch_size=32,
                                   epochs=60),
    ("mnist", "mlp"): dict(hidden=[512, 256], optimizer="sgd", lr=0.05, momentum=0.9,
                           nesterov=True, batch_size=128, epochs=10, lr_step=4, lr_gamma=0.3),
    ("digits", "cnn"): dict(optimizer="adam", lr=2e-3, batch_size=32, epochs=15),
    ("mnist", "cnn"): dict(optimizer="adam", lr=1e-3, batch_size=64, epochs=5, lr_step=2,
                           lr_gamma=0.3, dropout=0.25, val_split=0.0),
    ("digits", "resnet"): dict(optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4,
                               batch_size=32, epochs=15, schedule="onecycle"),
    ("mnist", "resnet"): dict(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4,
                              batch_size=128, epochs=8, schedule="onecycle", val_split=0.0),
    ("digits", "lstm"): dict(optimizer="adam", lr=5e-3, batch_size=32, epochs=30,
                             schedule="cosine", clip_norm=1.0),
    ("mnist", "lstm"): dict(optimizer="adam", lr=2e-3, batch_size=128, epochs=5,
                            schedule="cosine", clip_norm=1.0, val_split=0.0),
}  # fmt: skip

BASE_CONFIG: dict[str, Any] = dict(
    dataset="digits",
    data_dir=None,
    model="mlp",
    hidden=[512, 256],
    activation="relu",
    init=None,
    optimizer="sgd",
    lr=0.05,
    momentum=0.9,
    nesterov=False,
    batch_size=64,
    epochs=10,
    weight_decay=0.0,
    l1=0.0,
    clip_norm=None,
    val_split=0.1,
    early_stopping=None,
    lr_step=None,
    lr_gamma=0.1,
    schedule=None,
    dropout=0.0,
    seed=0,
)


def check_saved_config(config: dict[str, Any]) -> None:
    """Settings read back from a run's checkpoint: known keys, each of its default's type."""
    unknown = sorted(set(config) - set(BASE_CONFIG))
    if unknown:
        raise ConfigError(f"saved settings {unknown} are not chainrule train's")
    for key, value in config.items():
        default = BASE_CONFIG[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            )
        else:
            scalars = value if isinstance(value, list) else [value]
            ok = all(v is None or isinstance(v, str | int | float) for v in scalars)
        if not ok:
            raise ConfigError(f"saved setting {key!r} = {value!r} is not valid")


def resolve_config(overrides: dict[str, Any]) -> dict[str, Any]:
    """BASE_CONFIG, then the recipe of (dataset, model), then what the user set explicitly."""
    dataset = overrides.get("dataset") or BASE_CONFIG["dataset"]
    model = overrides.get("model") or BASE_CONFIG["model"]
    if dataset not in DATASETS:
        raise ConfigError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    recipe_key = ("mnist" if dataset == "idx" else dataset, model)
    config = {**BASE_CONFIG, **RECIPES.get(recipe_key, {})}
    config.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get("lr_step") is not None and overrides.get("schedule") is None:
        config["schedule"] = "step"  # --lr-step alone asks for the step schedule
    if config["schedule"] is None:
        config["schedule"] = "step" if config["lr_step"] else "constant"
    if config["schedule"] not in SCHEDULES:
        raise ConfigError(
            f"unknown schedule {config['schedule']!r}; choose one of {', '.join(SCHEDULES)}"
        )
    if config["schedule"] == "step" and not config["lr_step"]:
        raise ConfigError("the step schedule needs --lr-step N (epochs between lr cuts)")
    _check_numbers(config, {**BASE_CONFIG, **RECIPES.get(recipe_key, {})}, overrides)
    return config


def _check_numbers(
    config: dict[str, Any], defaults: dict[str, Any], overrides: dict[str, Any]
) -> None:
    """The run's numbers where they enter, before any data is read: each in its range. SGD's
    own settings given to another optimiser (other than their defaults) would do nothing."""
    if config["optimizer"] != "sgd":
        given = [
            f"--{k}"
            for k in ("momentum", "nesterov")
            if overrides.get(k) is not None and overrides[k] != defaults[k]
        ]
        if given:
            raise ConfigError(
                f"{' and '.join(given)} {'are' if len(given) > 1 else 'is'} SGD's; --optimizer "
                f"{config['optimizer']} keeps its own moving averages (betas)"
            )

    def number(key: str, span: str, inside: Any) -> None:
        value = config[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and inside(value)):
            flag = f"--{key.replace('_', '-')}"
            raise ConfigError(f"{flag} must be a finite number {span}, got {value!r}")

    number("momentum", "in [0, 1)", lambda v: 0 <= v < 1)  # at 1 the velocity never decays
    number("lr_gamma", "> 0", lambda v: v > 0)
    number("weight_decay", ">= 0", lambda v: v >= 0)
    number("l1", ">= 0", lambda v: v >= 0)
    if config["clip_norm"] is not None:
        number("clip_norm", "> 0", lambda v: v > 0)


def build_model(config: dict[str, Any], data: Dataset, x_train: np.ndarray) -> nn.Sequential:
    """The model for a config, with input normalisation (statistics of x_train) as layer 0."""
    per_feature = data.image_shape is None  # tables: per column; images: one mean and std
    normalize = nn.Normalize.from_data(x_train, per_feature=per_feature)
    outputs = 1 if data.num_classes == 2 and data.image_shape is None else data.num_classes
    if config["model"] in IMAGE_MODELS and data.image_shape is None:
        raise ConfigError(f"--model {config['model']} needs image data; {data.name} is a table")
    if config["model"] == "cnn":
        body = build_cnn(data.image_shape, outputs, dropout=config["dropout"])
    elif config["model"] == "resnet":
        body = build_resnet(data.image_shape, outputs)
    elif config["model"] == "lstm":
        body = build_rnn(data.image_shape, outputs, mode="LSTM")
    else:
        _check_mlp_memory(data.in_features, outputs, config["hidden"])
        body = build_mlp(
            data.in_features,
            outputs,
            hidden=config["hidden"],
            activation=config["activation"],
            init=config["init"],
            dropout=config["dropout"],
        )
    return nn.Sequential(normalize, *body)


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (Linux's MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _check_mlp_memory(inputs: int, outputs: int, hidden: list[int]) -> None:
    """Refuse, before allocating, an MLP whose training would not fit in memory: about six
    float32 copies of every parameter (weights, gradients, momentum or Adam's two moments, the
    gradients' temporaries in backward, a checkpoint's copy). --hidden 10000000 would otherwise
    grow for half a minute and then fail."""
    widths = [inputs, *hidden, outputs]
    params = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    needed = 6 * 4 * params
    free = available_memory()
    if free is not None and needed > free:
        raise ConfigError(
            f"--hidden {','.join(map(str, hidden))}: the MLP has {params:,} parameters; training "
            f"them (weights, gradients, optimizer state) needs about {needed / 1e9:.1f} GB, "
            f"more than the {free / 1e9:.1f} GB of memory available"
        )


def loss_for(data: Dataset, model: nn.Module) -> nn.Module:
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return nn.BCEWithLogitsLoss() if last.out_features == 1 else nn.CrossEntropyLoss()


def build_optimizer(config: dict[str, Any], model: nn.Module) -> optim.Optimizer:
    common = dict(lr=config["lr"], weight_decay=config["weight_decay"], l1=config["l1"])
    if config["optimizer"] == "sgd":
        return optim.SGD(
            model.parameters(), momentum=config["momentum"], nesterov=config["nesterov"], **common
        )
    if config["optimizer"] == "adam":
        return optim.Adam(model.parameters(), **common)
    raise ConfigError(f"unknown optimizer {config['optimizer']!r}; choose sgd or adam")


def schedule_for(
    config: dict[str, Any], optimizer: optim.Optimizer, steps_per_epoch: int
) -> LRSchedule | None:
    """The learning-rate schedule of a config: 'constant' (None), 'step' (times lr_gamma every
    lr_step epochs), 'cosine' (to 0 over the run, per epoch) or 'onecycle' (up to lr and back
    down, per batch)."""
    epochs = max(config["epochs"], 1)
    if config["schedule"] == "step":
        return LRSchedule(optim.StepLR(optimizer, config["lr_step"], config["lr_gamma"]))
    if config["schedule"] == "cosine":
        return LRSchedule(optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs))
    if config["schedule"] == "onecycle":
        scheduler = optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config["lr"], epochs=epochs, steps_per_epoch=steps_per_epoch
        )
        return LRSchedule(scheduler, every="batch")
    return None


def _load_on_every_rank(config: dict[str, Any]) -> Dataset:
    """The data set, read by every process; an error on any stops all of them, naming it.
    MNIST may be downloaded: rank 0 fetches it first, so that processes sharing a folder do not
    download it side by side."""

    def load() -> Dataset:
        return load_dataset(config["dataset"], config["data_dir"])

    if pg.world_size() == 1 or config["dataset"] != "mnist":
        return pg.run_agreed(load, "loading data")
    first = pg.run_agreed(load if pg.is_main() else lambda: None, "loading data")
    rest = pg.run_agreed(lambda: None if pg.is_main() else load(), "loading data")
    return first if pg.is_main() else rest


def _parallel_note(batch_size: int) -> str:
    world = pg.world_size()
    if world == 1:
        return ""
    low, high = batch_size // world, -(-batch_size // world)
    share = str(low) if low == high else f"{low}-{high}"
    return (
        f"; data-parallel on {world} processes: each takes {share} of every batch of {batch_size}"
    )


@dataclass
class RunResult:
    config: dict[str, Any]
    model: nn.Sequential
    history: History
    test_loss: float
    test_accuracy: float
    confusion: np.ndarray
    seconds: float

    def metrics(self) -> dict[str, Any]:
        return {
            "dataset": self.config["dataset"],
            "model": self.config["model"],
            "arguments": self.config,
            "history": self.history.epochs,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "confusion_matrix": self.confusion.tolist(),
            "seconds": self.seconds,
        }


def train_run(
    overrides: dict[str, Any],
    callbacks: list[Callback] | None = None,
    verbose: int = 1,
    *,
    checkpoint: str | os.PathLike[str] | CheckpointConfig | None = None,
    resume: bool = False,
    on_nonfinite: str = "stop",
    anomaly: bool = False,
    saved_options: dict[str, Any] | None = None,
) -> RunResult:
    """Load data, build model and optimiser from the resolved config, fit, and test.

    checkpoint, resume, on_nonfinite and anomaly go to fit(); the checkpoint also stores the
    resolved config, these options and ``saved_options`` (JSON-able, e.g. the CLI's monitor),
    which ``chainrule train --resume`` reads back.
    """
    config = resolve_config(overrides)
    if config["data_dir"]:  # saved absolute, so that --resume works from any folder
        config["data_dir"] = str(Path(config["data_dir"]).expanduser().absolute())
    started = time.perf_counter()
    manual_seed(config["seed"])
    data = _load_on_every_rank(config)
    checkpoint = resolve(checkpoint)
    val_split = config["val_split"]
    if val_split:
        x_train, y_train, x_val, y_val = train_val_split(
            data.x_train, data.y_train, val_fraction=val_split, seed=config["seed"]
        )
        validation = (x_val, y_val)
    else:
        x_train, y_train, validation = data.x_train, data.y_train, None
    model = build_model(config, data, x_train)
    loss_fn = loss_for(data, model)
    optimizer = build_optimizer(config, model)
    callbacks = list(callbacks or [])
    schedule = schedule_for(config, optimizer, math.ceil(len(x_train) / config["batch_size"]))
    if schedule is not None:
        callbacks.append(schedule)
    if config["early_stopping"]:
        monitor = "val_loss" if validation is not None else "loss"
        callbacks.append(
            EarlyStopping(monitor, patience=config["early_stopping"], restore_best_weights=True)
        )
    if verbose and pg.is_main():
        print(
            f"training {config['model']} on {data.name}: {len(x_train)} train, "
            f"{0 if validation is None else len(validation[0])} validation, "
            f"{len(data.x_test)} test samples{_parallel_note(config['batch_size'])}"
        )
    if checkpoint is not None:
        options = {**(saved_options or {}), "checkpoint_every": checkpoint.every,
                   "on_nonfinite": on_nonfinite, "anomaly": anomaly}  # fmt: skip
        checkpoint = replace(checkpoint, metadata={"config": config, "options": options})
    history = fit(
        model,
        loss_fn,
        optimizer,
        x_train,
        y_train,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        validation_data=validation,
        seed=config["seed"],
        callbacks=callbacks,
        clip_norm=config["clip_norm"],
        verbose=verbose,
        checkpoint=checkpoint,
        resume=resume,
        on_nonfinite=on_nonfinite,
        anomaly=anomaly,
    )
    test = evaluate(model, loss_fn, data.x_test, data.y_test)
    confusion = confusion_matrix(data.y_test, test["predictions"], data.num_classes)
    seconds = time.perf_counter() - started + history.seconds_before  # a resumed run: all parts
    return RunResult(config, model, history, test["loss"], test["accuracy"], confusion, seconds)
