"""Run an exported run with ONNX Runtime: ``Classifier.load(run_dir, backend="onnx")``.

The graphs live next to the run, written by :func:`bertclf.serve.export.export_onnx`::

    run_dir/onnx/model.onnx        fp32
    run_dir/onnx/model_int8.onnx   int8 dynamic quantization (``bertclf export RUN_DIR --quantize``)

One knob sets the threads of both backends: ``torch.set_num_threads(n)`` before loading.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from transformers import AutoConfig

from bertclf.errors import BertclfError
from bertclf.models.saved import from_directory
from bertclf.runs.layout import check_run_dir

ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"


def require(*modules: str) -> list[ModuleType]:
    """Import optional dependencies, or say which extra installs them."""
    found = []
    for name in modules:
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            raise BertclfError(
                f"{name} is not installed: install the serving extra, pip install 'bertclf[serve]'"
            ) from None
    return found


def graph_path(run_dir: str | Path, quantize: bool = False) -> Path:
    """Where the fp32 (or int8) graph of a run is, whether or not it exists yet."""
    return Path(run_dir) / ONNX_DIR / (INT8_FILE if quantize else FP32_FILE)


class OnnxModel:
    """An ONNX Runtime session that maps padded token ids to logits, like the torch model.

    ``config`` is the run's transformers config (labels, sizes), as on a torch model.
    """

    def __init__(self, path: Path, config, threads: int | None = None) -> None:
        (ort,) = require("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - onnxruntime's errors for a file it cannot read
            raise BertclfError(f"{path} does not load in ONNX Runtime ({type(error).__name__}): the graph is "
                               "damaged; write it again with `bertclf export`") from None
        self.path = path
        self.config = config

    @classmethod
    def load(cls, run_dir: str | Path, *, quantize: bool = False, threads: int | None = None) -> OnnxModel:
        """The run's exported graph; a clear error if it is missing or older than the model."""
        run_dir = check_run_dir(run_dir)
        path = graph_path(run_dir, quantize)
        command = f"bertclf export {run_dir}" + (" --quantize" if quantize else "")
        if not path.is_file():
            raise BertclfError(f"{run_dir} has no ONNX graph ({path} is missing): create it with `{command}`")
        if path.stat().st_mtime < (run_dir / "model.safetensors").stat().st_mtime:
            raise BertclfError(f"{path} is older than the run's model (trained again since?): `{command}` again")
        return cls(path, from_directory(AutoConfig, run_dir), threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits, shape (batch, labels), for int64 arrays of shape (batch, sequence)."""
        feed = dict(zip(INPUT_NAMES, (input_ids, attention_mask)))
        return self.session.run([OUTPUT_NAME], feed)[0]
