"""The one random generator that initialisers and dropout draw from, as ``torch.manual_seed``."""

from __future__ import annotations

from typing import Any

import numpy as np

_initial_seed = int(np.random.SeedSequence().entropy % (2**63))
_generator = np.random.default_rng(_initial_seed)


def manual_seed(seed: int) -> np.random.Generator:
    """Seed chainrule's generator: same seed, same weights, same dropout masks, same results.

    As PyTorch's: any integer in [-2⁶³, 2⁶⁴), a negative one taken modulo 2⁶⁴."""
    global _generator, _initial_seed
    value = seed_value(seed)
    _initial_seed = value
    _generator = np.random.default_rng(value)
    return _generator


def numpy_generator(seed: Any) -> np.random.Generator:
    """A NumPy generator for a seed in PyTorch's range (a negative one modulo 2⁶⁴)."""
    return np.random.default_rng(seed_value(seed))


def seed_value(seed: Any) -> int:
    """A seed in PyTorch's range [-2**63, 2**64) as the generator takes it (modulo 2**64)."""
    from .errors import ConfigError

    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise ConfigError(f"a seed must be an integer, got {seed!r}") from None
    if not -(2**63) <= value < 2**64:
        raise ConfigError(f"a seed must be in [-2**63, 2**64), got {value}")
    return value % 2**64


def initial_seed() -> int:
    """The seed the generator was last seeded with."""
    return _initial_seed


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's state as JSON-able data (for checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict[str, Any]) -> None:
    _generator.bit_generator.state = state


def seed() -> int:
    """Seed the generator from the operating system's entropy; return the seed used."""
    value = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(value)
    return value


class Generator:
    """A private stream of random numbers, as ``torch.Generator``: pass it as ``generator=`` to
    draws (rand, randperm, DataLoader shuffles) that must not touch the global one."""

    def __init__(self, device: Any = "cpu") -> None:
        self._seed = 67280421310721  # PyTorch's default seed
        self.numpy = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = seed_value(seed)
        self.numpy = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> Generator:
        self.numpy.bit_generator.state = state
        return self


def generator_of(generator: Generator | np.random.Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one's, or chainrule's global one."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator.numpy
    return generator
