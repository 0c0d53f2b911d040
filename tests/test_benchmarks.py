"""The benchmarks keep working: they run end to end at a smoke size (a tiny random BERT, 64
training and 32 test tweets) and write sane result files. No timing is asserted: speed is
measured by ``python -m benchmarks.train`` / ``predict`` / ``serve_load`` at full size, not here."""

from __future__ import annotations

import json
import math

import pytest
import torch

pytestmark = pytest.mark.slow  # processes and real models: make test runs these, make check skips them


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A tiny randomly initialised BERT classifier with the bundled tokenizer."""
    from transformers import BertConfig, BertForSequenceClassification

    from bertclf.models.load import load_tokenizer

    path = tmp_path_factory.mktemp("bench-tiny-bert")
    tokenizer = load_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.model_max_length = config.max_position_embeddings
    tokenizer.save_pretrained(path)
    return path


def smoke_args(model, tmp_path, peak: bool = True) -> list[str]:
    return ["--model", str(model), "--device", "cpu", "--train-size", "64", "--eval-size", "32",
            "--max-length", "32", *(["--peak-seconds", "0.2"] if peak else []), "--out", str(tmp_path / "results"),
            "--runs-dir", str(tmp_path / "runs")]


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def check_common(result: dict, peak: bool = True) -> None:
    assert result["size"] == "smoke"
    assert result["machine"]["cpu"] and result["machine"]["logical_cores"] >= 1
    assert "torch" in result["machine"]["versions"] and result["command"].startswith("python -m benchmarks.")
    assert result["created"] and result["settings"]["threads"] >= 1
    assert not peak or positive(result["peak"]["measured_tflops"])
    assert result["targets"] and all(isinstance(t["met"], bool) for t in result["targets"])


def test_train_benchmark_reports_every_contender(tiny_bert, tmp_path):
    from benchmarks import common, train

    result = train.main([*smoke_args(tiny_bert, tmp_path), "--batch-size", "16"])
    out, runs = tmp_path / "results", tmp_path / "runs"
    check_common(result)
    assert set(result["runs"]) == {"bertclf", "trainer", "trainer_grouped"}
    for row in result["runs"].values():
        for key in ("samples_per_second", "real_tokens_per_second", "epoch_seconds", "epoch_cpu_seconds", "peak_memory_mb",
                    "real_token_tflops", "flop_utilization", "bertclf_speedup"):
            assert positive(row[key]), (row["label"], key, row[key])
        assert row["samples"] == 64
        assert 0 < row["real_tokens"] <= row["total_tokens"]
        assert 0 <= row["padding_fraction"] < 1
        assert 0 <= row["test_accuracy"] <= 1
    rows = result["runs"]
    # every run trains on the same examples, so the same real tokens (only the padding differs)
    assert rows["bertclf"]["real_tokens"] == rows["trainer"]["real_tokens"] == rows["trainer_grouped"]["real_tokens"]
    # length bucketing never pads more than random batches (a deterministic count, not a timing)
    assert rows["bertclf"]["padding_fraction"] <= rows["trainer"]["padding_fraction"]
    assert rows["bertclf"]["bertclf_speedup"] == pytest.approx(1.0)
    assert {t["target"] for t in result["targets"]} >= {"training speed vs default Trainer",
                                                         "training speed vs Trainer(group_by_length)"}
    saved = json.loads((out / f"{result['name']}.json").read_text())
    assert saved["runs"].keys() == result["runs"].keys()
    assert [p.name for p in runs.iterdir()] == [common.run_dir(runs, str(tiny_bert), 64, 32, torch.device("cpu")).name]
    check_markdown(out, result, "| run | samples/s |")


def test_predict_benchmark_compares_backends_and_precisions(tiny_bert, tmp_path):
    from benchmarks import predict

    result = predict.main([*smoke_args(tiny_bert, tmp_path), "--latency-texts", "3", "--repeats", "1"])
    check_common(result)
    runs = result["runs"]
    assert set(runs) == {"torch_fp32", "onnx_fp32", "pipeline_fp32", "torch_int8", "onnx_int8"}
    assert (tmp_path / "runs").is_dir() and result["settings"]["run_dir"].startswith(str(tmp_path / "runs")), \
        "without a run from benchmarks.train, predict fine-tunes one"
    for row in runs.values():
        assert row["texts"] == 32
        for key in ("texts_per_second", "texts_per_cpu_second", "latency_p50_ms", "latency_p95_ms", "vs_pipeline"):
            assert positive(row[key]), (row["label"], key)
        assert row["latency_p50_ms"] <= row["latency_p95_ms"]
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["agreement_with_pipeline"] <= 1
        assert 0 <= row["padding_fraction"] < 1
    # sorting by length never pads more than input order (a count, not a timing)
    assert runs["torch_fp32"]["padding_fraction"] <= runs["pipeline_fp32"]["padding_fraction"]
    # the same fine-tuned model behind every fp32 row: (near enough) the same labels
    assert runs["onnx_fp32"]["agreement_with_torch_fp32"] >= 0.95 and runs["torch_fp32"]["agreement_with_pipeline"] >= 0.9
    assert runs["pipeline_fp32"]["vs_pipeline"] == 1
    assert any("single-text p50 latency" in t["target"] for t in result["targets"])
    check_markdown(tmp_path / "results", result, "| run | texts/s |")


def test_serve_load_benchmark_runs_every_service(tiny_bert, tmp_path):
    from benchmarks import serve_load

    # one backend (each service is a process of its own: slow to start); tests/test_serve.py covers torch
    result = serve_load.main([*smoke_args(tiny_bert, tmp_path, peak=False), "--backends", "onnx", "--no-int8",
                              "--clients", "1", "4", "--requests", "8", "--seconds", "600", "--threads", "1"])  # stops at 8 requests
    check_common(result, peak=False)
    assert len(result["runs"]) == 2 * 2  # batching on/off x client levels
    for row in result["runs"].values():
        assert row["errors"] == 0 and row["requests"] == 8 and positive(row["requests_per_second"])
        assert row["latency_p50_ms"] <= row["latency_p99_ms"]
    assert result["runs"]["onnx_fp32_one_at_a_time_c4"]["mean_batch"] == 1
    alone = result["model_alone"]["onnx_fp32"]  # the most batching can gain, and the target names it
    assert alone["ceiling"] == pytest.approx(alone["one_at_a_time_ms"] / alone["sorted_batches_ms"])
    assert f"{alone['ceiling']:.2f}×" in result["targets"][0]["measured_text"]
    check_markdown(tmp_path / "results", result, "| run | clients |")


def check_markdown(out, result: dict, header: str) -> None:
    """RESULTS.md is generated from the JSON files, with the machine named."""
    text = (out / "RESULTS.md").read_text()
    assert result["title"] in text and header in text and "Machine:" in text


def test_a_results_file_keeps_the_date_and_machine_of_its_earlier_runs(capsys):
    from benchmarks.common import accuracy_meta, provenance_markdown
    from bertclf.book import show_provenance

    first = accuracy_meta(None, "python -m benchmarks.seeds --seeds 0")
    first["date"], first["machine_line"] = "2026-11-26", "a faster machine"
    second = accuracy_meta(first, "python -m benchmarks.seeds --seeds 1")
    third = accuracy_meta(second, "python -m benchmarks.seeds --seeds 1")
    assert third["commands"] == ["python -m benchmarks.seeds --seeds 0", "python -m benchmarks.seeds --seeds 1"]
    assert [run["date"] for run in third["earlier"]] == ["2026-11-26", second["date"]]
    assert "Earlier runs: 2026-11-26, a faster machine" in provenance_markdown(third)
    show_provenance(third)
    assert "earlier runs: 2026-11-26, a faster machine" in capsys.readouterr().out


def test_the_mean_pooled_variant_reads_the_mean_of_the_real_tokens(tiny_bert, tmp_path):
    """benchmarks.encoder_variants' classifier: the same weights, the head on the mean of the
    last layer over the attention mask, so padding a text changes nothing."""
    from benchmarks.encoder_variants import MeanPooledClassifier, mean_pooled
    from bertclf.models.cls_forward import classifier_logits
    from bertclf.models.load import load_classifier, load_tokenizer

    model = load_classifier(str(mean_pooled(tiny_bert, tmp_path / "mean")), ["neg", "pos"]).eval()
    base = load_classifier(str(tiny_bert), ["neg", "pos"]).eval()
    assert isinstance(model, MeanPooledClassifier)
    assert torch.equal(model.bert.encoder.layer[1].output.dense.weight, base.bert.encoder.layer[1].output.dense.weight)
    tokenizer = load_tokenizer(str(tiny_bert))
    alone = dict(tokenizer(["a fine day"], return_tensors="pt"))
    padded = dict(tokenizer(["a fine day", "a much longer text than the first one"], padding=True, return_tensors="pt"))
    with torch.no_grad():
        hidden = model.bert(**alone).last_hidden_state
        by_hand = model.classifier(model.bert.pooler.activation(model.bert.pooler.dense(hidden.mean(1))))
        assert torch.allclose(classifier_logits(model, alone), by_hand, atol=1e-6)
        assert torch.allclose(classifier_logits(model, padded)[:1], by_hand, atol=1e-5)
        assert not torch.allclose(classifier_logits(base, alone), by_hand, atol=1e-3)  # [CLS] reads otherwise
