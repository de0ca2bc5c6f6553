"""ONNX export: ``chainrule.onnx.export(model, example_input, path)`` writes a model as an ONNX
graph (opset 17, IR version 8, a symbolic batch dimension) that onnxruntime and other runtimes
run. Needs the onnx package: ``pip install 'chainrule[onnx]'``."""

from .exporter import IR_VERSION, OPSET, export

__all__ = ["IR_VERSION", "OPSET", "export"]
