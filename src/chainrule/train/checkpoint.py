"""Checkpoints and Ctrl-C: everything fit() needs to continue a run bit for bit.

A checkpoint holds the model's weights and buffers, the optimizer state (momentum buffers, Adam
moments, learning rates), every callback's state (learning-rate schedule, EarlyStopping's
best/wait/best weights), chainrule's random generator, the DataLoader's position and generator,
the history, the epoch and step counters, the running sums and seconds of the current epoch and
a sha256 of the training data (a resume on other data is refused). It is one
file in the safe format of ``serialization`` (JSON header + .npy arrays, no pickle), written
atomically: the previous checkpoint stays intact until the new one is complete and fsynced.

Restoring all of it and continuing gives the same weights, to the bit, as a run that was never
interrupted (same seed, same machine).

During fit() a SIGINT handler replaces Python's: the first Ctrl-C lets the current step finish,
writes a checkpoint and raises TrainingInterrupted; a second one raises KeyboardInterrupt at
once (the last checkpoint is still good). The previous handler is restored when fit() ends.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from ..errors import ConfigError, FormatError, Terminated, TrainingInterrupted
from ..nn.module import snapshot
from ..random import get_rng_state, set_rng_state
from ..serialization import checkpoint_file, load_checkpoint, save_checkpoint
from .callbacks import Callback
from .guard import NonFiniteGuard
from .state import History, TrainingState


@dataclass
class CheckpointConfig:
    """Where and how often fit() writes its checkpoint.

    Args:
        path: the checkpoint file, or a folder (then FOLDER/checkpoint.npz).
        every: a number of optimizer steps, or 'epoch' (after every epoch).
        metadata: JSON-able data stored with it (``chainrule train`` keeps its settings here).
    """

    path: str | os.PathLike[str]
    every: int | str = "epoch"
    metadata: Any = None


def resolve(
    checkpoint: str | os.PathLike[str] | CheckpointConfig | None,
    checkpoint_every: int | str | None = None,
) -> CheckpointConfig | None:
    """fit()'s checkpoint arguments as one validated CheckpointConfig (or None)."""
    if checkpoint is None:
        if checkpoint_every is not None:
            raise ConfigError("checkpoint_every needs checkpoint=PATH (where to write it)")
        return None
    if not isinstance(checkpoint, CheckpointConfig):
        if not isinstance(checkpoint, str | os.PathLike):
            raise ConfigError(
                f"checkpoint must be a path or a CheckpointConfig, got {type(checkpoint).__name__}"
            )
        checkpoint = CheckpointConfig(checkpoint)
    every = checkpoint_every if checkpoint_every is not None else checkpoint.every
    if every != "epoch" and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ConfigError(
            f"checkpoint_every must be a positive number of steps or 'epoch', got {every!r}"
        )
    return CheckpointConfig(checkpoint_file(checkpoint.path), every, checkpoint.metadata)


# ----------------------------------------------------------------------------- capture/restore
def capture(
    state: TrainingState, callbacks: Sequence[Callback], rng_ranks: list[Any] | None = None
) -> dict[str, Any]:
    """The whole training state as nested JSON data and arrays (copies). A data-parallel run
    adds every rank's random generator (``rng_ranks``); the rest is the same on all ranks."""
    extra = {} if rng_ranks is None else {"rng_ranks": rng_ranks}
    if state.data_sha256 is not None:
        extra["data_sha256"] = state.data_sha256
    return {
        **extra,
        "model": snapshot(state.model),
        "optimizer": copy.deepcopy(state.optimizer.state_dict()),
        "rng": get_rng_state(),
        "loader": {
            **state.loader.state_dict(),
            "samples": len(state.loader.x),
            "batch_size": state.loader.batch_size,
        },
        "history": state.history.epochs,
        "epoch": state.epoch,
        "step": state.step,
        "epochs": state.epochs,
        "stop_training": state.stop_training,
        "in_epoch": state.in_epoch,
        "epoch_totals": {**state.epoch_totals, "seconds": state.epoch_seconds()}
        if state.in_epoch
        else dict(state.epoch_totals),
        "seconds": state.seconds(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state_dict()} for cb in callbacks],
    }


def _int(value: Any, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FormatError(f"{what} is {value!r}, not an integer >= {low}")
    return value


def _check_optimizer(saved: Any, state: TrainingState) -> None:
    """The saved groups must be this optimizer's, with settings its constructor accepts, and
    every saved buffer must have its parameter's shape (load_state_dict would broadcast)."""
    params = [p for group in state.optimizer.param_groups for p in group["params"]]
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        raise FormatError("optimizer state is missing")
    _check_groups(saved.get("param_groups"), state.optimizer)
    for key, entry in saved["state"].items():
        if not str(key).isdigit() or int(key) >= len(params) or not isinstance(entry, dict):
            raise FormatError(f"optimizer state for parameter {key!r} does not fit this model")
        for name, value in entry.items():
            if isinstance(value, np.ndarray) and value.shape != params[int(key)].shape:
                raise FormatError(
                    f"optimizer buffer {name!r} of parameter {key} has shape {value.shape}, the "
                    f"parameter {params[int(key)].shape}"
                )


def _check_groups(groups: Any, optimizer: Any) -> None:
    import inspect

    from ..nn import Parameter

    live = optimizer.param_groups
    kind = type(optimizer).__name__
    if not isinstance(groups, list) or len(groups) != len(live):
        count = len(groups) if isinstance(groups, list) else "no"
        raise FormatError(f"it holds {count} parameter groups, this {kind} {len(live)}")
    accepted = set(inspect.signature(type(optimizer).__init__).parameters) - {"self", "params"}
    for saved, current in zip(groups, live, strict=True):
        if not isinstance(saved, dict):
            raise FormatError("a parameter group is not an object")
        theirs, ours = set(saved) - {"params"}, set(current) - {"params"}
        if theirs != ours:
            raise FormatError(
                f"it was taken with another optimizer: its settings "
                f"{', '.join(sorted(theirs - ours))} are not {kind}'s, which has "
                f"{', '.join(sorted(ours - theirs))}; resume with the optimizer of the first run"
            )
        settings = {k: v for k, v in saved.items() if k in accepted}
        try:  # the constructor's own checks, on the values read from the file
            type(optimizer)([Parameter(np.zeros(1, np.float32))], **settings)
        except (ConfigError, TypeError, ValueError) as exc:
            raise FormatError(f"its {kind} settings are not valid: {exc}") from None


_TOTALS = {"loss": 0.0, "correct": 0, "seen": 0, "counted": 0, "seconds": 0.0}
# Settings and counts with a range (a forged 0 step_size would divide by zero mid-run).
_AT_LEAST = {"step_size": 1, "T_max": 1, "T_0": 1, "total_steps": 1, "patience": 0,
             "cooldown": 0, "every": 1, "seen": 0, "counted": 0, "correct": 0,
             "seconds": 0}  # fmt: skip


def _check_kinds(saved: Any, current: Any, what: str) -> None:
    """Values read back from a file must be of the kinds the live object holds: a number where
    a number is (finite, and an integer where an integer is), a string where a string is."""
    if current is None:
        return
    if isinstance(current, bool):
        ok = isinstance(saved, bool)
    elif isinstance(current, int | float):
        ok = isinstance(saved, int | float) and not isinstance(saved, bool)
        ok = ok and (not isinstance(current, int) or isinstance(saved, int))
        ok = ok and (math.isfinite(saved) or not math.isfinite(current))
    elif isinstance(current, str):
        ok = isinstance(saved, str)
    elif isinstance(current, dict):
        if not isinstance(saved, dict):
            raise FormatError(f"{what} is {saved!r}, not an object")
        for key in current.keys() & saved.keys():
            _check_kinds(saved[key], current[key], f"{what}.{key}")
            low = _AT_LEAST.get(key) if isinstance(key, str) else None
            if low is not None and isinstance(saved[key], int | float) and saved[key] < low:
                raise FormatError(f"{what}.{key} is {saved[key]!r}, below {low}")
        return
    elif isinstance(current, list | tuple):
        if not isinstance(saved, list | tuple):
            raise FormatError(f"{what} is {saved!r}, not a list")
        if len(saved) == len(current):
            for i, (a, b) in enumerate(zip(saved, current, strict=True)):
                _check_kinds(a, b, f"{what}[{i}]")
        return
    else:
        return
    if not ok:
        raise FormatError(f"{what} is {saved!r}, not a value like {current!r}")


def restore(
    saved: dict[str, Any], state: TrainingState, callbacks: Sequence[Callback], path: Any
) -> None:
    """Put a captured state back into the live model, optimizer, loader and callbacks."""
    try:
        _restore(saved, state, callbacks)
    except FormatError as exc:
        raise FormatError(f"{path} does not fit this training run: {exc}") from exc
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise FormatError(f"{path} does not fit this training run ({exc!r})") from exc


def _restore_rng(saved: dict[str, Any]) -> None:
    """This rank's generator; a checkpoint of a run on another number of processes continues
    with rank 0's on every rank (the data order is unchanged; dropout's draws are not)."""
    from ..distributed import process_group as pg

    ranks = saved.get("rng_ranks")
    world = pg.world_size()
    if isinstance(ranks, list) and len(ranks) == world:
        set_rng_state(ranks[pg.rank()])
        return
    if (world > 1 or ranks is not None) and pg.is_main():
        taken = len(ranks) if isinstance(ranks, list) else 1
        print(
            f"chainrule: note: the checkpoint was taken on {taken} process(es), this run has "
            f"{world}: the batches continue as they were, dropout's random draws differ from an "
            "uninterrupted run",
            file=sys.stderr,
        )
    set_rng_state(saved["rng"])


def _restore(saved: dict[str, Any], state: TrainingState, callbacks: Sequence[Callback]) -> None:
    weights = saved["model"]
    own = dict(state.model.named_parameters())
    for name, value in weights.items():
        if name in own and (not isinstance(value, np.ndarray) or value.dtype != own[name].dtype):
            raise FormatError(f"weight {name!r} is not a {own[name].dtype} array")
    state.model.load_state_dict(weights)
    _check_optimizer(saved["optimizer"], state)
    state.optimizer.load_state_dict(saved["optimizer"])
    loader = saved["loader"]
    if (loader["samples"], loader["batch_size"]) != (len(state.loader.x), state.loader.batch_size):
        raise FormatError(
            f"it was taken over {loader['samples']} samples in batches of {loader['batch_size']}, "
            f"this run has {len(state.loader.x)} in batches of {state.loader.batch_size}"
        )
    data = saved.get("data_sha256")  # absent from older checkpoints
    if state.data_sha256 is not None and data is not None and data != state.data_sha256:
        raise FormatError(
            "it was taken on other data (the training and validation data's sha256 differs); "
            "resume on the data the run began on"
        )
    if not 0 <= _int(loader["position"], "loader position") <= len(state.loader):
        raise FormatError(f"loader position {loader['position']} is past the epoch's end")
    state.loader.load_state_dict(loader)
    _restore_rng(saved)
    history = saved["history"]
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise FormatError("history is not a list of records")
    seconds = saved.get("seconds", 0.0)  # absent from older checkpoints
    _check_kinds({"seconds": seconds}, {"seconds": 0.0}, "checkpoint")
    state.history = History(history, seconds_before=float(seconds))
    state.epoch = _int(saved["epoch"], "epoch")
    state.step = _int(saved["step"], "step")
    state.stop_training = bool(saved["stop_training"])
    state.in_epoch = bool(saved["in_epoch"])
    totals = saved["epoch_totals"]
    _check_kinds(totals, _TOTALS, "epoch_totals")
    state.epoch_totals = totals
    pending = list(callbacks)
    for entry in saved["callbacks"]:
        kind, values = entry["type"], entry["state"]
        match = next((cb for cb in pending if type(cb).__name__ == kind), None)
        if match is None:
            if values:
                raise FormatError(
                    f"it holds the state of a {kind} callback that this run does not have; "
                    "pass the same callbacks as the interrupted run"
                )
            continue
        pending.remove(match)
        current = match.state_dict()
        unknown = set(values) - set(current)
        if unknown:
            raise FormatError(f"{kind} state has unknown entries {sorted(unknown)}")
        _check_kinds(values, current, kind)
        match.load_state_dict(values)


# ----------------------------------------------------------------------------- the checkpointer
class Checkpointer:
    """Writes checkpoints when due and turns the first Ctrl-C into a checkpoint and a clean stop.

    Used by fit() as a context manager around the loop (installs and restores the SIGINT
    handler); run_epochs calls after_step, after_epoch and at_train_end.
    """

    def __init__(
        self,
        config: CheckpointConfig | None,
        callbacks: Sequence[Callback],
        guard: NonFiniteGuard | None = None,
    ) -> None:
        self.config = config
        self.path = Path(config.path) if config is not None else None
        self.callbacks, self.guard = callbacks, guard
        self.last_saved: tuple[int, int] | None = None
        # requested: this process saw a Ctrl-C; interrupted: the run stops after this step (in a
        # data-parallel run, when any rank requested it: every rank stops at the same step).
        self.requested = self.interrupted = False
        self.parallel: Any = None
        self.signal = signal.SIGINT  # the signal that asked to stop
        self._previous_handlers: dict[int, Any] = {}

    # ---------------------------------------------------------------- files
    def save(self, state: TrainingState) -> None:
        if self.config is None or self.path is None:
            return
        from ..distributed import process_group as pg

        path, metadata = self.path, self.config.metadata
        rng_ranks = pg.all_gather_object(get_rng_state()) if pg.world_size() > 1 else None
        if pg.is_main():  # the one writer; every rank learns whether the write worked
            captured = capture(state, self.callbacks, rng_ranks)
            pg.run_agreed(lambda: save_checkpoint(path, captured, metadata), "checkpoint")
        else:
            pg.agree(None, "checkpoint")
        self.last_saved = (state.epoch, state.step)
        if self.guard is not None:
            self.guard.saved_checkpoint(state, str(self.path))

    def restore(self, state: TrainingState) -> None:
        """Continue from the checkpoint file (resume=True)."""
        if self.path is None:
            raise ConfigError("resume=True needs checkpoint=PATH (the checkpoint to continue)")
        from ..distributed import process_group as pg

        def read() -> None:
            if not self.path.exists():
                raise FormatError(f"no checkpoint to resume from: {self.path} does not exist")
            saved, _ = load_checkpoint(self.path)
            restore(saved, state, self.callbacks, self.path)

        pg.run_agreed(read, "resume")
        done = state.epoch - (1 if state.in_epoch else 0)
        if done > state.epochs:
            raise ConfigError(
                f"the checkpoint has finished {done} epochs: epochs={state.epochs} would end "
                f"before it; ask for at least {done}"
            )
        if state.stop_training and state.epoch < state.epochs and pg.is_main():
            print(
                f"chainrule: note: this run stopped early at epoch {state.epoch} (early "
                f"stopping): resuming it with epochs={state.epochs} trains no further; start a "
                "new run, or one with more patience",
                file=sys.stderr,
            )
        self.last_saved = (state.epoch, state.step)
        if self.guard is not None:
            self.guard.saved_checkpoint(state, str(self.path))

    # ---------------------------------------------------------------- the loop's calls
    def after_step(self, state: TrainingState) -> None:
        every = self.config.every if self.config is not None else None
        if isinstance(every, int) and state.step % every == 0:
            self.save(state)
        self._stop_if_interrupted(state)

    def after_epoch(self, state: TrainingState) -> None:
        if self.config is not None and self.config.every == "epoch":
            self.save(state)
        self._stop_if_interrupted(state)

    def at_train_end(self, state: TrainingState) -> None:
        """A last checkpoint of the finished run, so that resuming it changes nothing."""
        if self.config is not None and self.last_saved != (state.epoch, state.step):
            self.save(state)

    def _stop_if_interrupted(self, state: TrainingState) -> None:
        if not self.interrupted:
            return
        where = f"epoch {state.epoch}, step {state.step}"
        if self.path is None:
            stop = TrainingInterrupted(
                f"training interrupted at {where}; no checkpoint (pass checkpoint=PATH to fit)",
                None, state.epoch, state.step, self.signal,
            )  # fmt: skip
        else:
            if self.last_saved != (state.epoch, state.step):
                self.save(state)
            stop = TrainingInterrupted(
                f"training interrupted at {where}; checkpoint saved to {self.path}: continue "
                "with fit(..., checkpoint=PATH, resume=True)",
                str(self.path), state.epoch, state.step, self.signal,
            )  # fmt: skip
        stop.collective = self.parallel is not None  # data-parallel: every rank, at one step
        raise stop

    # ---------------------------------------------------------------- Ctrl-C and SIGTERM
    # SIGTERM is what kill, systemd, Docker, Kubernetes and batch schedulers send before they
    # force a stop: it is handled as the first Ctrl-C, so the progress since the last
    # checkpoint is saved.
    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.requested = True
        self.signal = signum
        if self.parallel is None:
            self.interrupted = True
        elif not self.parallel.rank == 0:
            return  # mpiexec passes a Ctrl-C to every rank: one message is enough
        what = "interrupt" if signum == signal.SIGINT else signal.Signals(signum).name
        again = "press Ctrl-C" if signum == signal.SIGINT else "signal"
        # os.write, not print: the handler may run in the middle of another print to stderr.
        os.write(
            2,
            f"chainrule: {what}: finishing this step, then saving a checkpoint and stopping "
            f"({again} again to stop at once)\n".encode(),
        )

    def __enter__(self) -> Checkpointer:
        if threading.current_thread() is threading.main_thread():
            self._previous_handlers = {}
            for signum in self.SIGNALS:
                previous = signal.getsignal(signum)
                signal.signal(signum, self._on_signal)
                self._previous_handlers[signum] = (
                    previous if previous is not None else signal.SIG_DFL
                )
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in getattr(self, "_previous_handlers", {}).items():
            signal.signal(signum, previous)
        self._previous_handlers = {}
