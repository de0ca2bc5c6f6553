"""``chainrule export MODEL --onnx OUT.onnx``: a model file from ``train --out`` as ONNX."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1,28,28, got {text!r}") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return dims


def add_export_command(commands: Any) -> None:
    """Register the ``export`` subcommand on the CLI's subparsers."""
    export = commands.add_parser(
        "export", help="write a model file as ONNX (needs pip install 'chainrule[onnx]')"
    )
    export.add_argument("model_path", metavar="MODEL", help="a model file from train --out")
    export.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    export.add_argument(
        "--input-shape",
        type=_shape,
        metavar="C,H,W",
        help="one sample's shape (default: that of the data set the model was trained on)",
    )
    export.set_defaults(handler=cmd_export)


def sample_shape(metadata: Any) -> tuple[int, ...]:
    """One input sample's shape, from the training config in a model file's metadata: what
    ``chainrule evaluate`` feeds the model (digits rows of 64, MNIST images (1, 28, 28))."""
    config = metadata.get("config") if isinstance(metadata, dict) else None
    dataset = config.get("dataset") if isinstance(config, dict) else None
    if not isinstance(dataset, str):
        raise ConfigError("the model file names no training data set; give --input-shape")
    if dataset == "mnist":
        return (1, 28, 28)  # without reading (or downloading) the 60,000 images
    from ..train.recipes import load_dataset

    data_dir = config.get("data_dir")
    data = load_dataset(dataset, data_dir if isinstance(data_dir, str) else None)
    return tuple(int(n) for n in data.x_test.shape[1:])


def cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from ..serialization import load, read_header
    from .exporter import OPSET, export

    model = load(args.model_path)
    shape = args.input_shape or sample_shape(read_header(args.model_path).get("metadata"))
    export(model, np.zeros((1, *shape), dtype=np.float32), args.onnx)
    print(f"wrote {args.onnx} (opset {OPSET}, input (N, {', '.join(map(str, shape))}))")
    return 0
