"""Seeing backpropagation work: tables of the chain rule, gradient flow, the training doctor.

- ``Tracer`` / ``trace`` / ``trace_layer``: forward and backward tables per neuron (tables.py).
- ``GradientMonitor``: a fit() callback recording gradient flow and diagnosing it;
  ``gradient_over_time``: the gradient reaching each time step of a sequence model.
- ``diagnose_history`` / ``Doctor``: under- and overfitting, learning-rate problems.
- ``plots``: training curves and gradient flow as PNG files (needs matplotlib, imported lazily).
- ``graph``: the autograd graph that backward() walks, as DOT text, SVG or PNG (graph.py).
- ``summary``: a model's layers, output shapes, parameters and mult-adds, as torchinfo's.
- ``demos``, ``checks``, ``explain``: what ``chainrule demo``, ``gradcheck``, ``explain`` run.
"""

from .doctor import Doctor, diagnose_history, doctor_report
from .drawing import Graph, graph
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
from .model_summary import ModelSummary, summary
from .tables import Tracer, local_derivative, trace, trace_layer

__all__ = [
    "Doctor",
    "Finding",
    "GradientMonitor",
    "Graph",
    "ModelSummary",
    "TimeGradient",
    "Tracer",
    "dead_fraction",
    "diagnose_history",
    "diagnose_over_time",
    "diagnose_records",
    "doctor_report",
    "format_findings",
    "gradient_over_time",
    "graph",
    "local_derivative",
    "saturated_fraction",
    "suggest_clip_norm",
    "summary",
    "trace",
    "trace_layer",
]
