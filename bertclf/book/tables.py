"""Tables the chapters display: committed multi-seed results paired against their baseline,
benchmark results with their targets, per-text predictions, and model sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bertclf.environment import machine_line
from bertclf.evaluate.compare import compare


def paired_table(results: dict, size: str) -> pd.DataFrame:
    """A committed multi-seed results file (``benchmarks.chinese_transfer``, ``benchmarks.seeds``)
    at one training size: each model's test scores over its seeds, paired against the baseline."""
    base = results["baseline"][size]
    lines = [{"model": results.get("baseline_name", "char TF-IDF + LR"), "seeds": 1, "test accuracy": base["accuracy"], "± std": 0.0,
              "macro-F1": base["macro_f1"], "minutes": base["minutes"]}]
    for row, name in results["row_names"].items():
        found = runs_of(results, row, size)
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


def runs_of(results: dict, row: str, size: str) -> list[dict]:
    """A committed multi-seed results file's runs of one row at one training size."""
    return [r for r in results["runs"].values() if r["row"] == row and r["size"] == size]


def validation_by_seed(results: dict, rows: list[str], size: str) -> pd.DataFrame:
    """Validation accuracy of ``rows`` seed by seed at one training size, a column per row (named
    as in the results file): what a default is chosen on. A seed one row lacks shows NaN."""
    names = results["row_names"]
    return pd.DataFrame({names[row]: {r["seed"]: r["validation"]["accuracy"] for r in runs_of(results, row, size)}
                         for row in rows}).sort_index().rename_axis("seed")


def trials_table(results: dict, row: str = "main") -> pd.DataFrame:
    """Validation accuracy of the fine-tuning settings tried for one encoder (``row``), next to
    the profile's settings (that row's run with seed 0 at the quick size)."""
    default = results["runs"][f"{row}/quick/0"]
    lines = [{"settings": f"the profile's ({_settings(default['config'])})", **_by_epoch(default)}]
    lines += [{"settings": name, **_by_epoch(trial)} for name, trial in results.get("trials", {}).get(row, {}).items()]
    frame = pd.DataFrame(lines).set_index("settings")
    epochs = sorted((c for c in frame if c != "best validation accuracy"), key=lambda c: int(c.split()[-1]))
    return frame[[*epochs, "best validation accuracy"]]


def _settings(config: dict) -> str:
    rate = f"{config['learning_rate']:g}".replace("e-0", "e-")  # 5e-05 → 5e-5
    frozen = ", word embeddings frozen" if config.get("freeze_word_embeddings") else ""
    return f"learning rate {rate}, {config['epochs']} epochs{frozen}"


def _by_epoch(run: dict) -> dict:
    epochs = {f"validation accuracy, epoch {h['epoch']}": h["val_accuracy"] for h in run.get("history", [])}
    return {**epochs, "best validation accuracy": run["validation"]["accuracy"]}


BENCHMARK_FORMATS = {
    "samples/s": "{:.1f}", "real tokens/s": "{:.0f}", "padding": "{:.1%}", "peak memory +MB": "{:.0f}",
    "test accuracy": "{:.4f}", "real-token FLOP/s of peak": "{:.1%}", "of peak, by CPU time": "{:.1%}",
    "bertclf speed-up": "{:.2f}×", "by CPU time": "{:.2f}×", "texts/s": "{:.1f}", "p50 ms": "{:.1f}",
    "p95 ms": "{:.1f}", "accuracy": "{:.4f}", "same label as torch fp32": "{:.2%}",
    "same label as pipeline": "{:.2%}", "texts per CPU s": "{:.1f}", "× pipeline": "{:.2f}×",
    "requests/s": "{:.1f}", "p99 ms": "{:.1f}", "texts per model call": "{:.1f}",
}


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

    from bertclf.models.load import count_parameters

    rows = dict(models or {})
    for name, sizes in BERT_SIZES.items():
        with torch.device("meta"):
            rows[name] = BertModel(BertConfig(**sizes))
    return pd.DataFrame({
        "parameters (M)": {name: count_parameters(m) / 1e6 for name, m in rows.items()},
        "in the encoder layers (M)": {name: count_parameters(m.base_model.encoder) / 1e6 for name, m in rows.items()},
    })
