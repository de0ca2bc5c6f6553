"""Seeing backpropagation work: tables of the chain rule, gradient flow, the training doctor.

- ``Tracer`` / ``trace`` / ``trace_layer``: forward and backward tables per neuron (tables.py).
- ``GradientMonitor``: a fit() callback recording gradient flow and diagnosing it;
  ``gradient_over_time``: the gradient reaching each time step of a sequence model.
- ``diagnose_history`` / ``Doctor``: under- and overfitting, learning-rate problems.
- ``plots``: training curves and gradient flow as PNG files (needs matplotlib, imported lazily).
- ``demos``, ``checks``, ``explain``: what ``chainrule demo``, ``gradcheck``, ``explain`` run.
"""

from .doctor import Doctor, diagnose_history, doctor_report
from .findings import Finding, format_findings
from .gradient_flow import (
    GradientMonitor,
    TimeGradient,
    dead_fraction,
    diagnose_over_time,
    diagnose_records,
    gradient_over_time,
    saturated_fraction,
    suggest_clip_norm,
)
from .tables import Tracer, local_derivative, trace, trace_layer

__all__ = [
    "Doctor",
    "Finding",
    "GradientMonitor",
    "TimeGradient",
    "Tracer",
    "dead_fraction",
    "diagnose_history",
    "diagnose_over_time",
    "diagnose_records",
    "doctor_report",
    "format_findings",
    "gradient_over_time",
    "local_derivative",
    "saturated_fraction",
    "suggest_clip_norm",
    "trace",
    "trace_layer",
]
