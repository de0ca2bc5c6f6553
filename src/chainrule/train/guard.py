"""The non-finite guard: what fit() does when the loss or a gradient becomes NaN or infinite.

Policies (``fit(..., on_nonfinite=...)``, ``chainrule train --on-nonfinite``):
- ``'stop'`` (default): raise NonFiniteError naming where the first non-finite value appeared
  (a layer's output, a parameter, or a gradient such as ``'2.weight'``) and the step, and
  suggesting remedies. The last good checkpoint on disk is left as it was.
- ``'skip'``: drop this batch's update and go on.
- ``'rollback'``: restore the weights and optimizer state kept in memory (taken at the start of
  the epoch and at every checkpoint), cut the learning rate by 10x, and go on.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, NonFiniteError
from ..nn import Module
from ..nn.module import snapshot
from ..tensor import Tensor, _anomaly_hooks, no_grad
from .callbacks import Callback
from .state import TrainingState

POLICIES = ("stop", "skip", "rollback")
REMEDIES = (
    "try a lower learning rate (--lr), gradient clipping (--clip-norm), or normalised inputs "
    "(normalisation layers)"
)


def _finite(array: np.ndarray) -> bool:
    # A float64 sum is NaN or inf exactly when some element is (float32 values cannot overflow
    # it), and it costs no boolean mask of the array's size.
    return bool(np.isfinite(array.sum(dtype=np.float64)))


def describe_module(name: str, module: Module) -> str:
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        shape = f"{module.in_features} -> {module.out_features}"
        return f"layer '{name}' ({type(module).__name__}({shape}))"
    return f"layer '{name}' ({type(module).__name__}({module.extra_repr()}))"


def first_nonfinite_layer(model: Module, x: np.ndarray) -> str | None:
    """Run x through the model (eval mode, no graph, no anomaly checks, no random draws) and
    name the first layer whose output holds NaN or Inf."""
    names = {id(m): name for name, m in model.named_modules()}
    found: list[str] = []

    def hook(module: Module, inputs: tuple[Any, ...], output: Any) -> None:
        if not found and isinstance(output, Tensor) and output.array.dtype.kind == "f":
            if not _finite(output.array):
                found.append(describe_module(names[id(module)], module))

    leaves = [m for m in model.modules() if not m._modules]
    handles = [m.register_forward_hook(hook) for m in leaves]
    anomaly_hooks = list(_anomaly_hooks)
    _anomaly_hooks.clear()  # detect_anomaly would stop at the op, before the hook saw the layer
    was_training = model.training
    try:
        with no_grad(), np.errstate(all="ignore"):
            model.eval()(Tensor(np.asarray(x, dtype=np.float32)))
    finally:
        model.train(was_training)
        _anomaly_hooks.extend(anomaly_hooks)
        for handle in handles:
            handle.remove()
    return found[0] if found else None


class NonFiniteGuard:
    """Checks each step's loss and gradients; applies the policy when one is not finite."""

    def __init__(
        self,
        policy: str = "stop",
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        max_rollbacks: int = 10,
    ) -> None:
        if policy not in POLICIES:
            raise ConfigError(f"on_nonfinite must be one of {', '.join(POLICIES)}, got {policy!r}")
        self.policy, self.callbacks, self.verbose = policy, callbacks, verbose
        self.max_rollbacks = max_rollbacks
        self.rollbacks = 0
        self.max_notes = 5  # skipped updates told one by one; after that, counted per epoch
        self.snapshot: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None
        self.checkpoint_note = "no checkpoint was written"
        # Data-parallel fit (train/parallel.py): the loss checked is the whole batch's; this
        # rank's own is kept to say which rank's batch went wrong.
        self.parallel: Any = None
        self.local_loss: float | None = None

    # ---------------------------------------------------------------- rollback point
    def remember(self, state: TrainingState) -> None:
        """Keep the current weights and optimizer state in memory (rollback policy only)."""
        if self.policy == "rollback":
            self.snapshot = (snapshot(state.model), copy.deepcopy(state.optimizer.state_dict()))

    def saved_checkpoint(self, state: TrainingState, path: str) -> None:
        self.checkpoint_note = (
            f"the last good checkpoint (epoch {state.epoch}, step {state.step}) is kept in {path}"
        )
        self.remember(state)

    # ---------------------------------------------------------------- the check
    def check(self, state: TrainingState, loss: float) -> bool:
        """True: go on with the update. False: skip it ('skip', 'rollback'). Raises ('stop')."""
        if math.isfinite(loss) and all(
            p.grad is None or _finite(p.grad.array) for p in state.model.parameters()
        ):
            return True
        diagnosis = self.diagnose(state, loss) if self.parallel is None else self._agreed(state)
        if self.policy == "stop":
            raise self._error(diagnosis)
        state.records["nonfinite_steps"] = state.records.get("nonfinite_steps", 0) + 1
        if self.policy == "skip":
            skipped = state.records["nonfinite_steps"]
            if skipped <= self.max_notes:
                self._note(f"skipped the update: {diagnosis}")
            if skipped == self.max_notes:
                self._note("further skipped updates are counted in each epoch's line")
            state.optimizer.zero_grad()
            return False
        self.rollback(state, diagnosis)
        return False

    def _agreed(self, state: TrainingState) -> str:
        """Every rank's diagnosis of its own batch; the first rank whose loss went wrong names
        the cause (the gradients are already the average, the same everywhere)."""
        from ..distributed import process_group as pg

        local = self.local_loss if self.local_loss is not None else 0.0
        reports = pg.all_gather_object([math.isfinite(local), self.diagnose(state, local)])
        bad = [r for r, (finite, _) in enumerate(reports) if not finite]
        first = bad[0] if bad else 0
        return f"rank {first}: {reports[first][1]}"

    def check_epoch(self, state: TrainingState, logs: dict[str, Any], taken: bool) -> None:
        """A dead run is a failed run: raise when no step of the epoch was taken (every one
        skipped) or when the validation loss is not finite (weights that output NaN). The last
        good checkpoint is left as it was."""
        if not taken:
            raise self._error(
                f"no step of epoch {state.epoch} was taken: the loss or the gradients were NaN "
                "or Inf at every step, so the run cannot recover by skipping"
            )
        val_loss = logs.get("val_loss")
        if val_loss is not None and not math.isfinite(val_loss):
            raise self._error(
                f"the validation loss is {val_loss} after epoch {state.epoch}: the weights give "
                "non-finite outputs"
            )

    def anomaly(self, state: TrainingState, exc: NonFiniteError) -> NonFiniteError:
        """The error for detect_anomaly's stop inside the forward pass, with the layer named."""
        where = self._forward_culprit(state)
        where_text = f" in {where}" if where else " in the loss"
        return self._error(f"{exc}{where_text} at epoch {state.epoch}, step {state.step + 1}")

    def diagnose(self, state: TrainingState, loss: float) -> str:
        """Where the first non-finite value appeared: parameter, layer output or gradient."""
        model = state.model
        at = f"at epoch {state.epoch}, step {state.step + 1}"
        bad_params = [name for name, p in model.named_parameters() if not _finite(p.array)]
        if bad_params:
            return (
                f"parameter {_names(bad_params)} holds NaN or Inf {at} (the previous update "
                "overflowed)"
            )
        if not math.isfinite(loss):
            where = self._forward_culprit(state)
            if where:
                return (
                    f"loss became {loss} {at}: the first non-finite value is the output of {where}"
                )
            return f"loss became {loss} {at}: the model's outputs are finite, the loss is not"
        # Backward visits the layers from the last to the first: report in that order.
        bad_grads = [
            name
            for name, p in reversed(list(model.named_parameters()))
            if p.grad is not None and not _finite(p.grad.array)
        ]
        return (
            f"gradient of {_names(bad_grads)} became NaN or Inf {at} (loss {loss:.4g} is finite; "
            "first listed is the first reached by backward)"
        )

    def _forward_culprit(self, state: TrainingState) -> str | None:
        if state.batch is None:
            return None
        return first_nonfinite_layer(state.model, state.batch[0])

    def _error(self, diagnosis: str) -> NonFiniteError:
        error = NonFiniteError(f"{diagnosis}; {self.checkpoint_note}; {REMEDIES}")
        error.collective = self.parallel is not None  # data-parallel: every rank, at one step
        return error

    def rollback(self, state: TrainingState, diagnosis: str) -> None:
        self.rollbacks += 1
        if self.snapshot is None or self.rollbacks > self.max_rollbacks:
            reason = "no good state kept" if self.snapshot is None else "too many rollbacks"
            raise self._error(f"{diagnosis} ({reason}: {self.rollbacks - 1} so far)")
        optimizer = state.optimizer
        lrs = [group["lr"] for group in optimizer.param_groups]
        weights, optimizer_state = self.snapshot
        state.model.load_state_dict(weights)
        optimizer.load_state_dict(optimizer_state)
        optimizer.zero_grad()
        for group, lr in zip(optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr / 10
        for cb in self.callbacks:  # a schedule would otherwise reset the rate from its base
            scheduler = getattr(cb, "scheduler", None)
            if scheduler is not None and hasattr(scheduler, "base_lrs"):
                scheduler.base_lrs = [lr / 10 for lr in scheduler.base_lrs]
        self._note(
            f"rolled back to the last good weights and cut the learning rate to "
            f"{optimizer.param_groups[0]['lr']:.3g}: {diagnosis}"
        )

    def _note(self, text: str) -> None:
        if self.verbose > 0:
            print(f"chainrule: {text}", file=sys.stderr, flush=True)


def _names(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")
