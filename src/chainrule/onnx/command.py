"""``chainrule export MODEL --onnx OUT.onnx``: a model file from ``train --out`` as ONNX."""

from __future__ import annotations

import argparse
from typing import Any

from ..insight.model_summary import model_input_shape, shape_arg


def add_export_command(commands: Any) -> None:
    """Register the ``export`` subcommand on the CLI's subparsers."""
    export = commands.add_parser(
        "export", help="write a model file as ONNX (needs pip install 'chainrule[onnx]')"
    )
    export.add_argument("model_path", metavar="MODEL", help="a model file from train --out")
    export.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    export.add_argument(
        "--input-size", "--input-shape", dest="input_size", type=shape_arg, metavar="C,H,W",
        help="one sample's shape (default: that of the data set the model was trained on)",
    )  # fmt: skip
    export.set_defaults(handler=cmd_export)


def sample_shape(model: Any, metadata: Any) -> tuple[int, ...]:
    """One input sample's shape: what ``chainrule evaluate`` feeds the model (digits rows of 64,
    MNIST images (1, 28, 28)); an IDX set's is read from its files, and a model file that
    names no data set is measured by its first layers (as ``chainrule summary`` does)."""
    config = metadata.get("config") if isinstance(metadata, dict) else None
    dataset = config.get("dataset") if isinstance(config, dict) else None
    data_dir = config.get("data_dir") if isinstance(config, dict) else None
    if dataset == "idx" and isinstance(data_dir, str):
        from ..train.recipes import load_dataset

        return tuple(int(n) for n in load_dataset(dataset, data_dir).x_test.shape[1:])
    return model_input_shape(model, metadata)


def cmd_export(args: argparse.Namespace) -> int:
    import numpy as np

    from ..serialization import load, read_header
    from .exporter import OPSET, export

    model = load(args.model_path)
    shape = args.input_size or sample_shape(model, read_header(args.model_path).get("metadata"))
    export(model, np.zeros((1, *shape), dtype=np.float32), args.onnx)
    print(f"wrote {args.onnx} (opset {OPSET}, input (N, {', '.join(map(str, shape))}))")
    return 0
