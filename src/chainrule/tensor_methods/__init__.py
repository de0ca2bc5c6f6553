"""The method families of ``chainrule.Tensor``, one mixin per file; tensor.py assembles them."""

from .indexing import IndexMethods
from .inplace import InplaceMethods
from .math import MathMethods
from .reduce import ReduceMethods
from .shape import ShapeMethods

__all__ = ["IndexMethods", "InplaceMethods", "MathMethods", "ReduceMethods", "ShapeMethods"]
