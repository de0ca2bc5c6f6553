"""Every layer that chainrule.nn exports is described by its recorded config: it round-trips
through a model file (same repr, same tensors), with nothing listed by hand in serialization."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule import nn
from chainrule.serialization import LAYER_TYPES, load, save

# Values for the constructor arguments that have no default (a layer's sizes).
SAMPLE = {
    "input_size": 3, "hidden_size": 4, "output_size": 2, "kernel_size": 2, "num_features": 4,
    "in_channels": 4, "out_channels": 2, "num_embeddings": 5, "embedding_dim": 3,
    "num_groups": 2, "num_channels": 4, "normalized_shape": 4, "in_features": 3,
    "out_features": 2, "embed_dim": 4, "num_heads": 2, "upscale_factor": 2,
    "downscale_factor": 2, "threshold": 0.1, "value": 0.0, "dim": 1, "unflattened_size": (2, 2),
    "mode": "LSTM", "bias": True, "num_chunks": 4,
}  # fmt: skip


def build(cls: type[nn.Module]) -> nn.Module:
    signature = inspect.signature(cls)
    args: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if param.default is param.empty and param.kind in (
            param.POSITIONAL_OR_KEYWORD,
            param.POSITIONAL_ONLY,
        ):
            args[name] = SAMPLE[name]
    return cls(**args)


@pytest.mark.parametrize("name", sorted(LAYER_TYPES))
def test_layer_round_trips_through_a_model_file(name: str, tmp_path: Path) -> None:
    layer = build(LAYER_TYPES[name])
    path = tmp_path / "layer.npz"
    save(layer, path)
    loaded = load(path)
    assert type(loaded) is type(layer) and repr(loaded) == repr(layer)
    theirs, mine = loaded.state_dict(), layer.state_dict()
    assert list(theirs) == list(mine)
    for key in mine:
        np.testing.assert_array_equal(theirs[key].numpy(), mine[key].numpy(), err_msg=key)


def test_every_layer_of_nn_is_registered() -> None:
    exported = {
        name
        for name in nn.__all__
        if isinstance(getattr(nn, name), type)
        and issubclass(getattr(nn, name), nn.Module)
        and "Loss" not in name
        and getattr(nn, name) is not nn.Module
    }
    assert exported == set(LAYER_TYPES)
