"""Export a run's model to ONNX: ``bertclf export RUN_DIR [--quantize]``.

The graph goes to ``RUN_DIR/onnx/model.onnx`` (logits from ``input_ids`` and ``attention_mask``,
batch and sequence axes dynamic), the int8 one to ``model_int8.onnx``; load either with
``Classifier.load(run_dir, backend="onnx", quantize=...)``.

Exporter: ``torch.onnx.export(dynamo=True)``, torch's default and maintained path (it traces
with ``torch.export``). Hugging Face ``optimum-onnx`` is not used: its latest release requires
``transformers<4.58``, and bertclf runs on transformers 5. The TorchScript exporter
(``dynamo=False``) is deprecated and bakes Python-level branches on the example into the graph.

int8: ONNX Runtime's dynamic quantization (``quantize_dynamic``: int8 weights, activations
quantized on the fly), after its recommended pre-processing (shape inference, graph
optimization; the symbolic shape pass is skipped: it cannot follow the exported sequence axis).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification

from bertclf.models import cls_forward
from bertclf.models.saved import from_directory
from bertclf.runs.atomic import sync, sync_tree
from bertclf.runs.layout import check_run_dir
from bertclf.serve.onnx import FP32_FILE, INPUT_NAMES, INT8_FILE, ONNX_DIR, OUTPUT_NAME, graph_path, require


class _Logits(torch.nn.Module):
    """The classifier as a function of two tensors to logits: the graph's signature."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if cls_forward.supports(self.model):  # as Classifier.predict: the last layer at [CLS] only
            return cls_forward.logits(self.model, input_ids, attention_mask)
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(run_dir: str | Path, *, quantize: bool = False) -> list[Path]:
    """Write the run's ONNX graph (and its int8 version with ``quantize``); return their paths.

    Files are written in a staging folder, then renamed into place: never half-written.
    """
    run_dir = check_run_dir(run_dir)
    require("onnx", "onnxscript", *(["onnxruntime"] if quantize else []))
    model = from_directory(AutoModelForSequenceClassification, run_dir).eval()
    (run_dir / ONNX_DIR).mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=run_dir / ONNX_DIR, prefix=".export.") as staging:
        fp32, int8 = Path(staging, FP32_FILE), Path(staging, INT8_FILE)
        _export_fp32(model, fp32)
        staged = {graph_path(run_dir): fp32}
        if quantize:
            _quantize_int8(fp32, int8, Path(staging, "prepared.onnx"))
            staged[graph_path(run_dir, quantize=True)] = int8
        sync_tree(Path(staging))
        for final, path in staged.items():
            os.replace(path, final)
        sync(run_dir / ONNX_DIR)
    return list(staged)


def _export_fp32(model: torch.nn.Module, path: Path) -> None:
    # The example has two rows of 8 tokens, one padded; sizes 0 and 1 would be fixed in the graph.
    input_ids = torch.arange(16).reshape(2, 8) % model.config.vocab_size
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 5:] = 0
    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence", max=model.config.max_position_embeddings)
    with _quiet_exporter():
        program = torch.onnx.export(
            _Logits(model).eval(), (input_ids, attention_mask), dynamo=True, verbose=False,
            input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
            dynamic_shapes={name: {0: batch, 1: sequence} for name in INPUT_NAMES},
        )
    program.save(path)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's notes on its own internals (e.g. "torchvision is not installed")."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def _quantize_int8(fp32: Path, int8: Path, prepared: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(fp32, prepared, skip_symbolic_shape=True)
    quantize_dynamic(prepared, int8, weight_type=QuantType.QInt8)
