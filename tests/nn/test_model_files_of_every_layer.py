"""Every layer that chainrule.nn exports is described by its recorded config: it round-trips
through a model file (same repr, same tensors), with nothing listed by hand in serialization;
one that needs a Module argument (TransformerEncoder's encoder_layer) is refused clearly."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule import models, nn
from chainrule.errors import FormatError
from chainrule.serialization import LAYER_TYPES, load, save

# Values for the constructor arguments that have no default (a layer's sizes).
SAMPLE = {
    "input_size": 3, "hidden_size": 4, "output_size": 2, "kernel_size": 2, "num_features": 4,
    "in_channels": 4, "out_channels": 2, "num_embeddings": 5, "embedding_dim": 3,
    "num_groups": 2, "num_channels": 4, "normalized_shape": 4, "in_features": 3,
    "out_features": 2, "embed_dim": 4, "num_heads": 2, "upscale_factor": 2,
    "downscale_factor": 2, "threshold": 0.1, "value": 0.0, "dim": 1, "unflattened_size": (2, 2),
    "mode": "LSTM", "bias": True, "num_chunks": 4, "d_model": 4, "nhead": 2, "num_layers": 2,
    "padding": 1, "in1_features": 3, "in2_features": 2, "size": 3, "groups": 2,
    "norm_type": 2, "inplanes": 4, "planes": 4,
}  # fmt: skip

# Layers whose defaults build a large model, built small instead.
SMALL = {
    "Transformer": {"d_model": 4, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1,
                    "dim_feedforward": 8},
}  # fmt: skip

# Required arguments that are Modules (the layer to stack): a model file stores JSON values
# only, so a layer that needs one cannot be described and saving it must raise FormatError.
MODULE_SAMPLES = {
    "encoder_layer": lambda: nn.TransformerEncoderLayer(4, 2, 8),
    "decoder_layer": lambda: nn.TransformerDecoderLayer(4, 2, 8),
}


def required(cls: type[nn.Module]) -> list[str]:
    return [
        name
        for name, param in inspect.signature(cls).parameters.items()
        if param.default is param.empty
        and param.kind in (param.POSITIONAL_OR_KEYWORD, param.POSITIONAL_ONLY)
    ]


DESCRIBABLE = sorted(
    name for name, cls in LAYER_TYPES.items() if not set(required(cls)) & set(MODULE_SAMPLES)
)
NEEDS_A_MODULE = sorted(set(LAYER_TYPES) - set(DESCRIBABLE))


def build(cls: type[nn.Module]) -> nn.Module:
    args: dict[str, Any] = dict(SMALL.get(cls.__name__, {}))
    for name in required(cls):
        args[name] = MODULE_SAMPLES[name]() if name in MODULE_SAMPLES else SAMPLE[name]
    return cls(**args)


@pytest.mark.parametrize("name", DESCRIBABLE)
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


@pytest.mark.parametrize("name", NEEDS_A_MODULE)
def test_layer_built_from_a_module_is_refused_clearly(name: str, tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=f"cannot save {name}: .* cannot store"):
        save(build(LAYER_TYPES[name]), tmp_path / "layer.npz")
    assert not (tmp_path / "layer.npz").exists()


def test_every_layer_of_nn_and_of_the_built_in_models_is_registered() -> None:
    exported = {
        name
        for name in nn.__all__
        if isinstance(getattr(nn, name), type)
        and issubclass(getattr(nn, name), nn.Module)
        and "Loss" not in name
        and getattr(nn, name) is not nn.Module
    }
    exported |= {cls.__name__ for cls in models.LAYERS}
    assert exported == set(LAYER_TYPES)
