"""Formats that take aacn models to other tools: ONNX (onnxruntime, TensorRT, ...)."""
