"""GradientMonitor: a fit() callback that records gradient flow per layer and diagnoses it.

On a sampled step (the first step of every epoch and every ``every``-th step) it records, for each
parameter (named as ``named_parameters`` names it, e.g. '2.weight'):

- grad_rms = ‖g‖/√n, the gradient per weight, so a wide layer does not look stronger merely for
  having more weights; grad_norm = ‖g‖; weight_norm = ‖w‖;
- update_ratio = ‖w_after - w_before‖/‖w_before‖ across optimizer.step() (about 1e-3 is the usual
  healthy order, after Karpathy's rule of thumb in CS231n);

and, from forward hooks on the activation modules, per ReLU the fraction of dead units (output 0
for every sample of the batch) and per sigmoid/tanh the fraction of saturated outputs (sigmoid
< 0.01 or > 0.99, |tanh| > 0.99), where the local derivative is nearly zero.

At the end of training ``diagnose`` reads the records and names vanishing or exploding gradients,
dead ReLUs and saturation in plain words, with remedies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..errors import ConfigError, FormatError, ShapeError
from ..functional import cross_entropy
from ..tensor import Tensor, is_grad_enabled, tensor
from ..train.callbacks import Callback
from ..train.state import TrainingState
from .findings import Finding, format_findings

_KINDS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}


def dead_fraction(output: Any) -> float:
    """Fraction of units whose output is 0 for every sample: axis 0 is the batch, axis 1 the unit
    (a feature, or a channel of an image), further axes are positions."""
    a = np.asarray(output.array if isinstance(output, Tensor) else output)
    if a.ndim < 2:
        return float(np.all(a == 0))
    per_unit = np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)  # (D, N·positions)
    return float(np.mean(np.all(per_unit == 0, axis=1)))


def saturated_fraction(output: Any, kind: str) -> float:
    """Fraction of outputs in the flat tails: sigmoid < 0.01 or > 0.99; tanh |a| > 0.99."""
    a = np.asarray(output.array if isinstance(output, Tensor) else output)
    if kind == "sigmoid":
        return float(np.mean((a < 0.01) | (a > 0.99)))
    if kind == "tanh":
        return float(np.mean(np.abs(a) > 0.99))
    raise ValueError(f"saturation is defined for sigmoid and tanh, not {kind!r}")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _round(value: float, digits: int = 1) -> float:
    """value to ``digits`` significant figures (a threshold a person would type)."""
    if value <= 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


class GradientMonitor(Callback):
    """Record gradient flow during fit() and diagnose it once at the end.

    Args:
        every: sample every ``every``-th step (and the first step of each epoch).
        verbose: print the diagnosis when training ends.
        vanishing_ratio: report vanishing gradients when the last weight layer's gradient RMS is
            at least this many times the first's.
        dead_threshold: report a ReLU layer when at least this fraction of its units is dead.
        saturation_threshold: report a sigmoid/tanh layer with this fraction saturated.

    After training: ``records`` (one dict per sampled step), ``epochs`` (per-epoch medians),
    ``diagnosis`` (a list of Findings), ``to_dict()`` for metrics.json, ``report()`` as text.
    """

    def __init__(
        self,
        every: int = 10,
        verbose: bool = True,
        vanishing_ratio: float = 100.0,
        dead_threshold: float = 0.5,
        saturation_threshold: float = 0.5,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive number of steps, got {every}")
        self.every, self.verbose = every, verbose
        self.vanishing_ratio = vanishing_ratio
        self.dead_threshold, self.saturation_threshold = dead_threshold, saturation_threshold
        self.records: list[dict[str, Any]] = []
        self.epochs: list[dict[str, Any]] = []
        self.diagnosis: list[Finding] = []
        self.error: str | None = None
        self._model: nn.Module | None = None
        self._handles: list[Any] = []
        self._sampling = False
        self._pending: dict[str, dict[str, Any]] = {}
        self._before: dict[str, np.ndarray] = {}
        self._grads: dict[str, dict[str, Any]] = {}
        self._epoch = 0

    # ------------------------------------------------------------------ fit() hooks
    def on_train_begin(self, state: TrainingState) -> None:
        self._model = state.model
        self._handles = []
        for name, module in state.model.named_modules():
            kind = _KINDS.get(type(module))
            if kind is not None:
                self._handles.append(module.register_forward_hook(self._hook(name, kind)))
        state.records["gradient_flow"] = self

    def _hook(self, name: str, kind: str) -> Any:
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Tensor) -> None:
            # Only the training forward of a sampled step: not validation, not other steps.
            if not (self._sampling and module.training and is_grad_enabled()):
                return
            if kind == "relu":
                self._pending[name] = {"kind": kind, "dead_fraction": dead_fraction(output)}
            else:
                self._pending[name] = {
                    "kind": kind,
                    "saturated_fraction": saturated_fraction(output, kind),
                }

        return hook

    def on_epoch_begin(self, state: TrainingState) -> None:
        self._epoch = state.epoch
        self._sampling = True  # the first step of every epoch

    def on_after_backward(self, state: TrainingState) -> None:
        if not self._sampling:
            return
        self._grads = self._gradient_stats(state.model)
        self._before = {name: p.array.copy() for name, p in state.model.named_parameters()}

    def on_batch_end(self, state: TrainingState) -> None:
        if self._sampling and self._grads:
            for name, p in state.model.named_parameters():
                before = self._before.get(name)
                if before is None or name not in self._grads:
                    continue
                change = float(np.linalg.norm((p.array - before).astype(np.float64)))
                size = float(np.linalg.norm(before.astype(np.float64)))
                self._grads[name]["update_ratio"] = change / size if size > 0 else math.inf
            self._append(state.epoch, state.step, self._grads, dict(self._pending))
        self._grads, self._before, self._pending = {}, {}, {}
        self._sampling = state.step % self.every == 0  # so steps 1, 1+every, ... are sampled

    def on_epoch_end(self, state: TrainingState, logs: dict[str, Any]) -> None:
        mine = [r for r in self.records if r["epoch"] == state.epoch]
        if not mine:
            return
        summary: dict[str, Any] = {"epoch": state.epoch, "parameters": {}, "activations": {}}
        for name in mine[0]["parameters"]:
            stats = [r["parameters"][name] for r in mine if name in r["parameters"]]
            summary["parameters"][name] = {
                key: _median([s.get(key) for s in stats])
                for key in ("grad_rms", "grad_norm", "weight_norm", "update_ratio")
            }
        for name, first in mine[0]["activations"].items():
            key = "dead_fraction" if first["kind"] == "relu" else "saturated_fraction"
            values = [r["activations"][name][key] for r in mine if name in r["activations"]]
            summary["activations"][name] = {"kind": first["kind"], key: float(np.mean(values))}
        self.epochs.append(summary)

    def on_train_end(self, state: TrainingState) -> None:
        self.finish()

    # ------------------------------------------------------------------ recording
    def _gradient_stats(self, model: nn.Module) -> dict[str, dict[str, Any]]:
        stats = {}
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            g = p.grad.array.astype(np.float64)
            norm = float(np.linalg.norm(g))
            stats[name] = {
                "grad_rms": norm / math.sqrt(max(g.size, 1)),
                "grad_norm": norm,
                "weight_norm": float(np.linalg.norm(p.array.astype(np.float64))),
                "finite": bool(np.isfinite(g).all()),
            }
        return stats

    def _append(
        self,
        epoch: int,
        step: int,
        parameters: dict[str, dict[str, Any]],
        activations: dict[str, dict[str, Any]],
    ) -> None:
        squares = sum(s["grad_norm"] ** 2 for s in parameters.values())
        self.records.append(
            {
                "epoch": epoch,
                "step": step,
                "total_grad_norm": math.sqrt(squares) if math.isfinite(squares) else math.inf,
                "parameters": parameters,
                "activations": activations,
            }
        )

    def finish(self, error: BaseException | str | None = None) -> list[Finding]:
        """Remove the hooks and diagnose; fit() calls it through on_train_end.

        Call it yourself when fit() raised (e.g. NonFiniteError): pass the error and the monitor
        also records the failing step's gradients, which are still on the model.
        """
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if error is not None:
            self.error = str(error)
            if self._model is not None:
                step = self.records[-1]["step"] + 1 if self.records else 1
                self._append(self._epoch, step, self._gradient_stats(self._model), {})
        self.diagnosis = self.diagnose()
        if self.verbose:
            print(self.report())
        return self.diagnosis

    # ------------------------------------------------------------------ diagnosis
    def weight_names(self) -> list[str]:
        """The weight matrices and kernels (not biases) in model order: the layers compared."""
        if self._model is not None:
            return [n for n, p in self._model.named_parameters() if p.ndim >= 2]
        first = self.records[0]["parameters"] if self.records else {}
        return [n for n in first if n.endswith("weight")]

    def layer_rms(self, epoch: int | None = None) -> dict[str, float]:
        """Median gradient RMS per weight over the records (of one epoch, or all)."""
        chosen = [r for r in self.records if epoch is None or r["epoch"] == epoch]
        return {
            name: _median([r["parameters"].get(name, {}).get("grad_rms") for r in chosen])
            for name in self.weight_names()
        }

    def diagnose(self) -> list[Finding]:
        """Findings about vanishing/exploding gradients, dead ReLUs and saturation."""
        return diagnose_records(
            self.records,
            self.weight_names(),
            error=self.error,
            vanishing_ratio=self.vanishing_ratio,
            dead_threshold=self.dead_threshold,
            saturation_threshold=self.saturation_threshold,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {'every', 'records', 'epochs', 'diagnosis', 'error'}; non-finite
        numbers become None (each parameter's 'finite' flag keeps the fact)."""
        return {
            "every": self.every,
            "weights": self.weight_names(),
            "records": _json_safe(self.records),
            "epochs": _json_safe(self.epochs),
            "diagnosis": [f.to_dict() for f in self.diagnosis],
            "error": self.error,
        }

    def report(self) -> str:
        return format_findings(self.diagnosis, "gradient flow")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The records so far, so that a resumed run's diagnosis covers the whole run."""
        return {"every": self.every, "records": self.records, "epochs": self.epochs,
                "epoch": self._epoch, "sampling": self._sampling}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Read back state_dict() (from a checkpoint file: each record's shape is checked)."""
        for kind in ("records", "epochs"):
            entries = state.get(kind, [])
            if not isinstance(entries, list) or not all(
                _is_record(e, kind == "records") for e in entries
            ):
                raise FormatError(f"GradientMonitor {kind} are not gradient-flow records")
        self.records, self.epochs = list(state.get("records", [])), list(state.get("epochs", []))
        self.every = state.get("every", self.every)
        self._epoch, self._sampling = state.get("epoch", 0), state.get("sampling", False)


def _is_number(value: Any, none: bool = True) -> bool:
    if value is None:
        return none
    return isinstance(value, int | float) and not isinstance(value, bool)


_ACTIVATION_KEY = {"relu": "dead_fraction", "sigmoid": "saturated_fraction",
                   "tanh": "saturated_fraction"}  # fmt: skip


def _is_record(record: Any, sampled: bool) -> bool:
    """A sampled step (``sampled``) or an epoch summary, as the monitor writes them: an integer
    epoch (and step), per parameter a dict of numbers, per activation its kind and fraction."""
    if not isinstance(record, dict) or not isinstance(record.get("epoch"), int):
        return False
    if sampled and not (
        isinstance(record.get("step"), int) and _is_number(record.get("total_grad_norm"), False)
    ):
        return False
    parameters, activations = record.get("parameters"), record.get("activations")
    if not isinstance(parameters, dict) or not isinstance(activations, dict):
        return False
    for stats in parameters.values():
        if not isinstance(stats, dict) or not all(
            isinstance(v, bool) if k == "finite" else _is_number(v) for k, v in stats.items()
        ):
            return False
    for stats in activations.values():
        key = _ACTIVATION_KEY.get(stats.get("kind")) if isinstance(stats, dict) else None
        if key is None or not _is_number(stats.get(key), False):
            return False
    return True


def _median(values: list[Any]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return _finite_or_none(value)
    return value


def diagnose_records(
    records: list[dict[str, Any]],
    weights: list[str],
    *,
    error: str | None = None,
    vanishing_ratio: float = 100.0,
    dead_threshold: float = 0.5,
    saturation_threshold: float = 0.5,
) -> list[Finding]:
    """The monitor's diagnosis from its records (also usable on a metrics.json's records)."""
    if not records:
        return []
    exploding = _exploding(records, error)
    findings = [] if exploding is None else [exploding]
    vanishing = _vanishing(records, weights, vanishing_ratio)
    if exploding is not None:
        return findings  # the root cause: dead or saturated units follow from it
    if vanishing is not None:
        findings.append(vanishing)
    findings += _activations(records, dead_threshold, saturation_threshold)
    return findings


def _vanishing(records: list[dict[str, Any]], weights: list[str], ratio: float) -> Finding | None:
    if len(weights) < 2:
        return None
    first, last = weights[0], weights[-1]
    last_epoch = records[-1]["epoch"]
    checks = []
    for label, chosen in (("over the run", records), ("in the last epoch", None)):
        chosen = chosen or [r for r in records if r["epoch"] == last_epoch]
        early = _median([r["parameters"].get(first, {}).get("grad_rms") for r in chosen])
        late = _median([r["parameters"].get(last, {}).get("grad_rms") for r in chosen])
        if math.isfinite(early) and math.isfinite(late) and late > 0:
            factor = math.inf if early == 0 else late / early
            checks.append((factor, label, early, late))
    if not checks:
        return None
    factor, label, early, late = max(checks)
    if factor < ratio:
        return None
    times = "infinitely" if math.isinf(factor) else f"{factor:,.0f}x"
    return Finding(
        "vanishing_gradients",
        f"Vanishing gradients: the first layer '{first}' gets gradients {times} weaker per weight "
        f"than the last layer '{last}' ({label}: RMS {early:.2g} vs {late:.2g}), so the early "
        "layers barely learn.",
        "use ReLU instead of sigmoid in the hidden layers, with He initialisation "
        "(--activation relu --init he): sigmoid's slope is at most 0.25, so every sigmoid layer "
        "shrinks the gradient. Keeping sigmoid/tanh, use Xavier initialisation, normalise the "
        "inputs and use fewer layers.",
    )


def _exploding(records: list[dict[str, Any]], error: str | None) -> Finding | None:
    norms = [r["total_grad_norm"] for r in records]
    finite = [n for n in norms if math.isfinite(n)]
    nonfinite_at = next(
        (
            r
            for r in records
            if not math.isfinite(r["total_grad_norm"])
            or not all(p.get("finite", True) for p in r["parameters"].values())
        ),
        None,
    )
    clip = suggest_clip_norm(records)
    remedy = (
        f"clip the gradient norm at about {clip:g} (--clip-norm {clip:g}: there one early step "
        "would have moved the weights by ~0.1% of their norm), or use a learning rate 10x lower; "
        "prefer He/Xavier initialisation to large random weights, and normalise the inputs."
    )
    if nonfinite_at is not None or error is not None:
        where = (
            f"at epoch {nonfinite_at['epoch']}, step {nonfinite_at['step']}"
            if nonfinite_at is not None
            else "before training ended"
        )
        grew = f"grew from {finite[0]:.3g} to {max(finite):.3g}" if finite else "blew up"
        if error:
            what = f"{grew}, then the {error.split(':')[0].rstrip('.')}"
        else:
            what = f"{grew} and became NaN or infinite {where}"
        return Finding(
            "exploding_gradients",
            f"Exploding gradients: the gradient norm {what}.",
            remedy,
        )
    if len(finite) < 3:
        return None
    start = float(np.median(finite[:3]))
    peak = max(finite)
    growth = peak / start if start > 0 else 0.0
    # A sustained run of doublings: the norm grows step over step, not by one spike.
    streak = longest = 0
    for a, b in itertools.pairwise(finite):
        streak = streak + 1 if a > 0 and b >= 2 * a else 0
        longest = max(longest, streak)
    if growth >= 100 or longest >= 4:
        return Finding(
            "exploding_gradients",
            f"Exploding gradients: the total gradient norm grew from {start:.3g} to {peak:.3g} "
            f"({growth:,.0f}x; at most {longest} doublings in a row between samples).",
            remedy,
        )
    return None


def suggest_clip_norm(records: list[dict[str, Any]]) -> float:
    """A clipping threshold from the first sampled steps: the gradient norm at which one step
    would change the weights by 0.1% of their norm (a healthy update/weight ratio), i.e.
    ‖g‖ · 1e-3 / (‖Δw‖/‖w‖), rounded to one significant figure; for plain SGD the update scales
    with the gradient, so clipping to this norm scales the step to that ratio."""
    estimates = []
    for record in records:
        params = [
            p
            for p in record["parameters"].values()
            if p.get("update_ratio") is not None and math.isfinite(p["update_ratio"])
        ]
        norm = record["total_grad_norm"]
        if not params or not math.isfinite(norm) or norm <= 0:
            continue
        change = math.sqrt(sum((p["update_ratio"] * p["weight_norm"]) ** 2 for p in params))
        size = math.sqrt(sum(p["weight_norm"] ** 2 for p in params))
        if change > 0 and size > 0:
            estimates.append(norm * 1e-3 / (change / size))
        if len(estimates) == 3:
            break
    if not estimates:
        finite = [r["total_grad_norm"] for r in records if math.isfinite(r["total_grad_norm"])]
        return _round(finite[0]) if finite else 1.0
    return _round(float(np.median(estimates)))


def _activations(
    records: list[dict[str, Any]], dead_threshold: float, saturation_threshold: float
) -> list[Finding]:
    last_epoch = records[-1]["epoch"]
    recent = [r for r in records if r["epoch"] == last_epoch and r["activations"]]
    if not recent:
        return []
    dead: list[tuple[str, float]] = []
    saturated: list[tuple[str, str, float]] = []
    for name, first in recent[-1]["activations"].items():
        if first["kind"] == "relu":
            value = float(np.mean([r["activations"][name]["dead_fraction"] for r in recent]))
            if value >= dead_threshold:
                dead.append((name, value))
        else:
            values = [r["activations"][name]["saturated_fraction"] for r in recent]
            value = float(np.mean(values))
            if value >= saturation_threshold:
                saturated.append((name, first["kind"], value))
    findings = []
    if dead:
        where = ", ".join(f"'{n}' {v:.0%}" for n, v in dead)
        findings.append(
            Finding(
                "dead_relu",
                f"Dead ReLUs: in the last epoch these ReLU layers had units that output 0 for "
                f"every sample of the batch: {where}. A dead unit passes no gradient and "
                "cannot recover.",
                "lower the learning rate, use He initialisation, normalise the inputs, or try "
                "LeakyReLU.",
            )
        )
    if saturated:
        where = ", ".join(f"'{n}' ({k}) {v:.0%}" for n, k, v in saturated)
        findings.append(
            Finding(
                "saturation",
                f"Saturated units: this share of outputs sits in the flat tails where f'(z) ≈ 0: "
                f"{where}.",
                "use Xavier initialisation for sigmoid/tanh (or ReLU with He), normalise the "
                "inputs, and lower the learning rate.",
            )
        )
    return findings


# ---------------------------------------------------------------------------- over time steps
@dataclass
class TimeGradient:
    """The gradient reaching each time step of a sequence model, and its diagnosis.

    ``norms[t]`` is the batch mean of ‖∂L_i/∂x_{i,t}‖ (t = 0 is step 1); ``ratio`` is
    norms[0]/norms[-1]; ``horizon`` how many steps back from the last the gradient still arrives:
    the distance to the earliest step whose norm is at least ``threshold`` × the last step's
    (None when step 1 itself is: the gradient spans the whole sequence).
    """

    norms: np.ndarray
    ratio: float
    horizon: int | None
    threshold: float
    finding: Finding


def gradient_over_time(
    model: nn.Module,
    inputs: Any,
    targets: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    *,
    batch_first: bool = True,
    threshold: float = 1e-3,
    name: str = "the network",
) -> TimeGradient:
    """Measure how much gradient reaches each time step of a sequence, and diagnose it.

    The inputs are made a leaf that requires grad, one forward and backward pass runs, and the
    gradient reaching step t is ‖∂L_i/∂x_{i,t}‖ (the norm over the features of sample i at step
    t), averaged over the batch. The default loss is cross_entropy with reduction='sum', so each
    sample's gradient is that of its own loss, not divided by the batch size; a ``loss_fn`` of
    your own should sum too. Through x_t the gradient is W_ihᵀ times the gradient reaching the
    recurrence at step t, so its decay over t is that of backpropagation through time.

    The model's parameter gradients are left as they were. ``batch_first`` says whether the
    inputs are (batch, time, features) or (time, batch, features).
    """
    x = np.asarray(inputs.array if isinstance(inputs, Tensor) else inputs)
    if x.ndim != 3:
        layout = "(batch, time, features)" if batch_first else "(time, batch, features)"
        raise ShapeError(f"gradient_over_time: expected inputs {layout}, got shape {x.shape}")
    if x.shape[1 if batch_first else 0] < 2:
        raise ShapeError(f"gradient_over_time: need at least 2 time steps, got shape {x.shape}")
    saved = {name_: p.grad for name_, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = None
    try:
        leaf = tensor(x, requires_grad=True)
        output = model(leaf)
        target = targets if isinstance(targets, Tensor) else tensor(np.asarray(targets))
        if loss_fn is None:
            loss = cross_entropy(output, target, reduction="sum")
        else:
            loss = loss_fn(output, target)
        loss.backward()
        grad = leaf.grad.array if leaf.grad is not None else np.zeros_like(x)
    finally:
        for name_, p in model.named_parameters():
            p.grad = saved.get(name_)
    per_sample = np.linalg.norm(grad.astype(np.float64), axis=2)  # (batch, time) or (time, batch)
    norms = per_sample.mean(axis=0 if batch_first else 1)
    return diagnose_over_time(norms, threshold=threshold, name=name)


def diagnose_over_time(
    norms: Any, *, threshold: float = 1e-3, name: str = "the network"
) -> TimeGradient:
    """Diagnose per-step gradient norms (step 1 first): 'vanishing_over_time' when step 1 gets
    less than ``threshold`` × the last step's gradient, else 'healthy'.

    The horizon counts back to the earliest step still above the threshold rather than to the
    first dip: an LSTM that has learned to shut its input gate on distractor symbols gets little
    gradient at their steps, while the step it must remember still gets plenty.
    """
    values = np.asarray(norms, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ShapeError(
            f"diagnose_over_time: need one norm per time step (≥ 2), got {values.shape}"
        )
    if not 0 < threshold < 1:
        raise ConfigError(f"diagnose_over_time: threshold must be in (0, 1), got {threshold}")
    steps = values.size
    last = float(values[-1])
    if not (math.isfinite(last) and last > 0):
        finding = Finding(
            "no_gradient_over_time",
            f"{name}: the gradient at the last step {steps} is {last:g}: nothing to compare the "
            "earlier steps with.",
        )
        return TimeGradient(values, math.nan, None, threshold, finding)
    ratio = float(values[0]) / last
    earliest = int(np.argmax(values >= threshold * last))  # the last step itself qualifies
    horizon = None if earliest == 0 else steps - 1 - earliest
    if horizon is None:
        finding = Finding(
            "healthy",
            f"{name}: the gradient reaching step 1 is {ratio:.2g}x the gradient at step {steps}; "
            f"at least {threshold:g} of the last step's reaches back across all {steps} steps.",
        )
    else:
        finding = Finding(
            "vanishing_over_time",
            f"{name}: the gradient reaching step 1 is {ratio:.1e} of the gradient at step "
            f"{steps}; more than {horizon} steps back it is below {threshold:g} of it, so "
            f"{name} cannot learn dependencies longer than ~{horizon} steps.",
            "use an LSTM or GRU, whose additive cell state carries the gradient back (with the "
            "forget-gate bias at 1), or shorten the dependencies; clipping only treats exploding "
            "gradients.",
        )
    return TimeGradient(values, ratio, horizon, threshold, finding)
