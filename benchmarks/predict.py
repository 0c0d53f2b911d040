"""Prediction speed: ``Classifier.predict`` (torch and ONNX Runtime) against ``transformers.pipeline``.

    python -m benchmarks.predict --threads 1            # bundled MiniLM, 2,000 tweets, CPU
    python -m benchmarks.predict --smoke                # a tiny run, to check that it works
    python -m benchmarks.predict --model DIR --device cuda   # e.g. BERT-base in bf16 on a GPU

The same fine-tuned run (the one ``python -m benchmarks.train`` keeps, or one trained here if
missing) behind every row: ``pipeline("text-classification", model=run_dir, batch_size=32)`` with
the same truncation, and ``Classifier.load(run_dir, backend=...)`` in fp32 and int8 (torch's
dynamic quantization; ONNX Runtime's quantizer on the graph ``bertclf export --quantize``
writes, exported here if missing). ONNX Runtime runs on the CPU only. Reported: texts per
second and per CPU second over the test tweets (best of ``--repeats`` interleaved passes),
single-text latency p50/p95, accuracy, and how often each row gives the label of torch fp32 and
of the pipeline.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import common
from bertclf import data
from bertclf.models import cls_forward
from bertclf.serve.classifier import Classifier

LABELS = {
    "torch_fp32": "bertclf, torch fp32",
    "onnx_fp32": "bertclf, ONNX Runtime fp32",
    "pipeline_fp32": "transformers.pipeline, fp32",
    "torch_int8": "bertclf, torch int8",
    "onnx_int8": "bertclf, ONNX Runtime int8",
    "torch_bf16": "bertclf, torch bf16",
    "pipeline_bf16": "transformers.pipeline, bf16",
}


def parse_args(argv):
    p = common.parser("benchmarks.predict", __doc__)
    p.add_argument("--run-dir", type=Path, help="a fine-tuned bertclf run (default: benchmarks.train's, trained if missing)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--latency-texts", type=int, default=200, help="single-text calls timed for p50/p95")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the test texts; the best counts")
    bench = common.begin("predict", p, argv)
    if bench.args.smoke:
        bench.args.latency_texts, bench.args.repeats = min(bench.args.latency_texts, 5), 1
    return bench


def engines(run_dir, bench, index: dict[str, int]) -> dict:
    """name -> (batch call returning label ids, single-text call)."""
    from transformers import pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    a, found = bench.args, {}

    def add_bertclf(name: str, clf: Classifier) -> None:
        found[name] = (lambda texts: np.array([index[p["label"]] for p in clf.predict(texts, batch_size=a.batch_size)]),
                       lambda text: clf.predict([text]))

    def add_pipeline(name: str, **kwargs) -> None:
        pipe = pipeline("text-classification", model=str(run_dir), device=bench.device, **kwargs)
        call = {"truncation": True, "max_length": a.max_length}
        found[name] = (lambda texts: np.array([index[p["label"]] for p in pipe(texts, batch_size=a.batch_size, **call)]),
                       lambda text: pipe(text, **call))

    if bench.device.type == "cpu":
        add_bertclf("torch_fp32", Classifier.load(run_dir, device="cpu"))
        add_bertclf("onnx_fp32", Classifier.load(run_dir, backend="onnx"))
        add_pipeline("pipeline_fp32")
        add_bertclf("torch_int8", Classifier.load(run_dir, quantize=True))
        add_bertclf("onnx_int8", Classifier.load(run_dir, backend="onnx", quantize=True))
    else:
        clf = Classifier.load(run_dir, device=bench.device.type)
        clf.model.to(torch.bfloat16)
        add_bertclf("torch_bf16", clf)
        add_pipeline("pipeline_bf16", dtype=torch.bfloat16)
    return found


def timed(fn, device) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``fn()``."""
    common.synchronize(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    fn()
    common.synchronize(device)
    return time.perf_counter() - start, time.process_time() - cpu_start


def measure(found: dict, texts: list[str], bench) -> tuple[dict, dict, dict]:
    """Predictions, (wall, CPU) seconds of every pass, and single-text latencies (ms), interleaved
    between the engines so that a busy moment hits them alike."""
    a = bench.args
    for batch, single in found.values():  # warm up: thread pools, kernels, weight packing
        batch(texts[: 2 * a.batch_size])
        single(texts[0])
    predictions, passes = {}, {name: [] for name in found}
    for repeat in range(a.repeats):
        for name, (batch, _) in found.items():
            bench.say(f"{LABELS[name]}: {len(texts)} texts (pass {repeat + 1}/{a.repeats})")
            passes[name].append(timed(lambda: predictions.__setitem__(name, batch(texts)), bench.device))
    rng = np.random.default_rng(a.seed)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(a.latency_texts, len(texts)), replace=False)]
    latencies = {name: [] for name in found}
    for text in sample:
        for name, (_, single) in found.items():
            latencies[name].append(timed(lambda: single(text), bench.device)[0] * 1000)
    return predictions, passes, latencies


def main(argv: list[str] | None = None) -> dict:
    bench = parse_args(argv)
    a, device = bench.args, bench.device
    run_dir = common.ensure_run(bench, a.run_dir)
    if device.type == "cpu":
        common.ensure_onnx(bench, run_dir)
    dsd = data.load("tweets", seed=a.seed, train_size=a.train_size, eval_size=a.eval_size)
    texts, labels = list(dsd["test"]["text"]), np.asarray(dsd["test"]["label"])
    peak = common.Peak(bench)
    found = engines(run_dir, bench, {name: i for i, name in enumerate(data.label_names(dsd))})
    reference_clf = Classifier.load(run_dir, device="cpu")
    fm = common.flop_model(reference_clf.model)
    lengths = [len(ids) for ids in reference_clf.tokenizer(texts, truncation=True, max_length=a.max_length)["input_ids"]]
    flops = {  # bertclf's BERT classifiers compute the last layer at [CLS] only; the pipeline all of it
        at_cls: common.sequence_flops(lengths, fm, training=False, last_layer_at_cls=at_cls) for at_cls in (False, True)}
    at_cls = cls_forward.supports(reference_clf.model)
    del reference_clf
    predictions, passes, latencies = measure(found, texts, bench)
    peak.measure_again()
    by_cpu = common.judge_by_cpu_time(device)

    precision = "fp32" if device.type == "cpu" else "bf16"
    pipe, torch_ref = f"pipeline_{precision}", "torch_fp32"
    runs = {}
    for name in found:
        seconds, cpu = min(s for s, _ in passes[name]), min(c for _, c in passes[name])
        float_model = "int8" not in name  # int8 matmuls are not measured against the float peak
        done = flops[at_cls and not name.startswith("pipeline")]  # the work this engine did
        runs[name] = {
            "label": LABELS[name],
            "seconds": seconds, "cpu_seconds": cpu, "all_seconds": passes[name],
            "texts": len(texts), "texts_per_second": len(texts) / seconds, "texts_per_cpu_second": len(texts) / cpu,
            # the pipeline batches texts in input order; bertclf sorts them by length first
            "padding_fraction": common.padding_fraction(np.asarray(lengths) if name.startswith("pipeline")
                                                        else np.sort(lengths), a.batch_size),
            "latency_p50_ms": float(np.percentile(latencies[name], 50)),
            "latency_p95_ms": float(np.percentile(latencies[name], 95)),
            "accuracy": float((predictions[name] == labels).mean()),
            "agreement_with_torch_fp32": float((predictions[name] == predictions[torch_ref]).mean())
                                         if precision == "fp32" else None,
            "agreement_with_pipeline": float((predictions[name] == predictions[pipe]).mean()),
            "flops": done,
            "flop_utilization": done / seconds / peak.reference if float_model else None,
            "flop_utilization_cpu_time": done / cpu / peak.cpu if float_model and device.type == "cpu" else None,
        }
    for row in runs.values():  # how many times the pipeline's texts per second (wall clock, CPU time)
        row["vs_pipeline"] = runs[pipe]["seconds"] / row["seconds"]
        row["vs_pipeline_cpu_time"] = runs[pipe]["cpu_seconds"] / row["cpu_seconds"]

    targets, notes = judge(runs, precision, by_cpu, device)
    return common.finish(
        bench, f"Prediction: {common.model_tag(a.model)} on {len(texts)} tweets, {device.type}",
        {"run_dir": str(run_dir), "texts": len(texts), "batch_size": a.batch_size, "max_length": a.max_length,
         "latency_texts": min(a.latency_texts, len(texts)), "repeats": a.repeats,
         "targets_judged_by": "CPU time" if by_cpu else "wall clock"},
        runs, targets, notes, peak=peak.record(),
    )


def judge(runs: dict, precision: str, by_cpu: bool, device) -> tuple[list[dict], list[str]]:
    """The targets of issue 10, and notes naming which backend each one used."""
    key = "cpu_seconds" if by_cpu else "seconds"
    mine = [n for n in runs if n.endswith(precision) and not n.startswith("pipeline")]
    fastest = min(mine, key=lambda n: runs[n][key])
    quickest = min(mine, key=lambda n: runs[n]["latency_p50_ms"])
    pipe = runs[f"pipeline_{precision}"]
    best = runs[fastest]
    cpu = best["vs_pipeline_cpu_time"] if device.type == "cpu" else None
    latency_ratio = runs[quickest]["latency_p50_ms"] / pipe["latency_p50_ms"]
    targets = [
        common.speed_target(f"fastest {precision} bertclf ({fastest}) vs pipeline, texts per second",
                            "≥ 2.00×", 2.0, best["vs_pipeline"], cpu, by_cpu),
        common.target(f"same labels as pipeline, {fastest}", "≥ 99.5%", best["agreement_with_pipeline"],
                      best["agreement_with_pipeline"] >= 0.995, fmt=".2%"),
        common.target(f"single-text p50 latency, {quickest} / pipeline", "≤ 0.60×", latency_ratio,
                      latency_ratio <= 0.6, note=f"{runs[quickest]['latency_p50_ms']:.1f} ms vs {pipe['latency_p50_ms']:.1f} ms"),
    ]
    if "onnx_fp32" in runs:
        agree = runs["onnx_fp32"]["agreement_with_torch_fp32"]
        targets.append(common.target("same labels as torch fp32, onnx_fp32", "≥ 99.5%", agree, agree >= 0.995, fmt=".2%"))
    for backend in ("torch", "onnx"):
        if f"{backend}_int8" not in runs:
            continue
        fp32, int8 = runs[f"{backend}_fp32"], runs[f"{backend}_int8"]
        loss = (fp32["accuracy"] - int8["accuracy"]) * 100
        targets.append(common.speed_target(f"{backend} int8 vs {backend} fp32 speed", "≥ 1.50×", 1.5,
                                           fp32["seconds"] / int8["seconds"], fp32["cpu_seconds"] / int8["cpu_seconds"], by_cpu))
        targets.append(common.target(f"{backend} int8 accuracy loss vs fp32", "≤ 1 point", loss, loss <= 1.0, note="points"))
    notes = [
        "× pipeline: the pipeline's time over the row's for the same texts (wall clock; 'by CPU time': from the CPU "
        "time of the best passes, which other processes' load hardly changes in a one-thread run).",
        "Utilization ('of peak'): FLOP/s on real tokens over the float matmul peak; not given for int8.",
        "Latency: one text per call, interleaved between the rows; texts/s: best of the passes.",
    ]
    return targets, notes


if __name__ == "__main__":
    main()
