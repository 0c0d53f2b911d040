"""bertclf.book.measured: the book reads committed benchmark results, or says which command writes them."""

import json

import pytest

from bertclf.book import benchmark_table
from bertclf.book import measured as m


def result(benchmark: str, runs: dict, size: str = "full") -> dict:
    return {
        "name": f"{benchmark}-cpu-minilm-1thread", "benchmark": benchmark, "size": size,
        "command": f"python -m benchmarks.{benchmark} --threads 1", "created": "2026-11-26T01:00:00+00:00",
        "settings": {"device": "cpu", "threads": 1},
        "machine": {"cpu": "Some CPU", "logical_cores": 2, "torch_threads": 1, "memory_gb": 16.0,
                    "load_average_1min_at_start": 0.1, "versions": {"torch": "2.x", "transformers": "5.x"}},
        "runs": runs,
    }


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(m, "results_dir", lambda: tmp_path)
    (tmp_path / "chinese_transfer.json").write_text(json.dumps({"runs": {}}))  # not a benchmark result
    return tmp_path


def test_the_result_with_the_needed_rows_and_its_provenance(folder):
    runs = {"onnx_fp32": {"label": "ONNX", "texts_per_second": 10.0}, "pipeline_fp32": {"label": "pipe", "texts_per_second": 5.0}}
    (folder / "predict-smoke.json").write_text(json.dumps(result("predict", runs, size="smoke")))
    (folder / "predict.json").write_text(json.dumps(result("predict", runs)))
    found = m.measured("predict", needs=("onnx_fp32",))
    assert found["size"] == "full"
    line = m.provenance(found)
    assert "2026-11-26" in line and "Some CPU" in line and "python -m benchmarks.predict --threads 1" in line
    frame = benchmark_table(found, {"texts_per_second": "texts/s"})
    assert list(frame.index) == ["ONNX", "pipe"] and list(frame.columns) == ["texts/s"]


def test_a_missing_or_outdated_result_names_the_command(folder):
    with pytest.raises(FileNotFoundError, match=r"no serve_load result .*python -m benchmarks.serve_load"):
        m.measured("serve_load")
    (folder / "predict.json").write_text(json.dumps(result("predict", {"bertclf_fp32": {"label": "old"}})))
    with pytest.raises(FileNotFoundError, match=r"lacks the rows onnx_fp32: run `python -m benchmarks.predict --threads 1`"):
        m.measured("predict", needs=("onnx_fp32",))
