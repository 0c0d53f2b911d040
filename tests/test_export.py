"""bertclf export and Classifier.load(backend="onnx"): ONNX Runtime gives torch's predictions."""

import json
import os
import shutil
import sys
import time

import httpx
import numpy as np
import onnx
import pytest
import torch

from bertclf import BertclfError, Classifier, cli
from bertclf.serve.export import export_onnx
from bertclf.serve.local import LocalService
from bertclf.serve.onnx import graph_path

pytestmark = pytest.mark.slow  # processes and real models: make test runs these, make check skips them

TEXTS = ["I love it", "meh", "the worst service I have ever had, never again", "ok", "great great great " * 5,
         "", "ça va? 😀 fine", "x " * 200]


@pytest.fixture(scope="module")
def exported(tiny_run_dir):
    """The tiny run with its fp32 and int8 graphs, written by the command line."""
    assert cli.main(["export", str(tiny_run_dir), "--quantize"]) == 0
    return tiny_run_dir


@pytest.fixture(scope="module")
def torch_clf(tiny_run_dir):
    return Classifier.load(tiny_run_dir)


def test_graph_has_dynamic_batch_and_sequence_axes(exported):
    graph = onnx.load(graph_path(exported)).graph
    shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in graph.input}
    assert shapes == {"input_ids": ["batch", "sequence"], "attention_mask": ["batch", "sequence"]}
    (logits,) = graph.output
    assert logits.name == "logits" and logits.type.tensor_type.shape.dim[0].dim_param == "batch"


def test_onnx_logits_and_labels_match_torch(exported, torch_clf):
    clf = Classifier.load(exported, backend="onnx")
    assert clf.backend == "onnx" and clf.labels == torch_clf.labels
    for batch, width in [(1, 1), (3, 17), (5, 48)]:  # shapes other than the export example's
        input_ids = np.random.default_rng(width).integers(100, 1000, (batch, width))
        mask = np.ones_like(input_ids)
        mask[0, width // 2 + 1 :] = 0
        with torch.inference_mode():
            expected = torch_clf.model(input_ids=torch.from_numpy(input_ids),
                                       attention_mask=torch.from_numpy(mask)).logits
        assert np.allclose(clf.model(input_ids, mask), expected.numpy(), atol=1e-5)
    for kwargs in [{}, {"batch_size": 2}, {"max_length": 16, "long_texts": "sliding"}]:
        onnx_out, torch_out = clf.predict(TEXTS, **kwargs), torch_clf.predict(TEXTS, **kwargs)
        assert [p["label"] for p in onnx_out] == [p["label"] for p in torch_out]
        assert np.allclose(clf.predict_proba(TEXTS, **kwargs), torch_clf.predict_proba(TEXTS, **kwargs), atol=1e-5)


def test_int8_graph_loads_and_predicts_close_to_fp32(exported, torch_clf):
    int8 = Classifier.load(exported, backend="onnx", quantize=True)
    assert int8.quantized and int8.model.path == graph_path(exported, quantize=True)
    assert graph_path(exported, quantize=True).stat().st_size < graph_path(exported).stat().st_size / 2
    out = int8.predict(TEXTS)
    assert len(out) == len(TEXTS) and all(sum(p["probs"].values()) == pytest.approx(1.0) for p in out)
    assert np.abs(int8.predict_proba(TEXTS) - torch_clf.predict_proba(TEXTS)).max() < 0.05


def test_cli_predict_with_the_onnx_backend(exported, capsys):
    assert cli.main(["predict", str(exported), "so happy today", "so sad today", "--json"]) == 0
    by_torch = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert cli.main(["predict", str(exported), "so happy today", "so sad today", "--json", "--backend", "onnx"]) == 0
    by_onnx = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["label"] for p in by_onnx] == [p["label"] for p in by_torch]
    assert [p["score"] for p in by_onnx] == pytest.approx([p["score"] for p in by_torch], abs=1e-5)


def test_clear_errors(exported, tmp_path, monkeypatch):
    with pytest.raises(BertclfError, match="does not exist"):
        export_onnx(tmp_path / "nowhere")
    with pytest.raises(BertclfError, match="backend must be one of torch, onnx"):
        Classifier.load(exported, backend="tensorrt")
    with pytest.raises(BertclfError, match="runs on the CPU"):
        Classifier.load(exported, backend="onnx", device="cuda")

    bare = shutil.copytree(exported, tmp_path / "bare", ignore=shutil.ignore_patterns("onnx", "checkpoint.pt"))
    with pytest.raises(BertclfError, match=r"no ONNX graph .*`bertclf export .*bare --quantize`"):
        Classifier.load(bare, backend="onnx", quantize=True)

    stale = shutil.copytree(exported, tmp_path / "stale", ignore=shutil.ignore_patterns("checkpoint.pt"))
    later = time.time() + 60  # the model saved again after the export, e.g. by a resumed run
    os.utime(stale / "model.safetensors", (later, later))
    with pytest.raises(BertclfError, match="older than the run's model"):
        Classifier.load(stale, backend="onnx")

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(BertclfError, match=r"onnxruntime is not installed.*pip install 'bertclf\[serve\]'"):
        Classifier.load(exported, backend="onnx")


def test_cli_serve_with_the_onnx_backend(exported):
    with LocalService(exported, "--backend", "onnx", "--quantize", "--threads", "1", quiet=True) as service:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            meta = client.get("/metadata").json()
            assert meta["backend"] == "onnx" and meta["int8"] is True
            answer = client.post("/predict", json={"text": "so happy today"})
            assert answer.status_code == 200 and answer.json()["label"] in meta["labels"]
    assert service.process.returncode is not None, "stopped"
