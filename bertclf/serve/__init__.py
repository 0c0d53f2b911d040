"""Shipping a run: :class:`~bertclf.serve.classifier.Classifier` (torch or ONNX Runtime) for
predictions, the ONNX export (:mod:`.export`, :mod:`.onnx`) and the HTTP service (:mod:`.http`)."""
