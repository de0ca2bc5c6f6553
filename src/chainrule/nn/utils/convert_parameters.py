"""Parameters as one flat vector and back, as torch.nn.utils.parameters_to_vector."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import ShapeError
from ...tensor import Tensor, bump_version, concatenate


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated in order, a 1-D tensor (differentiable)."""
    return concatenate([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, each reshaped to its shape.

    chainrule copies into each parameter's memory (PyTorch points ``param.data`` at a view of
    ``vec``): the values are the same, and optimisers keep the parameters they hold.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a Tensor, but got: {type(vec).__name__}")
    flat = vec.array.reshape(-1)
    pointer = 0
    for p in parameters:
        count = p.numel()
        if pointer + count > flat.size:
            raise ShapeError(
                f"vector_to_parameters: the vector has {flat.size} elements, the parameters "
                f"need at least {pointer + count}"
            )
        p.array[...] = flat[pointer : pointer + count].reshape(p.shape)
        bump_version(p)
        pointer += count
