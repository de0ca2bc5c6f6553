"""The ``chainrule`` command: one function per subcommand, each a thin call into the Python API.

Every ChainruleError (bad flag, missing data, unreadable file) becomes one line on stderr and
exit code 2; no usage block, no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import ChainruleError, ConfigError


class _Parser(argparse.ArgumentParser):
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


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value}")
    return value


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    from .train.recipes import DATASETS

    p.add_argument("--dataset", choices=DATASETS, help="default: digits (ships with chainrule)")
    p.add_argument("--data-dir", help="folder with the four MNIST-layout IDX files")


def build_parser() -> argparse.ArgumentParser:
    from .nn.init import INIT_SCHEMES
    from .train.recipes import MODELS

    parser = _Parser(prog="chainrule", description="Backpropagation on NumPy, made visible.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train a network (default: an MLP on the shipped digits)"
    )
    _add_data_flags(train)
    train.add_argument("--model", choices=MODELS)
    train.add_argument("--hidden", type=_int_list, help="hidden widths, e.g. 512,256")
    train.add_argument("--activation", choices=("relu", "sigmoid", "tanh"))
    train.add_argument("--init", choices=INIT_SCHEMES)
    train.add_argument("--optimizer", choices=("sgd", "adam"))
    train.add_argument("--lr", type=float)
    train.add_argument("--momentum", type=float)
    train.add_argument("--nesterov", action="store_true", default=None)
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--epochs", type=_positive_int)
    train.add_argument("--weight-decay", type=float, help="L2 penalty")
    train.add_argument("--l1", type=float, help="L1 penalty")
    train.add_argument("--dropout", type=_fraction)
    train.add_argument("--clip-norm", type=float, help="clip the gradient norm to this value")
    train.add_argument("--lr-step", type=_positive_int, help="multiply lr by --lr-gamma every N")
    train.add_argument("--lr-gamma", type=float)
    train.add_argument("--val-split", type=_fraction, help="validation fraction of train")
    train.add_argument("--early-stopping", type=_positive_int, metavar="N", help="patience")
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="write DIR/metrics.json and DIR/model.npz")
    train.add_argument("--quiet", action="store_true", help="print only the final result")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy and confusion matrix")
    evaluate.add_argument("model_path", metavar="MODEL", help="a model file from train --out")
    _add_data_flags(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)
    return parser


TRAIN_KEYS = (
    "dataset", "data_dir", "model", "hidden", "activation", "init", "optimizer", "lr",
    "momentum", "nesterov", "batch_size", "epochs", "weight_decay", "l1", "dropout", "clip_norm",
    "lr_step", "lr_gamma", "val_split", "early_stopping", "seed",
)  # fmt: skip


def cmd_train(args: argparse.Namespace) -> int:
    from .fileio import atomic_write_json
    from .serialization import save
    from .train.recipes import train_run

    overrides = {key: getattr(args, key) for key in TRAIN_KEYS}
    out = Path(args.out) if args.out else None
    if out is not None:
        _make_folder(out)
    result = train_run(overrides, verbose=0 if args.quiet else 1)
    print(
        f"test accuracy {result.test_accuracy:.4f}  test loss {result.test_loss:.4f}  "
        f"({len(result.history)} epochs, {result.seconds:.1f} s)"
    )
    if out is not None:
        save(result.model, out / "model.npz", metadata={"config": result.config})
        atomic_write_json(out / "metrics.json", result.metrics())
        print(f"wrote {out / 'metrics.json'} and {out / 'model.npz'}")
    return 0


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainruleError(f"cannot create output folder {path}: {exc.strerror}") from exc


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from .serialization import load, read_header
    from .train import confusion_matrix, evaluate
    from .train.recipes import load_dataset, loss_for

    model = load(args.model_path)
    saved = read_header(args.model_path).get("metadata", {}).get("config", {})
    dataset = args.dataset or saved.get("dataset") or "digits"
    data = load_dataset(dataset, args.data_dir or saved.get("data_dir"))
    loss_fn = loss_for(data, model)
    started = time.perf_counter()
    result = evaluate(model, loss_fn, data.x_test, data.y_test)
    seconds = time.perf_counter() - started
    counts = confusion_matrix(data.y_test, result["predictions"], data.num_classes)
    print(f"{dataset}: {len(data.x_test)} test samples, evaluated in {seconds:.2f} s")
    rows = [[f"true {i}", *row] for i, row in enumerate(counts)]
    headers = ["", *(f"pred {j}" for j in range(data.num_classes))]
    print(tabulate(rows, headers=headers))
    print(f"test accuracy {result['accuracy']:.4f}  test loss {result['loss']:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        handler: Any = args.handler
        return int(handler(args))
    except ChainruleError as exc:
        print(f"chainrule: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
