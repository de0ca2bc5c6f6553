"""Devices. chainrule computes on the CPU; these names let PyTorch code that picks a device run
unchanged (``torch.device("cuda" if torch.cuda.is_available() else "cpu")``)."""

from __future__ import annotations

from typing import Any

from . import amp
from .errors import ChainruleError


class device:  # noqa: N801 (PyTorch's name)
    """A device name, as ``torch.device``: ``device("cpu")``, ``device("cuda", 0)``. Tensors live
    on the CPU only; moving one anywhere else is an error."""

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        text = str(type)
        if ":" in text:
            text, number = text.split(":", 1)
            index = int(number)
        if text not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise ChainruleError(f"unknown device {type!r} (chainrule runs on 'cpu')")
        self.type, self.index = text, index

    def __eq__(self, other: object) -> bool:
        try:
            other_device = device(other)  # type: ignore[arg-type]
        except (ChainruleError, ValueError):
            return False
        return (self.type, self.index) == (other_device.type, other_device.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


CPU = device("cpu")


def check_device(target: Any) -> None:
    """Accept the CPU in any spelling; refuse other devices with a message that says why."""
    if target is None:
        return
    if isinstance(target, int):
        target = device("cuda", target)
    if device(target).type != "cpu":
        raise ChainruleError(
            f"device {str(target)!r} is not available: chainrule computes on the CPU only "
            "(use 'cpu', or torch.cuda.is_available() to choose)"
        )


class _Cuda:
    """``chainrule.cuda``: no CUDA device is ever available."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        """Nothing to seed: chainrule.manual_seed covers every draw."""

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize(*args: Any) -> None:
        """Nothing runs asynchronously."""

    @staticmethod
    def empty_cache() -> None:
        """No device memory to release."""

    amp = amp  # torch.cuda.amp.GradScaler / autocast, the same pass-throughs as torch.amp


class _Flags:
    """A namespace of settings PyTorch scripts assign (``torch.backends.cudnn.benchmark``)."""

    def __init__(self, **flags: Any) -> None:
        self.__dict__.update(flags)

    @staticmethod
    def is_available() -> bool:
        return False


class _Backends:
    def __init__(self) -> None:
        self.cudnn = _Flags(enabled=False, benchmark=False, deterministic=False)
        self.mps = _Flags()
        self.cuda = _Flags()


cuda = _Cuda()
backends = _Backends()
