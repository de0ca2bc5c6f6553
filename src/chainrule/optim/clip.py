"""Gradient clipping, re-exported from chainrule.nn.utils (torch.nn.utils's home for it)."""

from ..nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
