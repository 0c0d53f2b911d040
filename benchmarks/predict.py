"""Prediction speed: ``bertclf.inference.Classifier.predict`` against ``transformers.pipeline``.

    python -m benchmarks.predict                      # bundled MiniLM, 2,000 tweets, CPU
    python -m benchmarks.predict --model DIR --device cuda   # e.g. BERT-base in bf16 on a GPU

The same fine-tuned run (the one ``python -m benchmarks.train`` keeps, or one trained here if
missing) is loaded by both: ``Classifier.load(run_dir)`` and ``pipeline("text-classification",
model=run_dir, batch_size=32)`` with the same truncation. On CPU both also run with int8
dynamic quantization of the Linear layers. Reported: texts/s over the test tweets (best of
``--repeats``, interleaved), single-text latency p50/p95, accuracy and its change, and how
often the two give the same label.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import common
from benchmarks.train import FULL, bertclf_run_dir
from bertclf import data
from bertclf.inference import Classifier, quantize_int8
from bertclf.profiles import BUNDLED_MODEL, pick_device
from bertclf.train import TrainConfig, fit

LABELS = {
    "bertclf_fp32": "bertclf Classifier.predict, fp32",
    "pipeline_fp32": "transformers.pipeline, fp32",
    "pipeline_fp32_presorted": "transformers.pipeline, fp32, texts sorted by length first (diagnostic)",
    "bertclf_int8": "bertclf Classifier.predict, int8",
    "pipeline_int8": "transformers.pipeline, int8",
    "bertclf_bf16": "bertclf Classifier.predict, bf16",
    "pipeline_bf16": "transformers.pipeline, bf16",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.predict", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=BUNDLED_MODEL, help="Hub id or local directory (default: bundled MiniLM)")
    p.add_argument("--device", help="cpu or cuda (default: cuda if present)")
    p.add_argument("--run-dir", type=Path, help="a fine-tuned bertclf run (default: the benchmark's, trained if missing)")
    p.add_argument("--train-size", type=int, default=FULL["train_size"], help="training tweets if a run is trained here")
    p.add_argument("--eval-size", type=int, default=FULL["eval_size"], help="test tweets to predict")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--latency-texts", type=int, default=200, help="single-text calls timed for p50/p95")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the test texts; the best counts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    p.add_argument("--peak-seconds", type=float, default=3.0, help="time spent measuring the matmul peak")
    p.add_argument("--out", type=Path, help="results folder (default: benchmarks/results at full size, "
                   "runs/benchmarks/results otherwise)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/benchmarks"), help="where benchmark runs are kept")
    return p.parse_args(argv)


def ensure_run(args, device: torch.device) -> Path:
    """The fine-tuned run to predict with: given, kept by benchmarks.train, or trained now."""
    if args.run_dir:
        return args.run_dir
    run_dir = bertclf_run_dir(args.runs_dir, args.model, args.train_size, args.max_length, device)
    if (run_dir / "metrics.json").is_file():
        return run_dir
    print(f"[benchmarks.predict] no fine-tuned run in {run_dir}: training one (1 epoch)", flush=True)
    dsd = data.load("tweets", seed=args.seed, train_size=args.train_size, eval_size=args.eval_size)
    fit(dsd, run_dir, TrainConfig(model=args.model, epochs=1, learning_rate=5e-5, batch_size=32,
                                  max_length=args.max_length, seed=args.seed, device=device.type))
    return run_dir


class Engine:
    """One way of predicting: a batch call, a single-text call, and the label ids it returns."""

    def __init__(self, name: str, batch, single) -> None:
        self.name, self.batch, self.single = name, batch, single


def make_engines(run_dir: Path, device: torch.device, args, label_names: list[str]) -> list[Engine]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    index = {name: i for i, name in enumerate(label_names)}
    engines = []

    def add_bertclf(name: str, clf: Classifier) -> None:
        def batch(texts):
            return np.array([index[p["label"]] for p in clf.predict(texts, batch_size=args.batch_size)])

        engines.append(Engine(name, batch, lambda text: clf.predict([text])))

    def add_pipeline(name: str, model, tokenizer, presort: bool = False, **kwargs) -> None:
        pipe = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device, **kwargs)
        call = {"truncation": True, "max_length": args.max_length}

        def batch(texts):
            order = np.arange(len(texts))
            if presort:  # what bertclf does: batches of similar lengths, results back in input order
                lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
                order = np.argsort(lengths, kind="stable")
            labels = np.empty(len(texts), dtype=int)
            labels[order] = [index[p["label"]] for p in pipe([texts[i] for i in order], batch_size=args.batch_size, **call)]
            return labels

        engines.append(Engine(name, batch, lambda text: pipe(text, **call)))

    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    if device.type == "cpu":
        add_bertclf("bertclf_fp32", Classifier.load(run_dir, device="cpu"))
        add_pipeline("pipeline_fp32", str(run_dir), tokenizer)
        add_pipeline("pipeline_fp32_presorted", str(run_dir), tokenizer, presort=True)
        add_bertclf("bertclf_int8", Classifier.load(run_dir, quantize=True))
        add_pipeline("pipeline_int8", quantize_int8(AutoModelForSequenceClassification.from_pretrained(run_dir).eval()), tokenizer)
    else:
        clf = Classifier.load(run_dir, device=device.type)
        clf.model.to(torch.bfloat16)
        add_bertclf("bertclf_bf16", clf)
        add_pipeline("pipeline_bf16", str(run_dir), tokenizer, dtype=torch.bfloat16)
    return engines


def time_call(fn, device: torch.device) -> float:
    common.synchronize(device)
    start = time.perf_counter()
    fn()
    common.synchronize(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    size = "full" if args.eval_size >= FULL["eval_size"] else "smoke"
    out_dir = args.out or (common.RESULTS_DIR if size == "full" else Path("runs/benchmarks/results"))
    info = common.machine(device)
    print(f"[benchmarks.predict] {common.describe_machine(info)}", flush=True)
    if warning := common.busy_warning():
        print(f"[benchmarks.predict] warning: {warning}", flush=True)

    run_dir = ensure_run(args, device)
    dsd = data.load("tweets", seed=args.seed, train_size=args.train_size, eval_size=args.eval_size)
    texts, labels = list(dsd["test"]["text"]), np.asarray(dsd["test"]["label"])
    names = data.label_names(dsd)
    peak_dtype = torch.float32 if device.type == "cpu" else torch.bfloat16
    peak_before, peak_cpu_before = common.matmul_peak(device, peak_dtype, seconds=args.peak_seconds)

    engines = make_engines(run_dir, device, args, names)
    clf = Classifier.load(run_dir, device="cpu")
    fm = common.flop_model(clf.model)
    lengths = [len(ids) for ids in clf.tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    useful_flops = common.sequence_flops(lengths, fm, training=False)
    real_tokens = sum(lengths)
    del clf
    padding = {  # share of padding in the batches each engine computes on
        "sorted": common.padding_fraction(np.sort(lengths), args.batch_size),
        "input order": common.padding_fraction(np.asarray(lengths), args.batch_size),
    }

    predictions, seconds, cpu = {}, {e.name: [] for e in engines}, {e.name: [] for e in engines}
    for engine in engines:  # warm up: thread pools, kernels, quantized weights packing
        engine.batch(texts[: 2 * args.batch_size])
        engine.single(texts[0])
    for repeat in range(args.repeats):
        for engine in engines:
            print(f"[benchmarks.predict] {LABELS[engine.name]}: {len(texts)} texts (pass {repeat + 1}/{args.repeats})", flush=True)
            cpu_start = time.process_time()
            seconds[engine.name].append(time_call(lambda: predictions.__setitem__(engine.name, engine.batch(texts)), device))
            cpu[engine.name].append(time.process_time() - cpu_start)
    rng = np.random.default_rng(args.seed)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(args.latency_texts, len(texts)), replace=False)]
    latencies = {e.name: [] for e in engines}
    for text in sample:  # interleaved, so that a busy moment hits every engine alike
        for engine in engines:
            latencies[engine.name].append(time_call(lambda: engine.single(text), device) * 1000)
    peak_after, peak_cpu_after = common.matmul_peak(device, peak_dtype, seconds=args.peak_seconds)
    measured_peak, measured_peak_cpu = max(peak_before, peak_after), max(peak_cpu_before, peak_cpu_after)
    by_cpu = common.judge_by_cpu_time(device)
    spec_peak = common.gpu_spec_peak(info.get("gpu", "")) if device.type == "cuda" else None
    reference_peak = spec_peak or measured_peak

    precision = "fp32" if device.type == "cpu" else "bf16"
    reference = predictions[f"pipeline_{precision}"]
    reference_accuracy = float((reference == labels).mean())
    runs = {}
    for engine in engines:
        best = min(seconds[engine.name])
        accuracy = float((predictions[engine.name] == labels).mean())
        runs[engine.name] = {
            "label": LABELS[engine.name],
            "seconds": best,
            "all_seconds": seconds[engine.name],
            "cpu_seconds": min(cpu[engine.name]),
            "all_cpu_seconds": cpu[engine.name],
            "texts": len(texts),
            "texts_per_second": len(texts) / best,
            "padding_fraction": padding["input order" if engine.name in ("pipeline_fp32", "pipeline_int8", "pipeline_bf16") else "sorted"],
            "real_tokens_per_second": real_tokens / best,
            "latency_p50_ms": float(np.percentile(latencies[engine.name], 50)),
            "latency_p95_ms": float(np.percentile(latencies[engine.name], 95)),
            "accuracy": accuracy,
            "accuracy_change": accuracy - reference_accuracy,
            "agreement_with_pipeline": float((predictions[engine.name] == reference).mean()),
            # int8 matmuls are not measured against the float peak: no utilization for them
            "flop_utilization": None if "int8" in engine.name else useful_flops / best / reference_peak,
            "flop_utilization_cpu_time": (useful_flops / min(cpu[engine.name]) / measured_peak_cpu
                                          if device.type == "cpu" and "int8" not in engine.name else None),
        }
    for name in list(runs):  # each pipeline row: how much faster bertclf is at the same precision
        mine = runs["bertclf_" + name.split("_")[1]]
        runs[name]["bertclf_speedup"] = runs[name]["seconds"] / mine["seconds"]
        runs[name]["bertclf_speedup_cpu_time"] = runs[name]["cpu_seconds"] / mine["cpu_seconds"]

    targets, limits = [], []
    b, p = runs[f"bertclf_{precision}"], runs[f"pipeline_{precision}"]
    if "pipeline_fp32_presorted" in runs:
        sorted_run = runs["pipeline_fp32_presorted"]
        presorted = sorted_run["bertclf_speedup_cpu_time" if by_cpu else "bertclf_speedup"]
        used = b["flop_utilization_cpu_time" if by_cpu else "flop_utilization"]
        limits.append(
            f"What limits the fp32 speed-up: fed the same texts sorted by length, the pipeline takes "
            f"{presorted:.2f}x bertclf's time ({'so its own overhead is small' if presorted < 1.15 else 'its per-text overhead'}); "
            f"in input order {p['padding_fraction']:.1%} of its token positions are padding vs "
            f"{b['padding_fraction']:.1%} in bertclf's sorted batches, i.e. "
            f"{(1 - b['padding_fraction']) / (1 - p['padding_fraction']):.2f}x the positions (more for the "
            f"quadratic attention). bertclf's fp32 forward runs at {used:.0%} of the matmul peak."
        )
    targets.append(common.speed_target(f"predict speed vs pipeline, {precision}", "≥ 2.00×", 2.0, p["bertclf_speedup"],
                                       p["bertclf_speedup_cpu_time"] if device.type == "cpu" else None, by_cpu))
    targets.append(common.target(f"same labels as pipeline, {precision}", "≥ 99.5%", b["agreement_with_pipeline"],
                                 b["agreement_with_pipeline"] >= 0.995, fmt=".2%"))
    if device.type == "cpu":
        q = runs["bertclf_int8"]
        speedup = b["seconds"] / q["seconds"]
        cpu_speedup = b["cpu_seconds"] / q["cpu_seconds"]
        loss = (b["accuracy"] - q["accuracy"]) * 100
        targets.append(common.speed_target("bertclf int8 vs bertclf fp32 speed", "≥ 1.50×", 1.5, speedup, cpu_speedup, by_cpu))
        targets.append(common.target("int8 accuracy loss vs fp32", "≤ 1 point", loss, loss <= 1.0, note="points"))

    command = " ".join(["python -m benchmarks.predict", *(sys.argv[1:] if argv is None else argv)])
    result = {
        "name": common.result_name("predict", device, args.model),
        "benchmark": "predict",
        "title": f"Prediction: {common.model_tag(args.model)} on {len(texts)} tweets, {device.type}",
        "command": command,
        "created": common.now(),
        "size": size,
        "machine": {**info, "load_average_1min_at_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "model": args.model, "run_dir": str(run_dir), "device": device.type, "texts": len(texts),
            "batch_size": args.batch_size, "max_length": args.max_length, "latency_texts": len(sample),
            "repeats": args.repeats, "threads": torch.get_num_threads(),
            "targets_judged_by": "CPU time" if by_cpu else "wall clock",
        },
        "peak": {
            "dtype": "fp32" if device.type == "cpu" else "bf16",
            "measured_tflops": measured_peak / 1e12,
            "measured_tflops_before_after": [peak_before / 1e12, peak_after / 1e12],
            "measured_tflops_per_cpu_second": measured_peak_cpu / 1e12 if device.type == "cpu" else None,
            "spec_tflops": spec_peak / 1e12 if spec_peak else None,
            "utilization_against": "datasheet bf16 peak" if spec_peak else "measured fp32 matmul peak",
        },
        "runs": runs,
        "targets": targets,
        "notes": limits + [
            "Speed-up = the pipeline's time / bertclf's time at the same precision; int8 rows use the same "
            "torch dynamic quantization for both.",
            "Utilization ('of peak'): FLOP/s on real tokens over the float matmul peak; not given for int8.",
            "Latency: one text per call, interleaved between the engines; texts/s: best of the passes. "
            "'By CPU time': the speed-up from the CPU time of the best passes (robust to other processes' load "
            "in a one-thread run).",
        ],
    }
    path = common.save(result, out_dir)
    print()
    print(common.render(result))
    print(f"[benchmarks.predict] wrote {path} and {path.parent / common.MARKDOWN_FILE}")
    return result


if __name__ == "__main__":
    main()
