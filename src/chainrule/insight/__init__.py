"""Seeing backpropagation work: tables of the chain rule, gradient flow, the training doctor.

- ``Tracer`` / ``trace`` / ``trace_layer``: forward and backward tables per neuron (tables.py).
- ``GradientMonitor``: a fit() callback recording gradient flow and diagnosing it.
- ``diagnose_history`` / ``Doctor``: under- and overfitting, learning-rate problems.
- ``plots``: training curves and gradient flow as PNG files (needs matplotlib).
"""

from .findings import Finding, format_findings
from .tables import Tracer, local_derivative, trace, trace_layer

__all__ = [
    "Finding",
    "Tracer",
    "format_findings",
    "local_derivative",
    "trace",
    "trace_layer",
]
