"""Files that never execute code on load: model files (architecture and weights), state files
(state_dicts and other nested tensors, in safetensors), and training checkpoints.

- ``archive``: the hardened zip archive that model files and checkpoints share;
- ``architecture``: a model's layer tree as JSON, from each layer's recorded config;
- ``model_file``: ``save_model`` / ``load_model``;
- ``state``: ``save_state`` / ``load_state`` (safetensors, readable by PyTorch);
- ``checkpoint``: the training loop's resumable state.

``save`` and ``load`` choose by what they are given and what the file holds, as ``torch.save``
and ``torch.load`` are called.
"""

from __future__ import annotations

import os
from typing import Any

from .. import nn
from ..errors import FormatError
from .architecture import LAYER_TYPES, build, describe
from .archive import ALLOWED_DTYPES, FORMAT, VERSION
from .checkpoint import (
    checkpoint_file,
    iter_arrays,
    load_checkpoint,
    read_checkpoint_metadata,
    save_checkpoint,
)
from .model_file import load_model, read_header, save_model
from .state import is_state_file, load_state, read_head, save_state


def save(obj: Any, f: Any, metadata: Any = None, **kwargs: Any) -> None:
    """Save a Module as a model file (architecture and weights; built-in layers only), or
    anything else (a state_dict, an optimizer's state, a dict of them with numbers) as a
    safetensors state file. Writes to a path atomically, or to a binary file object.

    Example (``torch.save(model.state_dict(), path)`` ports as it is):
        >>> import chainrule, tempfile, os
        >>> model = chainrule.nn.Sequential(chainrule.nn.Linear(4, 2), chainrule.nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
        >>> chainrule.save(model.state_dict(), path)
        >>> model.load_state_dict(chainrule.load(path))
        <All keys matched successfully>
    """
    # pickle_module, pickle_protocol, _use_new_zipfile_serialization: PyTorch's pickle options.
    if isinstance(obj, nn.Module):
        if hasattr(f, "write"):
            raise FormatError("a model file is written to a path, not to a file object")
        save_model(obj, f, metadata)
    else:
        save_state(obj, f, metadata)


def load(f: Any, map_location: Any = None, weights_only: Any = None, **kwargs: Any) -> Any:
    """What ``save`` wrote: a model (in eval mode) from a model file, the saved object (tensors
    as Tensors) from a state file, or the dict of tensors of any safetensors file. Nothing is
    ever unpickled: a PyTorch pickle (.pt/.pth from ``torch.save``) is refused with a message
    saying how to convert it. map_location and weights_only are accepted for PyTorch's sake."""
    head = read_head(f)
    if is_state_file(head):
        return load_state(f)
    if head[:4] == b"PK\x03\x04" and not hasattr(f, "read"):
        if _is_torch_pickle(head):
            raise FormatError(
                f"{os.fspath(f)} is a PyTorch pickle file (torch.save), which can run code when "
                "loaded: chainrule never unpickles. In PyTorch, save the state_dict with "
                "safetensors.torch.save_file(model.state_dict(), path) and load that"
            )
        return load_model(f)
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        raise FormatError(
            "this is a pickle file, which can run code when loaded: chainrule never unpickles"
        )
    if hasattr(f, "read"):
        raise FormatError("the file object holds no chainrule state file")
    return load_model(f)  # raises FormatError naming what is wrong


def _is_torch_pickle(head: bytes) -> bool:
    """Whether a zip's first member (its local header: name length at byte 26, name at 30) is
    PyTorch's ``<archive>/data.pkl``."""
    if len(head) < 30:
        return False
    length = int.from_bytes(head[26:28], "little")
    return head[30 : 30 + length].endswith(b"data.pkl")


__all__ = [
    "ALLOWED_DTYPES",
    "FORMAT",
    "LAYER_TYPES",
    "VERSION",
    "build",
    "checkpoint_file",
    "describe",
    "iter_arrays",
    "load",
    "load_checkpoint",
    "load_model",
    "load_state",
    "read_checkpoint_metadata",
    "read_header",
    "save",
    "save_checkpoint",
    "save_model",
    "save_state",
]
