"""The training doctor: read a run's per-epoch history and name what went wrong, in plain words.

It looks for, in this order:

- a learning-rate problem: the training loss diverging (non-finite, or ending well above its
  minimum), oscillating (rising in many epochs), or barely moving while accuracy is low;
- underfitting: training accuracy low and flat (or still climbing when training stopped);
- overfitting: validation loss rising while training loss falls, with the epoch where it turned.

Each finding carries a concrete next step (a learning rate k times lower or higher, more epochs or
capacity, L2/dropout/early stopping at epoch N). A healthy run gives no findings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..train.callbacks import Callback
from ..train.metrics import format_loss
from ..train.state import TrainingState
from .findings import Finding, format_findings

HistoryLike = Any  # a History, a list of per-epoch dicts, or a dict of columns


def _epochs(history: HistoryLike) -> list[dict[str, Any]]:
    if hasattr(history, "epochs"):
        return list(history.epochs)
    if isinstance(history, dict):  # Keras-style columns
        n = max((len(v) for v in history.values()), default=0)
        return [{k: v[i] for k, v in history.items() if i < len(v)} for i in range(n)]
    return list(history)


def _column(epochs: list[dict[str, Any]], key: str) -> list[float] | None:
    """The key's values over the epochs; None when an epoch lacks it. A null (strict JSON's
    spelling of NaN or Inf in metrics.json) reads as NaN."""
    if any(key not in e for e in epochs):
        return None
    return [math.nan if e[key] is None else float(e[key]) for e in epochs]


def _lr(epochs: list[dict[str, Any]]) -> float | None:
    value = epochs[-1].get("lr")
    return float(value) if value is not None else None


def _lr_flag(lr: float | None, factor: float) -> str:
    if lr is None:
        return ""
    return f" (--lr {float(f'{lr * factor:.1g}'):g})"


def diagnose_history(
    history: HistoryLike, low_accuracy: float = 0.9, overfit_rise: float = 0.05
) -> list[Finding]:
    """Findings about a finished run; an empty list when it looks healthy.

    Args:
        history: fit()'s History, ``history.epochs``, or metrics.json's "history" list; each
            epoch has 'loss' and optionally 'accuracy', 'val_loss', 'val_accuracy', 'lr'.
        low_accuracy: training accuracy below this counts as not fitting the training data.
        overfit_rise: validation loss this fraction above its minimum counts as rising.

    Returns:
        Findings of kinds 'diverging', 'oscillating', 'lr_too_low', 'underfitting',
        'overfitting'.
    """
    epochs = _epochs(history)
    loss = _column(epochs, "loss")
    if not epochs or loss is None:
        return []
    lr = _lr(epochs)
    n = len(loss)
    accuracy = _column(epochs, "accuracy")

    lr_finding = _nonfinite_steps(epochs) or _learning_rate(loss, accuracy, lr, low_accuracy)
    if lr_finding is not None and lr_finding.kind in ("diverging", "oscillating"):
        return [lr_finding]  # nothing else can be read from a run that does not descend
    findings = [] if lr_finding is None else [lr_finding]

    if accuracy is not None and accuracy[-1] < low_accuracy and lr_finding is None:
        findings.append(_underfitting(accuracy, n, lr))

    val_loss = _column(epochs, "val_loss")
    if val_loss is not None and n >= 3:
        overfit = _overfitting(epochs, loss, val_loss, accuracy, overfit_rise)
        if overfit is not None:
            findings.append(overfit)
    return findings


def _nonfinite_steps(epochs: list[dict[str, Any]]) -> Finding | None:
    """Steps the non-finite guard skipped or rolled back: the run diverged, whatever the
    finite losses recorded around them say (a rollback also cuts the rate the history shows,
    so the advice starts from the first epoch's rate)."""
    bad = [(e.get("epoch", i + 1), e["nonfinite_steps"]) for i, e in enumerate(epochs)
           if e.get("nonfinite_steps")]  # fmt: skip
    if not bad:
        return None
    total = sum(count for _, count in bad)
    where = ", ".join(str(epoch) for epoch, _ in bad[:6]) + ("..." if len(bad) > 6 else "")
    first_lr = epochs[0].get("lr_at_start", epochs[0].get("lr"))
    return Finding(
        "diverging",
        f"Diverging: the loss or a gradient became NaN or Inf in {total} step(s) (epoch"
        f"{'s' if len(bad) > 1 else ''} {where}); those steps were skipped or rolled back, so the "
        "losses shown are only the finite ones.",
        f"use a learning rate 10x lower than the run started with"
        f"{_lr_flag(None if first_lr is None else float(first_lr), 0.1)}, and clip gradients "
        "(--clip-norm).",
    )


def _learning_rate(
    loss: list[float], accuracy: list[float] | None, lr: float | None, low_accuracy: float
) -> Finding | None:
    n = len(loss)
    if not all(math.isfinite(v) for v in loss):
        first_bad = next(i for i, v in enumerate(loss) if not math.isfinite(v)) + 1
        return Finding(
            "diverging",
            f"Diverging: the training loss became {loss[first_bad - 1]} at epoch {first_bad}.",
            f"use a learning rate 10x lower{_lr_flag(lr, 0.1)}, and clip gradients (--clip-norm).",
        )
    low = min(loss)
    best = loss.index(low) + 1
    if n >= 3 and loss[-1] > 1.5 * low and loss[-1] > loss[0] and best < n:
        return Finding(
            "diverging",
            f"Diverging: the training loss fell to {low:.4g} at epoch {best}, then rose to "
            f"{loss[-1]:.4g} by epoch {n} (it started at {loss[0]:.4g}).",
            f"use a learning rate 10x lower{_lr_flag(lr, 0.1)}; gradient clipping "
            "(--clip-norm) also helps.",
        )
    if n >= 4:
        # Rises that matter: 5% of the loss's own value and 1% of where it started.
        rises = [
            i + 1
            for i in range(1, n)
            if loss[i] > 1.05 * loss[i - 1] and loss[i] - loss[i - 1] > 0.01 * loss[0]
        ]
        if len(rises) >= max(2, math.ceil(0.3 * (n - 1))):
            epochs_text = ", ".join(str(e) for e in rises[:6]) + ("..." if len(rises) > 6 else "")
            return Finding(
                "oscillating",
                f"Oscillating: the training loss went up in {len(rises)} of {n - 1} epochs "
                f"(epochs {epochs_text}) instead of settling.",
                f"use a learning rate about 3x lower{_lr_flag(lr, 1 / 3)}, or a schedule that "
                "lowers it (--lr-step).",
            )
    if n >= 3 and (loss[0] - low) < 0.05 * abs(loss[0]):
        if accuracy is None or accuracy[-1] < low_accuracy:
            acc = "" if accuracy is None else f"; training accuracy {accuracy[-1]:.1%}"
            return Finding(
                "lr_too_low",
                f"Barely moving: over {n} epochs the training loss went only from {loss[0]:.4g} "
                f"to {loss[-1]:.4g} ({(loss[0] - loss[-1]) / loss[0]:.1%}){acc}.",
                f"use a learning rate 10x higher{_lr_flag(lr, 10)}; if that does not move it, "
                "check the data and labels.",
            )
    return None


def _underfitting(accuracy: list[float], n: int, lr: float | None) -> Finding:
    window = max(2, n // 3)
    recent = accuracy[-window:]
    gain = recent[-1] - recent[0]
    if accuracy[-1] < 0.3 and gain < 0.02:
        return Finding(
            "underfitting",
            f"Underfitting, near chance: training accuracy is only {accuracy[-1]:.1%} and flat "
            f"over the last {window} epochs: the network is not learning at all, which is "
            "usually the learning rate rather than capacity.",
            f"try a learning rate 10x lower{_lr_flag(lr, 0.1)} if the loss jumped about early "
            f"(too high kills ReLUs), or 10x higher{_lr_flag(lr, 10)} if it crept down; then "
            "check the inputs are normalised.",
        )
    if gain < 0.02 or n < 3:
        return Finding(
            "underfitting",
            f"Underfitting: training accuracy is only {accuracy[-1]:.1%} and moved "
            f"{gain * 100:+.1f} points over the last {window} epochs: the model cannot fit even "
            "its training data.",
            "give it more capacity (wider or more hidden layers, e.g. --hidden 256,128), less "
            "regularisation (dropout, weight decay), or a better learning rate.",
        )
    return Finding(
        "underfitting",
        f"Underfitting (still learning): training accuracy is {accuracy[-1]:.1%} and rose "
        f"{gain * 100:.1f} points over the last {window} epochs when training stopped.",
        f"train for more epochs (e.g. --epochs {2 * n}); add capacity if it then levels off.",
    )


def _overfitting(
    epochs: list[dict[str, Any]],
    loss: list[float],
    val_loss: list[float],
    accuracy: list[float] | None,
    rise: float,
) -> Finding | None:
    n = len(loss)
    best_val = min(val_loss)
    turn = val_loss.index(best_val) + 1  # the epoch where validation loss stopped improving
    val_acc = _column(epochs, "val_accuracy")
    gap = ""
    if accuracy is not None and val_acc is not None:
        gap = f"; accuracy {accuracy[-1]:.1%} on training vs {val_acc[-1]:.1%} on validation data"
    # Three epochs past the minimum (not one noisy epoch), clearly above it, and the training
    # loss at least halved since: the model keeps fitting the training data and no longer
    # generalises better.
    rising = n - turn >= 3 and val_loss[-1] >= (1 + rise) * best_val
    if rising and loss[-1] <= 0.5 * loss[turn - 1]:
        held = val_acc is not None and val_acc[-1] >= val_acc[turn - 1] - 0.005
        if held and val_acc is not None:
            head = f"Mild overfitting from epoch {turn}"
            tail = (
                f" Validation accuracy held ({val_acc[turn - 1]:.1%} then, {val_acc[-1]:.1%} "
                "now): the model grew more confident, not more accurate."
            )
        else:
            head, tail = f"Overfitting from epoch {turn}", ""
        return Finding(
            "overfitting",
            f"{head}: validation loss rose from {best_val:.4g} (epoch {turn}) to "
            f"{val_loss[-1]:.4g} (epoch {n}) while training loss kept falling "
            f"({loss[turn - 1]:.4g} to {loss[-1]:.4g}){gap}.{tail}",
            f"stop at epoch {turn} (--epochs {turn}, or --early-stopping 3 to keep the best "
            "weights), or regularise: L2 (--weight-decay 5e-4) or dropout (--dropout 0.3); "
            "more training data helps most.",
        )
    return None


def doctor_report(history: HistoryLike, findings: Iterable[Finding] | None = None) -> str:
    """The doctor's findings as text, or one 'looks healthy' line with the run's numbers."""
    findings = list(diagnose_history(history) if findings is None else findings)
    if findings:
        return format_findings(findings, "doctor")
    epochs = _epochs(history)
    if not epochs:
        return "doctor: no epochs to read"
    last = epochs[-1]
    parts = [f"training loss {format_loss(epochs[0]['loss'])} -> {format_loss(last['loss'])}"]
    if last.get("val_accuracy") is not None:
        parts.append(f"validation accuracy {last['val_accuracy']:.1%}")
    elif last.get("accuracy") is not None:
        parts.append(f"training accuracy {last['accuracy']:.1%}")
    return "doctor: looks healthy (" + ", ".join(parts) + ")"


class Doctor(Callback):
    """Diagnose the history when fit() ends; ``findings`` keeps the result.

    Example: ``fit(model, loss_fn, opt, x, y, validation_data=(xv, yv), callbacks=[Doctor()])``.
    """

    def __init__(self, verbose: bool = True, **options: Any) -> None:
        self.verbose, self.options = verbose, options
        self.findings: list[Finding] = []

    def on_train_end(self, state: TrainingState) -> None:
        self.findings = diagnose_history(state.history, **self.options)
        if self.verbose:
            print(doctor_report(state.history, self.findings))
