"""The ``chainrule`` command: one function per subcommand, each a thin call into the Python API.

Every ChainruleError (bad flag, missing data, unreadable file) becomes one line on stderr and
exit code 2; no usage block, no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import ChainruleError, ConfigError

if TYPE_CHECKING:
    from .train.run_folder import RunFolder


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every flag with a default says it, unless its help already does; descriptions and
    epilogs keep their lines (the train recipes)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and not any(default is nothing for nothing in (None, False, argparse.SUPPRESS))
            and "default" not in text
        ):
            text = f"{text} (default: %(default)s)" if text else "(default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 512,256, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"hidden widths must be positive integers, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _path(text: str) -> str:
    """A path flag: an empty one would silently mean none (no files written, no resume)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


def _at_most(high: int) -> Any:
    """A positive integer type for argparse, at most high."""

    def parse(text: str) -> int:
        value = _positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"expected at most {high}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value}")
    return value


def _every(text: str) -> int | str:
    if text == "epoch":
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of steps or 'epoch', got {text!r}"
        ) from None


def _add_data_flags(
    p: argparse.ArgumentParser, default: str = "digits (ships with chainrule)"
) -> None:
    from .train.recipes import DATASETS

    p.add_argument("--dataset", choices=DATASETS, help=f"the data set (default: {default})")
    p.add_argument(
        "--data-dir", metavar="DIR", type=_path,
        help="folder with the four MNIST-layout IDX files (default for mnist: $CHAINRULE_DATA, "
        "else ~/.cache/chainrule/mnist, downloading them there)",
    )  # fmt: skip


def _add_threads_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threads", type=_positive_int, metavar="N",
        help="CPU threads for matrix products and kernels (default: the idle CPUs; "
        "CHAINRULE_NUM_THREADS sets it too)",
    )  # fmt: skip


def _base_defaults() -> dict[str, Any]:
    """The settings a run takes when neither a flag nor a recipe gives them, as flags show them."""
    from .train.recipes import BASE_CONFIG

    shown = dict(BASE_CONFIG)
    shown["hidden"] = ",".join(str(w) for w in BASE_CONFIG["hidden"])
    return shown


def _recipes_epilog() -> str:
    """The recipes of `chainrule train`: what each (dataset, model) pair sets."""
    import textwrap

    from .train.recipes import RECIPES

    lines = ["recipes (--dataset / --model: the settings they choose; idx takes mnist's):"]
    for (dataset, model), recipe in RECIPES.items():
        settings = ", ".join(
            f"{key.replace('_', '-')} {','.join(map(str, v)) if isinstance(v, list) else v}"
            for key, v in recipe.items()
        )
        lines.append(
            textwrap.fill(f"{dataset} / {model}: {settings}", 96, initial_indent="  ",
                          subsequent_indent="      ")
        )  # fmt: skip
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .models import ACTIVATIONS
    from .nn.init import INIT_SCHEMES
    from .train.recipes import MODELS, SCHEDULES

    parser = _Parser(prog="chainrule", description="Backpropagation on NumPy, made visible.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train a network (default: an MLP on the shipped digits)",
        description="Train a network on a data set. A setting not given comes from the recipe\n"
        "of --dataset and --model (listed below), else from the default shown.",
        epilog=_recipes_epilog(),
    )  # fmt: skip
    _add_data_flags(train)
    _add_threads_flag(train)
    base = _base_defaults()
    flag = train.add_argument
    flag("--model", choices=MODELS, help=f"the network (default: {base['model']})")
    flag(
        "--hidden",
        type=_int_list,
        metavar="W1,W2,...",
        help=f"MLP hidden layer widths (default: {base['hidden']})",
    )
    flag(
        "--activation",
        choices=sorted(ACTIVATIONS),
        metavar="NAME",
        help=f"MLP hidden activation: {', '.join(sorted(ACTIVATIONS))} (default: "
        f"{base['activation']})",
    )
    flag(
        "--init",
        choices=INIT_SCHEMES,
        help="weight initialisation (default: PyTorch's for each layer)",
    )
    flag("--optimizer", choices=("sgd", "adam"), help=f"(default: {base['optimizer']})")
    flag("--lr", type=float, help=f"learning rate (default: {base['lr']})")
    flag("--momentum", type=float, help=f"SGD momentum, in [0, 1) (default: {base['momentum']})")
    flag(
        "--nesterov",
        action="store_true",
        default=None,
        help="SGD with Nesterov momentum (default: off)",
    )
    flag(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help=f"samples per step; with mpiexec, split over the processes (default: "
        f"{base['batch_size']})",
    )
    flag(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help=f"passes over the training data (default: {base['epochs']})",
    )
    flag(
        "--weight-decay",
        type=float,
        metavar="L2",
        help=f"L2 penalty added to each weight's gradient (default: {base['weight_decay']})",
    )
    flag("--l1", type=float, help=f"L1 penalty (default: {base['l1']})")
    flag(
        "--dropout",
        type=_fraction,
        metavar="P",
        help=f"dropout probability after each hidden layer (default: {base['dropout']})",
    )
    flag(
        "--clip-norm",
        type=float,
        metavar="MAX",
        help="rescale the gradients when their joint L2 norm exceeds MAX (default: no clipping)",
    )
    flag(
        "--lr-step",
        type=_positive_int,
        metavar="N",
        help="multiply the learning rate by --lr-gamma every N epochs (default: never)",
    )
    flag(
        "--lr-gamma",
        type=float,
        metavar="G",
        help=f"the factor of --lr-step (default: {base['lr_gamma']})",
    )
    flag(
        "--schedule",
        choices=SCHEDULES,
        help="learning-rate schedule: constant, step (--lr-step), cosine (to 0 over the run, "
        "per epoch) or onecycle (up to --lr and down, per batch) (default: constant; step when "
        "--lr-step is given)",
    )
    flag(
        "--val-split",
        type=_fraction,
        metavar="F",
        help=f"fraction of the training data held out for validation (default: "
        f"{base['val_split']})",
    )
    flag(
        "--early-stopping",
        type=_positive_int,
        metavar="N",
        help="stop after N epochs without a better validation loss, and keep the best "
        "weights (default: off)",
    )
    flag("--seed", type=int, help=f"seeds weights, shuffling and dropout (default: {base['seed']})")
    flag(
        "--out",
        metavar="DIR",
        type=_path,
        help="write DIR/metrics.json, DIR/model.npz and DIR/checkpoint.npz (default: nothing "
        "written)",
    )
    flag(
        "--overwrite", action="store_true",
        help="replace the run that --out DIR already holds (default: refuse)",
    )  # fmt: skip
    flag("--quiet", action="store_true", help="print only the final result")
    # ---- checkpoints, resume and the non-finite guard (train/checkpoint.py, train/guard.py)
    train.add_argument(
        "--checkpoint-every", type=_every, metavar="N|epoch",
        help="write DIR/checkpoint.npz every N steps or every epoch (default with --out: epoch)",
    )  # fmt: skip
    train.add_argument(
        "--resume", metavar="RUN_DIR", type=_path,
        help="continue the run of --out RUN_DIR where it stopped",
    )  # fmt: skip
    train.add_argument(
        "--on-nonfinite", choices=("stop", "skip", "rollback"),
        help="when the loss or a gradient is NaN/Inf: stop (default), skip the update, or roll "
        "back to the last good weights and cut the learning rate 10x",
    )  # fmt: skip
    train.add_argument(
        "--detect-anomaly", action="store_true", default=None,
        help="check every op's output for NaN/Inf (slow) and name the first op and layer",
    )  # fmt: skip
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy and confusion matrix")
    evaluate.add_argument("model_path", metavar="MODEL", help="a model file from train --out")
    _add_data_flags(evaluate, default="the model's own")
    _add_threads_flag(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    from .insight.model_summary import add_summary_command

    add_summary_command(commands)
    from .onnx.command import add_export_command

    add_export_command(commands)
    # --- insight (chainrule.insight): train --monitor/--plot; explain, gradcheck, demo, report ---
    _add_insight_train_flags(train)
    _add_insight_commands(commands)
    # --- end insight ---
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from .train.recipes import BASE_CONFIG, train_run

    overrides = {key: getattr(args, key) for key in BASE_CONFIG}
    out = Path(args.out) if args.out else None
    # ---- checkpoints, resume and the non-finite guard
    from .errors import TrainingInterrupted
    from .train.checkpoint import CheckpointConfig

    options = {
        "checkpoint_every": args.checkpoint_every,
        "on_nonfinite": args.on_nonfinite,
        "anomaly": args.detect_anomaly,
        "monitor_every": args.monitor_every if args.monitor else None,
    }
    if args.resume:
        out, overrides, options = _resume_settings(args, overrides, options)
        args.monitor = options["monitor_every"] is not None  # a monitored run stays monitored
        args.monitor_every = options["monitor_every"] or args.monitor_every
    elif options["checkpoint_every"] is not None and out is None:
        raise ConfigError("--checkpoint-every needs --out DIR (the checkpoint goes there)")
    checkpoint = None
    if out is not None:
        every = options["checkpoint_every"] or "epoch"
        checkpoint = CheckpointConfig(out / "checkpoint.npz", every)
    elif args.overwrite:
        raise ConfigError("--overwrite needs --out DIR (the run folder to replace)")
    # ---- end of checkpoints
    callbacks = _insight_train_callbacks(args)  # insight: --monitor (and --plot's checks)
    folder = None
    try:  # around the run folder, so that it sees how the run ended (train/run_folder.py)
        with contextlib.ExitStack() as held:
            if out is not None:  # refused if taken, locked for the run (rank 0)
                folder = _hold_run_folder(held, out, bool(args.resume), bool(args.overwrite))
            result = train_run(
                overrides,
                callbacks=callbacks,
                verbose=0 if args.quiet else 1,
                checkpoint=checkpoint,
                resume=bool(args.resume),
                on_nonfinite=options["on_nonfinite"] or "stop",
                anomaly=bool(options["anomaly"]),
                saved_options={"monitor_every": options["monitor_every"]},
            )
            if not _several_processes() or _is_main():
                _write_run(args, out, result, callbacks)
    except TrainingInterrupted as exc:  # every rank stops at the same step
        where = f"at epoch {exc.epoch}, step {exc.step}"
        return _interrupted(out, where, exc.path is not None, signum=exc.signal)
    except KeyboardInterrupt as exc:  # a second signal, or one outside training: stopped at once
        if _several_processes():
            raise  # the other ranks are inside the step: main() stops the job
        signum = getattr(exc, "signal", 2)
        if folder is not None and folder.gave_back:
            return _interrupted(out, "at once", False, signum=signum, gave_back=True)
        saved = checkpoint is not None and Path(checkpoint.path).exists()
        return _interrupted(out, "at once", saved, intact=True, signum=signum)
    return 0


def _hold_run_folder(
    held: contextlib.ExitStack, out: Path, resume: bool, overwrite: bool
) -> RunFolder | None:
    """Rank 0 takes the run folder (train/run_folder.py); every rank learns if it could not."""
    from .distributed import process_group as pg
    from .train.run_folder import RunFolder

    folder = RunFolder(out, resume=resume, overwrite=overwrite)
    if pg.is_main():
        pg.run_agreed(lambda: held.enter_context(folder), "output folder")
        return folder
    pg.agree(None, "output folder")
    return None


def _several_processes() -> bool:
    from .distributed import process_group as pg

    return pg.world_size() > 1


def _is_main() -> bool:
    from .distributed import process_group as pg

    return pg.is_main()


def _write_run(args: argparse.Namespace, out: Path | None, result: Any, callbacks: Any) -> None:
    """The run's summary, and its files (rank 0 only when several processes train)."""
    from .fileio import atomic_write_json
    from .serialization import save

    before = result.history.seconds_before
    resumed = f", {result.seconds - before:.1f} s of it since the resume" if before else ""
    print(
        f"test accuracy {result.test_accuracy:.4f}  test loss {result.test_loss:.4f}  "
        f"({len(result.history)} epochs, {result.seconds:.1f} s{resumed})"
    )
    insight = _insight_after_train(args, result, callbacks)  # insight: doctor, gradient flow
    if out is not None:
        save(result.model, out / "model.npz", metadata={"config": result.config})
        atomic_write_json(out / "metrics.json", {**result.metrics(), **insight})
        print(f"wrote {out / 'metrics.json'} and {out / 'model.npz'}")
        _insight_write_plots(args, out, result.history, insight)  # insight: --plot


def _interrupted(
    out: Path | None,
    when: str,
    saved: bool,
    intact: bool = False,
    signum: int = 2,
    gave_back: bool = False,
) -> int:
    """The one line of a stopped run; exit status 128 + the signal (130 Ctrl-C, 143 SIGTERM)."""
    import signal

    from .distributed import process_group as pg

    for ignored in (signal.SIGINT, signal.SIGTERM):  # exiting already: more signals change nothing
        signal.signal(ignored, signal.SIG_IGN)
    code = 128 + signum
    if not pg.is_main():
        return code
    by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    if gave_back:
        print(f"chainrule: interrupted{by} {when}; nothing saved, and {out} holds the run it "
              "held before, as it was", file=sys.stderr)  # fmt: skip
        return code
    if not saved or out is None:
        print(f"chainrule: interrupted{by} {when}; nothing saved (--out DIR makes a run "
              "resumable)", file=sys.stderr)  # fmt: skip
        return code
    what = "the last checkpoint is intact in" if intact else "checkpoint saved in"
    print(
        f"chainrule: interrupted{by} {when}; {what} {out / 'checkpoint.npz'}. "
        f"Resume with: chainrule train --resume {out}",
        file=sys.stderr,
    )
    return code


def _resume_settings(
    args: argparse.Namespace, overrides: dict[str, Any], options: dict[str, Any]
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The interrupted run's folder, settings and options, from its checkpoint's metadata.

    Only --epochs (to train longer), --data-dir (the same data, moved) and the safety options
    may change on resume: anything else would no longer continue the same run.
    """
    from .serialization import read_checkpoint_metadata

    run_dir = Path(args.resume)
    if args.out and Path(args.out).resolve() != run_dir.resolve():
        raise ConfigError("--resume RUN_DIR writes into RUN_DIR; drop --out")
    path = run_dir / "checkpoint.npz"
    if not path.is_file():
        raise ConfigError(
            f"--resume {run_dir}: no checkpoint.npz there (train with --out {run_dir} first)"
        )
    changed = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None]
    changed = [flag for flag in changed if flag not in ("--epochs", "--data-dir")]
    if changed:
        raise ConfigError(
            f"--resume continues with the run's saved settings: {', '.join(changed)} cannot "
            "change (only --epochs, and --data-dir where the same data has moved, can)"
        )
    metadata = read_checkpoint_metadata(path)
    config, saved_options = _saved_settings(metadata, path)
    if overrides["data_dir"] is not None:
        config["data_dir"] = overrides["data_dir"]
    if overrides["epochs"] is not None and overrides["epochs"] != config["epochs"]:
        if config.get("schedule") in ("onecycle", "cosine"):
            raise ConfigError(
                f"--epochs cannot change on resume of this run: its {config['schedule']} "
                f"learning-rate schedule was planned for {config['epochs']} epochs"
            )
        config["epochs"] = overrides["epochs"]
    merged = {k: v if v is not None else saved_options.get(k) for k, v in options.items()}
    return run_dir, config, merged


def _saved_settings(metadata: Any, path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the settings read from a checkpoint: known keys, each of its default's type."""
    from .errors import FormatError
    from .train.recipes import check_saved_config

    config = metadata.get("config") if isinstance(metadata, dict) else None
    options = metadata.get("options", {}) if isinstance(metadata, dict) else None
    if not isinstance(config, dict) or not isinstance(options, dict):
        raise FormatError(f"{path} holds no run settings (not written by chainrule train)")
    try:
        check_saved_config(config)
    except ConfigError as exc:
        raise FormatError(f"{path}: {exc}") from None
    every = options.get("checkpoint_every")
    if every is not None and every != "epoch" and not _is_count(every):
        raise FormatError(f"{path}: saved checkpoint_every {every!r} is not valid")
    monitor = options.get("monitor_every")
    if monitor is not None and not _is_count(monitor):
        raise FormatError(f"{path}: saved monitor_every {monitor!r} is not valid")
    return config, options


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _saved_data_settings(metadata: Any) -> dict[str, str]:
    """The data set and folder a model file was trained on, from its metadata; read from a
    file, so anything of another shape (a list, a string config) counts as nothing saved."""
    config = metadata.get("config") if isinstance(metadata, dict) else None
    if not isinstance(config, dict):
        return {}
    return {k: v for k, v in config.items() if k in ("dataset", "data_dir") and isinstance(v, str)}


def _check_fits(model: Any, data: Any, trained_on: str | None, path: str) -> None:
    """A model meets the data set's inputs and classes, or the mismatch is named as one of data
    sets (not as a layer's shapes)."""
    import numpy as np

    from .errors import ShapeError
    from .tensor import Tensor, no_grad

    was_training = model.training
    try:
        with no_grad():
            out = model.eval()(Tensor(np.asarray(data.x_test[:1], dtype=np.float32)))
    except ShapeError as exc:
        trained = f" was trained on {trained_on}" if trained_on else " does not take these inputs"
        raise ConfigError(
            f"{path}{trained}: {data.name}'s inputs are {tuple(data.x_test.shape[1:])} per "
            f"sample, which it cannot take ({exc}); evaluate it on the data set it was trained "
            "on"
        ) from None
    finally:
        model.train(was_training)
    outputs = out.shape[-1]
    if outputs != data.num_classes and not (outputs == 1 and data.num_classes == 2):
        raise ConfigError(
            f"{path} predicts {outputs} classes, {data.name} has {data.num_classes}; evaluate "
            "it on the data set it was trained on"
        )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .serialization import load, read_header
    from .train import confusion_matrix, evaluate
    from .train.metrics import format_confusion
    from .train.recipes import load_dataset, loss_for

    model = load(args.model_path)
    saved = _saved_data_settings(read_header(args.model_path).get("metadata"))
    dataset = args.dataset or saved.get("dataset") or "digits"
    data = load_dataset(dataset, args.data_dir or saved.get("data_dir"))
    _check_fits(model, data, saved.get("dataset"), args.model_path)
    loss_fn = loss_for(data, model)
    started = time.perf_counter()
    result = evaluate(model, loss_fn, data.x_test, data.y_test)
    seconds = time.perf_counter() - started
    counts = confusion_matrix(data.y_test, result["predictions"], data.num_classes)
    print(f"{dataset}: {len(data.x_test)} test samples, evaluated in {seconds:.2f} s")
    print(format_confusion(counts))
    print(f"test accuracy {result['accuracy']:.4f}  test loss {result['loss']:.4f}")
    return 0


# ------------------------------------------------------------------------------------ insight
# chainrule.insight on the command line: train --monitor/--plot and the doctor's findings;
# explain, gradcheck, demo and report. Each is a thin call into chainrule.insight.


def _add_insight_train_flags(train: argparse.ArgumentParser) -> None:
    train.add_argument(
        "--monitor",
        action="store_true",
        help="record gradient flow per layer (GradientMonitor) into metrics.json and diagnose it",
    )
    train.add_argument(
        "--monitor-every", type=_positive_int, default=10, metavar="K", help="sample every K steps"
    )
    train.add_argument(
        "--plot", action="store_true", help="write training (and gradient-flow) PNGs to --out"
    )


def _add_insight_commands(commands: Any) -> None:
    from .models import ACTIVATIONS
    from .train.recipes import DATASETS

    explain = commands.add_parser(
        "explain", help="forward and backward tables of the chain rule, with real numbers"
    )
    explain.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default="sigmoid", metavar="NAME",
        help="the hidden neurons' activation (default: sigmoid)",
    )  # fmt: skip
    explain.add_argument("--lr", type=float, default=0.1, help="learning rate of the one step")
    explain.add_argument("--seed", type=int, default=0, help="draws the worked example's weights")
    explain.add_argument(
        "--model", metavar="PATH", type=_path, help="a model file from train --out"
    )
    explain.add_argument("--sample", type=int, default=0, metavar="N", help="test sample index")
    explain.add_argument("--top", type=_positive_int, default=10, help="neurons shown per layer")
    explain.add_argument("--dataset", choices=DATASETS, help="default: the model's own")
    explain.add_argument(
        "--data-dir", type=_path, help="folder with the four MNIST-layout IDX files"
    )
    explain.add_argument(
        "--graph",
        metavar="OUT",
        type=_path,
        help="draw the worked example's autograd graph to OUT (.svg, .png or .dot)",
    )
    explain.set_defaults(handler=cmd_explain)

    check = commands.add_parser(
        "gradcheck", help="check backprop against finite differences on the built-in models"
    )
    check.add_argument(
        "--samples", type=_at_most(1024), default=4, metavar="N",
        help="random samples (a check costs two forward passes per element checked: 1..1024)",
    )  # fmt: skip
    check.add_argument("--seed", type=int, default=0, help="draws the models and samples")
    check.add_argument(
        "--max-elements", type=_positive_int, default=64, help="elements checked per tensor"
    )
    check.set_defaults(handler=cmd_gradcheck)

    demo = commands.add_parser("demo", help="see vanishing or exploding gradients, and cures")
    demo.add_argument("name", nargs="?", choices=tuple(DEMOS), help="the demo (none: list them)")
    demo.add_argument("--seed", type=int, default=0, help="draws the weights and the data")
    demo.add_argument(
        "--steps", type=_at_most(1000), metavar="T",
        help="demo rnn: sequence length, 2..1000 (default 60)",
    )  # fmt: skip
    demo.add_argument(
        "--plot", metavar="PATH", help="demo rnn: write the gradient per time step as a PNG"
    )
    demo.set_defaults(handler=cmd_demo)

    report = commands.add_parser(
        "report", help="doctor's findings, gradient-flow diagnosis and plots of a finished run"
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by train --out")
    report.add_argument("--no-plot", action="store_true", help="do not draw the PNGs")
    report.set_defaults(handler=cmd_report)


def _insight_train_callbacks(args: argparse.Namespace) -> list[Any]:
    """The train callbacks --monitor asks for; checks --plot before any training is spent."""
    if getattr(args, "plot", False):
        from .insight.plots import require_matplotlib

        if not args.out:
            raise ConfigError("--plot needs --out DIR to write its PNG files into")
        require_matplotlib()
    if not getattr(args, "monitor", False):
        return []
    from .insight import GradientMonitor

    return [GradientMonitor(every=args.monitor_every, verbose=False)]


def _insight_after_train(
    args: argparse.Namespace, result: Any, callbacks: list[Any]
) -> dict[str, Any]:
    """Print the monitor's diagnosis and the doctor's findings; return them for metrics.json."""
    from .insight import GradientMonitor, diagnose_history, doctor_report

    extra: dict[str, Any] = {}
    findings = diagnose_history(result.history)
    extra["doctor"] = [f.to_dict() for f in findings]
    monitor = next((c for c in callbacks if isinstance(c, GradientMonitor)), None)
    if monitor is not None:
        extra["gradient_flow"] = monitor.to_dict()
    if not args.quiet:
        if monitor is not None:
            print(monitor.report() or "gradient flow: healthy (nothing to report)")
        print(doctor_report(result.history, findings))
    return extra


def _insight_write_plots(
    args: argparse.Namespace, out: Path, history: Any, extra: dict[str, Any]
) -> None:
    if not getattr(args, "plot", False):
        return
    from .insight.plots import write_plots

    written = write_plots(out, history, extra.get("gradient_flow"))
    print("wrote " + " and ".join(str(p) for p in written))


def cmd_explain(args: argparse.Namespace) -> int:
    from .insight.drawing import explain_graph
    from .insight.explain import explain_model, explain_worked_example

    if args.model is None:
        print(explain_worked_example(args.activation, args.lr, args.seed))
        explain_graph(args)  # --graph OUT: draws the worked example's graph, prints "wrote OUT"
        return 0
    explain_graph(args)  # with --model, --graph is a ConfigError (it draws the worked example)
    from .serialization import load, read_header
    from .train.recipes import load_dataset, loss_for

    model = load(args.model)
    saved = _saved_data_settings(read_header(args.model).get("metadata"))
    dataset = args.dataset or saved.get("dataset") or "digits"
    data = load_dataset(dataset, args.data_dir or saved.get("data_dir"))
    if not 0 <= args.sample < len(data.x_test):
        raise ConfigError(
            f"--sample {args.sample} is out of range: {dataset} has {len(data.x_test)} test "
            f"samples (0..{len(data.x_test) - 1})"
        )
    title = f"{dataset} test sample {args.sample}: "
    explanation = explain_model(
        model,
        data.x_test[args.sample],
        int(data.y_test[args.sample]),
        loss_for(data, model),
        top=args.top,
        title=title,
    )
    print(explanation)
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .insight import checks

    archs = checks.builtin_architectures()
    failed = []
    for arch in archs:
        result = checks.check_architecture(
            arch, samples=args.samples, seed=args.seed, max_elements=args.max_elements
        )
        print(f"{arch.name}, cross-entropy on {args.samples} random samples:")
        print(result)
        print()
        if not result.passed:
            failed.append(arch.name)
    if failed:
        print(f"gradcheck FAILED for {', '.join(failed)}")
        return 1
    print(f"gradcheck passed for all {len(archs)} architectures")
    return 0


DEMOS = {
    "vanishing": "8 sigmoid layers: the gradient dies on its way back; then ReLU with He init",
    "exploding": "weights 1.5x too large: the gradient overflows; then clipping at the norm found",
    "rnn": "a tanh RNN and an LSTM recall the first of 60 symbols: the gradient over time",
}


def cmd_demo(args: argparse.Namespace) -> int:
    from .insight.demos import demo_exploding, demo_rnn, demo_vanishing

    if args.name is None:
        print("demos (chainrule demo NAME):")
        for name, what in DEMOS.items():
            print(f"  {name:<10} {what}")
        return 0
    if args.name == "rnn":
        steps = {} if args.steps is None else {"seq_len": args.steps}
        demo_rnn(seed=args.seed, plot=args.plot, **steps)
        return 0
    for flag, value in (("--steps", args.steps), ("--plot", args.plot)):
        if value is not None:
            raise ConfigError(f"{flag} is for `demo rnn`, not `demo {args.name}`")
    demo = demo_vanishing if args.name == "vanishing" else demo_exploding
    demo(seed=args.seed)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import json

    folder = Path(args.run_dir)
    path = folder / "metrics.json"
    from .fileio import open_regular

    try:
        with open_regular(path, limit=256 * 2**20) as handle:  # the largest run's are ~1 MB
            metrics = json.loads(handle.read())
    except FileNotFoundError:
        raise ChainruleError(
            f"{path} does not exist: give a folder written by train --out"
        ) from None
    except (OSError, ValueError) as exc:
        raise ChainruleError(f"cannot read {path}: {exc}") from exc
    try:
        return _report(args, folder, metrics)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ChainruleError(
            f"{path} is not the metrics of a chainrule train run ({type(exc).__name__}: {exc})"
        ) from None


def _report(args: argparse.Namespace, folder: Path, metrics: Any) -> int:
    from .insight import Finding, doctor_report, format_findings
    from .insight.plots import matplotlib_available, write_plots

    if not isinstance(metrics, dict) or not isinstance(metrics.get("history"), list):
        raise TypeError("expected an object with a list of epochs under 'history'")
    history = metrics.get("history") or []
    if not all(isinstance(e, dict) and "loss" in e for e in history):
        raise TypeError("each epoch in 'history' must be an object with a 'loss'")
    accuracy = metrics.get("test_accuracy")
    print(
        f"run {folder}: {metrics.get('model', '?')} on {metrics.get('dataset', '?')}, "
        f"{len(history)} epochs"
        + (f", test accuracy {accuracy:.4f}" if isinstance(accuracy, float) else "")
    )
    print(doctor_report(history))
    flow = metrics.get("gradient_flow")
    if flow:
        diagnosis = [Finding.from_dict(d) for d in flow.get("diagnosis", [])]
        print(format_findings(diagnosis, "gradient flow") or "gradient flow: healthy")
    else:
        print("gradient flow: not recorded (train with --monitor)")
    if args.no_plot or not history:
        return 0
    if not matplotlib_available():
        print("no plots: matplotlib is not installed (pip install 'chainrule[plot]')")
        return 0
    written = write_plots(folder, history, flow)
    print("wrote " + " and ".join(str(p) for p in written))
    return 0


# ------------------------------------------------------------------------------------ end insight


def main(argv: Sequence[str] | None = None) -> int:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (kill, systemd, Docker, batch schedulers) outside a training step: stop as a
    Ctrl-C would, so that cleanups run (an --overwrite's old run comes back, no temporary
    file stays); during training, fit() first finishes the step and saves a checkpoint."""
    from .errors import Terminated

    raise Terminated()


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)  # a usage error: help on stderr, as argparse's own
            return 2
        if getattr(args, "threads", None) is not None:
            from .threads import set_num_threads

            set_num_threads(args.threads)
        if args.command == "train":
            _join_processes()
        handler: Any = args.handler
        return int(handler(args))
    except ChainruleError as exc:
        _one_line(f"chainrule: error: {exc}", exc, 2)
        return 2
    except KeyboardInterrupt as exc:
        import signal

        for ignored in (signal.SIGINT, signal.SIGTERM):  # no traceback from one during exit
            signal.signal(ignored, signal.SIG_IGN)
        code = 128 + getattr(exc, "signal", signal.SIGINT)
        _one_line("chainrule: " + ("terminated (SIGTERM)" if code == 143 else "interrupted"),
                  exc, code)  # fmt: skip
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except MemoryError as exc:
        _one_line(f"chainrule: error: out of memory ({exc or 'an allocation failed'}); use a "
                  "smaller model or batch", exc, 2)  # fmt: skip
        return 2
    except OSError as exc:  # a path the system refused (too long, not a folder, no access)
        where = f": {exc.filename}" if exc.filename else ""
        _one_line(f"chainrule: error: {exc.strerror or exc}{where}", exc, 2)
        return 2


def _closed_pipe() -> int:
    """stdout's reader went away (``chainrule train | head -2``): stop quietly, as a Unix tool
    killed by SIGPIPE would (status 128 + 13). Python would otherwise print a traceback at exit
    when it flushes stdout once more."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


# ---- several processes (chainrule.distributed): mpiexec -n N chainrule train ...
def _join_processes() -> None:
    """Under mpiexec, join the job; ranks other than 0 print nothing on stdout."""
    from .distributed import process_group as pg

    if pg.launched_by_mpi():
        pg.init()
        if not pg.is_main():
            import os

            sys.stdout = open(os.devnull, "w")


def _one_line(text: str, error: BaseException, code: int) -> None:
    """The error's one line. Several processes: rank 0 prints an error that every rank raised
    at the same step; an error of one rank alone is printed with its rank and stops the job."""
    from .distributed import process_group as pg

    if pg.world_size() == 1:
        print(text, file=sys.stderr)
    elif getattr(error, "collective", False):
        if pg.is_main():
            print(text, file=sys.stderr)
    else:
        pg.fail(f"rank {pg.rank()}: {text.removeprefix('chainrule: error: ')}", code)


if __name__ == "__main__":
    sys.exit(main())
