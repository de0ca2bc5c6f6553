"""Model files: an architecture and its weights in one archive, rebuilt without running code."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .. import nn
from ..errors import ChainruleError, FormatError
from ..nn.module import AllocationError, allocation_budget, snapshot
from .architecture import build, describe
from .archive import FORMAT, VERSION, _Archive, _spec, _write_archive

SLACK_BYTES = 1 << 16
# Buffers that files written before they existed lack (the model keeps their initial value).
_ADDED_LATER = ("num_batches_tracked",)


def save_model(model: nn.Module, path: str | os.PathLike[str], metadata: Any = None) -> None:
    """Write ``model`` (architecture and weights) to ``path`` atomically.

    Args:
        model: a chainrule.nn layer or Sequential of them.
        metadata: JSON-able data stored beside the model (e.g. the training settings).

    Example:
        >>> import chainrule, tempfile, os
        >>> model = chainrule.nn.Sequential(chainrule.nn.Linear(4, 2), chainrule.nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> chainrule.save(model, path)
        >>> chainrule.load(path)[0].weight.shape
        (2, 4)
    """
    architecture = describe(model)
    state = snapshot(model)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "tensors": {name: _spec(array) for name, array in state.items()},
        "metadata": metadata if metadata is not None else {},
    }
    _write_archive(path, header, list(state.values()))


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed header.json of a model file (architecture, tensor table, metadata)."""
    with _Archive(path, FORMAT, VERSION) as archive:
        return archive.header


def load_model(path: str | os.PathLike[str]) -> nn.Module:
    """Read a model file written by ``save``: check every size, build, then fill the weights.

    Returns:
        The model in eval mode.

    Raises:
        FormatError: the file is missing, truncated, corrupted, foreign, of a newer format
            version, declares an unknown layer type, or its tensors disagree with the
            architecture; the message names the problem.
    """
    with _Archive(path, FORMAT, VERSION) as archive:
        header = archive.header
        table = header.get("tensors")
        if not isinstance(table, dict):
            raise FormatError(f"{path}: header has no 'tensors' table")
        try:
            # The layers may create no more than the file holds (and a little for counters
            # that older files lack), checked before they allocate.
            with allocation_budget(_declared_bytes(table, archive.file_size) + SLACK_BYTES):
                model = build(header.get("architecture"))
        except (AllocationError, MemoryError) as exc:
            raise FormatError(
                f"{path}: the architecture is larger than the file's tensors ({exc})"
            ) from None
        checked = archive.check_tensors(list(table.items()))
        float_dtypes = {str(d) for d, _, _ in checked if d.kind == "f"}
        if len(float_dtypes) > 1:
            raise FormatError(f"{path}: tensors mix the float dtypes {sorted(float_dtypes)}")
        expected = {k: v.shape for k, v in model.state_dict().items()}
        missing = [k for k in expected if k not in table and not k.endswith(_ADDED_LATER)]
        unexpected = [k for k in table if k not in expected]
        if missing or unexpected:
            raise FormatError(
                f"{path}: stored tensors do not match the architecture (missing {missing[:5]}, "
                f"unexpected {unexpected[:5]})"
            )
        for (name, _), (_, shape, _) in zip(table.items(), checked, strict=True):
            if tuple(shape) != expected[name]:
                raise FormatError(
                    f"{path}: tensor {name!r} has shape {list(shape)}, the architecture needs "
                    f"{list(expected[name])}"
                )
        if float_dtypes == {"float64"}:
            model.double()
        state = {
            name: archive.read_tensor(i, name, *spec)
            for i, (name, spec) in enumerate(zip(table, checked, strict=True))
        }
    try:
        model.load_state_dict(state, strict=not any(k not in state for k in expected))
    except (KeyError, ValueError, ChainruleError) as exc:
        raise FormatError(f"{path}: weights do not fit the architecture ({exc})") from exc
    model.eval()
    return model


def _declared_bytes(table: dict[str, Any], file_size: int) -> int:
    """The bytes the header says the file's tensors hold, at most the file's size."""
    total = 0
    for spec in table.values():
        try:
            shape = [int(d) for d in spec["shape"]]
            total += math.prod(shape) * np.dtype(str(spec["dtype"])).itemsize
        except (KeyError, TypeError, ValueError, OverflowError):
            continue  # check_tensors names what is wrong with it
        if total >= file_size:
            return file_size
    return min(total, file_size)
