"""What the benchmarks share: their common options, the fine-tuned run they measure, the machine
they ran on, its measured matmul peak, FLOP counts, peak memory, the results files (with the
command, date and machine that produced them) and the markdown tables generated from them."""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psutil
import torch
from sklearn.metrics import accuracy_score, f1_score

from bertclf.environment import machine, machine_line, pick_device
from bertclf.evaluate import baseline
from bertclf.profiles import BUNDLED_MODEL, get_profile

RESULTS_DIR = Path(__file__).parent / "results"
SMOKE_DIR = Path("runs/benchmarks/results")  # results of smaller runs: never committed
MARKDOWN_FILE = "RESULTS.md"
FULL = {"train_size": 4000, "eval_size": 2000}  # the committed results' sizes
SMOKE = {"train_size": 64, "eval_size": 32, "peak_seconds": 0.2}  # --smoke: minutes, not for timing

# Dense (no sparsity) bf16 tensor-core peaks from the vendors' datasheets, in TFLOP/s. The GPU
# runs report MFU against these; a GPU missing here is compared with its measured matmul peak.
GPU_BF16_PEAK_TFLOPS = {  # the more specific names first
    "H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 NVL": 835.0, "H100": 756.0,
    "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 70.0, "A10": 125.0,
}


# ---------------------------------------------------------------- options, the run, the set-up


def parser(prog: str, doc: str, eval_help: str = "test tweets", cpu_only: bool = False) -> argparse.ArgumentParser:
    """The options every benchmark takes; each adds its own."""
    p = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.splitlines()[0])
    p.add_argument("--model", default=BUNDLED_MODEL, help="Hub id or local directory (default: bundled MiniLM)")
    p.add_argument("--device", choices=["cpu"] if cpu_only else None, default="cpu" if cpu_only else None,
                   help="cpu" if cpu_only else "cpu or cuda (default: cuda if present)")
    p.add_argument("--train-size", type=int, default=FULL["train_size"], help="training tweets")
    p.add_argument("--eval-size", type=int, default=FULL["eval_size"], help=eval_help)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads (default: torch's choice, one per core)")
    if not cpu_only:  # the service load test measures no FLOPs
        p.add_argument("--peak-seconds", type=float, default=3.0, help="time spent measuring the matmul peak")
    p.add_argument("--smoke", action="store_true", help=f"a tiny run to check that it works ({SMOKE['train_size']} "
                   f"training and {SMOKE['eval_size']} test tweets); its results go to {SMOKE_DIR}")
    p.add_argument("--out", type=Path, help=f"results folder (default: benchmarks/results at full size, {SMOKE_DIR} otherwise)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/benchmarks"), help="where the fine-tuned runs are kept")
    return p


@dataclass
class Bench:
    """One benchmark's invocation: its options, device, size, results folder and machine."""

    benchmark: str
    args: argparse.Namespace
    argv: list[str]
    device: torch.device
    size: str
    out_dir: Path
    machine: dict

    def say(self, message: str) -> None:
        print(f"[benchmarks.{self.benchmark}] {message}", flush=True)


def begin(benchmark: str, p: argparse.ArgumentParser, argv: list[str] | None, full: bool = True) -> Bench:
    """Parse the options (``--smoke`` shrinks the sizes), set the threads, name the machine.
    ``full``: the benchmark's own settings are at full size too."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if args.smoke:
        for name, value in SMOKE.items():
            if hasattr(args, name):
                setattr(args, name, min(getattr(args, name), value))
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    big = full and not args.smoke and args.train_size >= FULL["train_size"] and args.eval_size >= FULL["eval_size"]
    size = "full" if big else "smoke"
    bench = Bench(benchmark, args, argv, device, size, args.out or (RESULTS_DIR if big else SMOKE_DIR), machine(device))
    bench.say(describe_machine(bench.machine))
    if warning := busy_warning():
        bench.say(f"warning: {warning}")
    return bench


def run_dir(runs_dir: Path, model: str, train_size: int, max_length: int, device: torch.device) -> Path:
    """Where the benchmarks keep the fine-tuned run (written by benchmarks.train, used by the others)."""
    return runs_dir / f"{model_tag(model)}-{device.type}-tweets{train_size}-len{max_length}"


def ensure_run(bench: Bench, run: Path | None = None) -> Path:
    """The fine-tuned run to predict with: ``run``, the one benchmarks.train keeps, or one trained now."""
    from bertclf import data
    from bertclf.train import TrainConfig, fit

    a = bench.args
    if run:
        return run
    run = run_dir(a.runs_dir, a.model, a.train_size, a.max_length, bench.device)
    if not (run / "metrics.json").is_file():
        bench.say(f"no fine-tuned run in {run}: training one (1 epoch)")
        dsd = data.load("tweets", seed=a.seed, train_size=a.train_size, eval_size=a.eval_size)
        fit(dsd, run, TrainConfig(model=a.model, epochs=1, learning_rate=5e-5, batch_size=32,
                                  max_length=a.max_length, seed=a.seed, device=bench.device.type), overwrite=True)
    return run


def ensure_onnx(bench: Bench, run: Path, int8: bool = True) -> None:
    """Export the run's ONNX graphs (fp32, and int8 with ``int8``) if missing or older than its model."""
    from bertclf.serve.export import export_onnx
    from bertclf.serve.onnx import graph_path

    trained = (run / "model.safetensors").stat().st_mtime
    graphs = [graph_path(run, q) for q in ((False, True) if int8 else (False,))]
    if not all(g.is_file() and g.stat().st_mtime >= trained for g in graphs):
        bench.say(f"exporting {run} to ONNX" + (" (fp32 and int8)" if int8 else ""))
        export_onnx(run, quantize=int8)


def finish(bench: Bench, title: str, settings: dict, runs: dict, targets: list[dict], notes: list[str],
           **extra) -> dict:
    """The result record with its provenance (command, date, machine, settings); saved, printed."""
    name = "serve" if bench.benchmark == "serve_load" else bench.benchmark
    result = {
        "name": result_name(name, bench.device, bench.args.model),
        "benchmark": bench.benchmark,
        "title": title,
        "command": " ".join([f"python -m benchmarks.{bench.benchmark}", *bench.argv]),
        "created": now(),
        "size": bench.size,
        "machine": {**bench.machine, "load_average_1min_at_end": round(os.getloadavg()[0], 2)},
        "settings": {"model": bench.args.model, "device": bench.device.type, **settings,
                     "threads": torch.get_num_threads()},
        **extra,
        "runs": runs,
        "targets": targets,
        "notes": notes,
    }
    path = save(result, bench.out_dir)
    print()
    print(render(result))
    bench.say(f"wrote {path} and {path.parent / MARKDOWN_FILE}")
    return result


# ---------------------------------------------------------------- the machine


def describe_machine(info: dict) -> str:
    """One line naming the machine of a result (``bertclf.environment.machine_line``), its OS and load."""
    load = info.get("load_average_1min_at_start")
    return f"{machine_line(info)}, {info['os']}" + (f"; load average at start {load}" if load is not None else "")


def busy_warning(threshold: float | None = None) -> str | None:
    """A warning when other processes keep the machine's cores busy (timings are then noisy)."""
    load = os.getloadavg()[0]
    limit = threshold if threshold is not None else 0.5 * (os.cpu_count() or 1)
    if load > limit:
        return f"load average {load:.1f} on {os.cpu_count()} cores: other processes are running, ratios are noisier"
    return None


# ---------------------------------------------------------------- the hardware limit


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int | None = None, seconds: float = 2.0) -> tuple[float, float]:
    """The best FLOP/s of a large square matmul on ``device`` (the practical hardware peak):
    per wall-clock second, and per CPU second of this process. The second one hardly changes
    when other processes share the cores and torch runs one thread."""
    n = size or (8192 if device.type != "cpu" else 2048 if seconds >= 1 else 1024)
    repeats = 1 if device.type == "cpu" else 10
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    with torch.inference_mode():
        a @ b  # warm up (thread pool, kernels)
        synchronize(device)
        best = best_cpu = 0.0
        deadline = time.perf_counter() + seconds
        while True:
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(repeats):
                a @ b
            synchronize(device)
            elapsed = time.perf_counter() - start
            cpu_elapsed = time.process_time() - cpu_start
            best = max(best, 2 * n**3 * repeats / elapsed)
            if cpu_elapsed > 0:
                best_cpu = max(best_cpu, 2 * n**3 * repeats / cpu_elapsed)
            if time.perf_counter() > deadline:
                return best, best_cpu


def judge_by_cpu_time(device: torch.device) -> bool:
    """Whether speed targets are judged on CPU time: on CPU with one torch thread, where the
    CPU time a run consumes is its work whatever else runs on the machine (with several
    threads it also counts their spin-waiting, so wall-clock time is used)."""
    return device.type == "cpu" and torch.get_num_threads() == 1


def gpu_spec_peak(name: str) -> float | None:
    """The datasheet bf16 peak (FLOP/s) of a GPU by name, if known."""
    for key, tflops in GPU_BF16_PEAK_TFLOPS.items():  # the more specific names come first
        if key.lower() in name.lower():
            return tflops * 1e12
    return None


class Peak:
    """The matmul peak measured before and after the runs (the larger counts), and the
    reference that utilization is computed against (the datasheet peak on a known GPU)."""

    def __init__(self, bench: Bench) -> None:
        self.device, self.seconds = bench.device, bench.args.peak_seconds
        self.dtype = torch.float32 if self.device.type == "cpu" else torch.bfloat16
        self.spec = gpu_spec_peak(bench.machine.get("gpu", "")) if self.device.type == "cuda" else None
        self.before = matmul_peak(self.device, self.dtype, seconds=self.seconds)

    def measure_again(self) -> None:
        self.after = matmul_peak(self.device, self.dtype, seconds=self.seconds)
        self.wall = max(self.before[0], self.after[0])
        self.cpu = max(self.before[1], self.after[1])
        self.reference = self.spec or self.wall

    def record(self) -> dict:
        return {
            "dtype": "fp32" if self.device.type == "cpu" else "bf16",
            "measured_tflops": self.wall / 1e12,
            "measured_tflops_before_after": [self.before[0] / 1e12, self.after[0] / 1e12],
            "measured_tflops_per_cpu_second": self.cpu / 1e12 if self.device.type == "cpu" else None,
            "spec_tflops": self.spec / 1e12 if self.spec else None,
            "utilization_against": "datasheet bf16 peak" if self.spec else "measured matmul peak",
        }


# ---------------------------------------------------------------- FLOP counts


def flop_model(model: torch.nn.Module) -> dict:
    """Parameter counts that set a transformer classifier's FLOPs.

    ``per_token``: the encoder layers (every token goes through them); ``per_sequence``: pooler
    and classification head (only the [CLS] vector goes through them); embeddings are lookups.
    """
    per_token = per_sequence = embedding = 0
    for name, param in model.named_parameters():
        if "embeddings" in name:
            embedding += param.numel()
        elif any(part in name for part in ("pooler", "classifier", "score")):
            per_sequence += param.numel()
        else:
            per_token += param.numel()
    config = model.config
    return {
        "per_token_params": per_token,
        "per_sequence_params": per_sequence,
        "embedding_params": embedding,
        "layers": int(config.num_hidden_layers),
        "hidden": int(config.hidden_size),
    }


def padding_fraction(lengths, batch_size: int) -> float:
    """Share of padding when ``lengths`` are batched in this order, each batch padded to its longest."""
    real = total = 0
    for start in range(0, len(lengths), batch_size):
        batch = lengths[start : start + batch_size]
        real += int(sum(batch))
        total += int(max(batch)) * len(batch)
    return 1 - real / max(total, 1)


def sequence_flops(lengths, fm: dict, training: bool, last_layer_at_cls: bool = False) -> float:
    """FLOPs spent on the real (non-padding) tokens of sequences with these lengths.

    Forward: 2 FLOPs per parameter per token for the weight matmuls, plus 4·L·h·s² for the
    attention scores and the weighted sum; training (forward + backward) costs three times that.
    ``last_layer_at_cls`` (``bertclf.models.cls_forward``): the last layer's tokens after [CLS] only go
    through its key and value projections (2·h² weights), and only [CLS] attends.
    """
    factor = 3 if training else 1
    h, per_layer = fm["hidden"], fm["per_token_params"] / fm["layers"]
    total = 0.0
    for s in lengths:
        total += 2 * fm["per_token_params"] * s + 2 * fm["per_sequence_params"] + 4 * fm["layers"] * h * s * s
        if last_layer_at_cls:
            total -= 2 * (per_layer - 2 * h * h) * (s - 1) + 4 * h * s * (s - 1)
    return factor * total


# ---------------------------------------------------------------- memory


def release_memory() -> None:
    """Free what can be freed, and hand freed heap pages back to the OS (glibc), between runs."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory while the block runs: process RSS sampled every 10 ms on CPU, the caching
    allocator's peak on CUDA. ``peak_mb`` is absolute, ``added_mb`` above the level at entry."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak_mb = self.added_mb = 0.0

    def __enter__(self) -> PeakMemory:
        release_memory()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return self
        self._process = psutil.Process()
        self._base = self._peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, self._process.memory_info().rss)
        self.peak_mb = peak / 2**20
        self.added_mb = (peak - self._base) / 2**20


# ---------------------------------------------------------------- results


def model_tag(model: str) -> str:
    return "minilm" if model == BUNDLED_MODEL else re.sub(r"[^A-Za-z0-9.]+", "-", str(model).rstrip("/").split("/")[-1]).lower()


def result_name(benchmark: str, device: torch.device, model: str) -> str:
    """``train-cpu-minilm-2threads``, ``predict-cuda-bert-base-uncased``, ..."""
    threads = f"-{torch.get_num_threads()}thread{'s' if torch.get_num_threads() > 1 else ''}" if device.type == "cpu" else ""
    return f"{benchmark}-{device.type}-{model_tag(model)}{threads}"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def save(result: dict, out_dir: Path) -> Path:
    """Write ``result`` as ``<out_dir>/<name>.json`` and regenerate the markdown table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['name']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    write_markdown(out_dir)
    return path


def load_all(out_dir: Path = RESULTS_DIR) -> list[dict]:
    """Every result file in ``out_dir``, training results first (other files, such as
    chinese_transfer.json, hold other kinds of results and are left out)."""
    results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(out_dir).glob("*.json"))]
    results = [r for r in results if isinstance(r, dict) and "benchmark" in r]
    return sorted(results, key=lambda r: (r["benchmark"] != "train", r["name"]))


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """A markdown table: ``columns`` are (header, key, format) triples."""
    def cell(row, key, fmt):
        value = row.get(key)
        if value is None:
            return "–"
        return format(value, fmt) if fmt else str(value)

    lines = ["| " + " | ".join(h for h, _, _ in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r, k, f) for _, k, f in columns) + " |" for r in rows]
    return "\n".join(lines)


TRAIN_COLUMNS = [
    ("run", "label", ""),
    ("samples/s", "samples_per_second", ".1f"),
    ("real tokens/s", "real_tokens_per_second", ".0f"),
    ("padding", "padding_fraction", ".1%"),
    ("epoch s", "epoch_seconds", ".1f"),
    ("epoch CPU s", "epoch_cpu_seconds", ".1f"),
    ("peak mem MB (+run)", "peak_memory_added_mb", ".0f"),
    ("test acc", "test_accuracy", ".4f"),
    ("real-token FLOP/s", "real_token_tflops", ".3f"),
    ("of peak", "flop_utilization", ".1%"),
    ("of peak, CPU time", "flop_utilization_cpu_time", ".1%"),
    ("bertclf speed-up", "bertclf_speedup", ".2f"),
    ("by CPU time", "bertclf_speedup_cpu_time", ".2f"),
]

PREDICT_COLUMNS = [
    ("run", "label", ""),
    ("texts/s", "texts_per_second", ".1f"),
    ("texts per CPU s", "texts_per_cpu_second", ".1f"),
    ("padding", "padding_fraction", ".1%"),
    ("p50 ms (1 text)", "latency_p50_ms", ".1f"),
    ("p95 ms (1 text)", "latency_p95_ms", ".1f"),
    ("accuracy", "accuracy", ".4f"),
    ("same label as torch fp32", "agreement_with_torch_fp32", ".2%"),
    ("same label as pipeline", "agreement_with_pipeline", ".2%"),
    ("of peak", "flop_utilization", ".1%"),
    ("× pipeline", "vs_pipeline", ".2f"),
    ("by CPU time", "vs_pipeline_cpu_time", ".2f"),
]

SERVE_COLUMNS = [
    ("run", "label", ""),
    ("clients", "clients", "d"),
    ("requests", "requests", "d"),
    ("errors", "errors", "d"),
    ("requests/s", "requests_per_second", ".1f"),
    ("p50 ms", "latency_p50_ms", ".1f"),
    ("p95 ms", "latency_p95_ms", ".1f"),
    ("p99 ms", "latency_p99_ms", ".1f"),
    ("texts per model call", "mean_batch", ".1f"),
]

COLUMNS = {"train": TRAIN_COLUMNS, "predict": PREDICT_COLUMNS, "serve_load": SERVE_COLUMNS}

TARGET_COLUMNS = [
    ("target", "target", ""),
    ("required", "required", ""),
    ("measured", "measured_text", ""),
    ("met", "met_text", ""),
]


def speed_target(name: str, required: str, minimum: float, wall: float, cpu: float | None, by_cpu: bool,
                 fmt: str = ".2f", suffix: str = "×") -> dict:
    """A speed target judged on the CPU-time ratio (``by_cpu``) or the wall-clock one; the other is shown."""
    if by_cpu and cpu is not None:
        return target(name, required, cpu, cpu >= minimum, fmt, f"by CPU time; wall clock {wall:{fmt}}{suffix}")
    note = f"wall clock; CPU time {cpu:{fmt}}{suffix}" if cpu is not None else ""
    return target(name, required, wall, wall >= minimum, fmt, note)


def target(name: str, required: str, measured: float, ok: bool, fmt: str = ".2f", note: str = "") -> dict:
    return {
        "target": name, "required": required, "measured": measured,
        "measured_text": format(measured, fmt) + (f" ({note})" if note else ""),
        "met": bool(ok), "met_text": "yes" if ok else "**no**",
    }


def render(result: dict) -> str:
    """The markdown section of one result: settings, machine, table, targets."""
    columns = COLUMNS[result["benchmark"]]
    s = result["settings"]
    threads = s.get("threads")
    heading = result["title"] + (f", {threads} thread{'s' if threads > 1 else ''}" if s.get("device") == "cpu" and threads else "")
    parts = [
        f"### {heading}",
        "",
        f"`{result['command']}` — {result['created']}, {result['size']} size",
        "",
        f"Machine: {describe_machine(result['machine'])}." + _describe_peak(result.get("peak")),
        "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in s.items()) + ".",
        "",
        table(list(result["runs"].values()), columns),
        "",
        table(result["targets"], TARGET_COLUMNS),
    ]
    if result.get("notes"):
        parts += [""] + [f"- {note}" for note in result["notes"]]
    return "\n".join(parts) + "\n"


def _describe_peak(peak: dict | None) -> str:
    if not peak:  # the service load test measures no FLOPs
        return ""
    return (
        f" Measured matmul peak ({peak['dtype']}): {peak['measured_tflops']:.3f} TFLOP/s"
        + (f" ({peak['measured_tflops_per_cpu_second']:.3f} per CPU second)" if peak.get("measured_tflops_per_cpu_second") else "")
        + (f"; datasheet peak {peak['spec_tflops']:.0f} TFLOP/s" if peak.get("spec_tflops") else "")
        + "."
    )


def write_markdown(out_dir: Path = RESULTS_DIR) -> Path:
    """Regenerate ``RESULTS.md`` from every result file in ``out_dir``."""
    sections = [render(r) for r in load_all(out_dir)]
    text = (
        "# Benchmark results\n\n"
        "Generated by `python -m benchmarks.train` / `benchmarks.predict` / `benchmarks.serve_load` from the JSON files "
        "beside this one; do not edit by hand. Speed-ups are ratios of runs side by side in one process "
        "on one machine.\n\n" + "\n".join(sections)
    )
    path = Path(out_dir) / MARKDOWN_FILE
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- multi-seed accuracy files


def accuracy_meta(previous: dict | None, command: str, **extra) -> dict:
    """The ``meta`` of a multi-seed results file (``benchmarks.seeds``, ``benchmarks.chinese_transfer``):
    every command that added runs (once each), the profile, the date and this machine, and the
    date and machine of each earlier run (their rows' minutes were measured there)."""
    here, previous = machine(torch.device("cpu")), previous or {}
    earlier = previous.get("earlier", []) + ([{k: previous[k] for k in ("date", "machine_line")}] if previous else [])
    return {**extra, "commands": list(dict.fromkeys([*previous.get("commands", []), command])),
            "profile": get_profile().name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": here, "machine_line": describe_machine(here), "earlier": earlier}


def provenance_markdown(meta: dict) -> list[str]:
    """The lines under a multi-seed results file's title: its commands, profile, date and machines."""
    return ["Commands: " + " ; ".join(f"`{c}`" for c in meta["commands"]),
            f"Profile {meta['profile']} · last run {meta['date']}", f"Machine: {meta['machine_line']}",
            *(f"Earlier runs: {run['date']}, {run['machine_line']}" for run in meta.get("earlier", [])), ""]


def baseline_record(dsd, analyzer: str) -> dict:
    """TF-IDF + logistic regression fitted on ``dsd``'s training texts, scored per test text."""
    start = time.perf_counter()
    predicted, truth = baseline.baseline_predictions(dsd, analyzer), np.asarray(dsd["test"]["label"])
    return {"accuracy": accuracy_score(truth, predicted), "macro_f1": f1_score(truth, predicted, average="macro"),
            "correct": (predicted == truth).astype(int).tolist(), "train_size": len(dsd["train"]),
            "minutes": (time.perf_counter() - start) / 60}


def fit_record(result, config, seconds: float, **fields) -> dict:
    """A finished ``bertclf.train.fit`` run as a results-file entry, scored per test text."""
    return {**fields, "model": config.model, "config": config.__dict__, "best_epoch": result.best_epoch,
            "validation": result.validation, "history": result.history, "test": result.test_metrics,
            "correct": (result.test.preds == result.test.labels).astype(int).tolist(), "fit_minutes": seconds / 60}
