"""A model card for every run directory: ``README.md`` in the Hugging Face Hub's format.

The card says what a reader of the directory needs before reusing the model: the base model,
the data and its splits, the training settings, the scores next to the baseline's, the
versions, and what the model is (and is not) for. It is rebuilt from the run's own files.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import ModelCardData

from bertclf.runs.atomic import read_json, write_text
from bertclf.runs.layout import INFO_FILE, METRICS_FILE

CARD_FILE = "README.md"


def write_run_card(run_dir: str | Path, baseline: dict | None = None) -> Path:
    """Write ``run_dir/README.md`` (``baseline``: the TF-IDF baseline's test scores, if known)."""
    run_dir = Path(run_dir)
    path = run_dir / CARD_FILE
    write_text(path, run_card(run_dir, baseline))
    return path


def run_card(run_dir: str | Path, baseline: dict | None = None) -> str:
    """The model card of a finished run, as Markdown with YAML metadata."""
    run_dir = Path(run_dir)
    info = read_json(run_dir / INFO_FILE)
    metrics = read_json(run_dir / METRICS_FILE)
    config = info["config"]
    return "\n".join([
        _metadata(info),
        f"# {run_dir.name}: a fine-tuned text classifier\n",
        f"Fine-tuned from `{_base_name(config['model'])}` with `bertclf` "
        f"(profile `{info.get('profile', '?')}`) to predict one of "
        f"{len(info['label_names'])} labels: {', '.join(f'`{n}`' for n in info['label_names'])}.\n",
        "## Data\n", _data_section(info),
        "## Training\n", _config_table(config),
        f"\nBest epoch (chosen on validation by {config.get('select_by', 'accuracy')}): "
        f"{metrics.get('best_epoch')}.\n",
        "## Results\n", _results_table(metrics, baseline),
        "## Use\n", _usage(run_dir),
        "## Intended use and limits\n", _limits(info),
        "## Versions\n", "```json\n" + json.dumps(info.get("versions", {}), indent=1) + "\n```\n",
    ])


def _metadata(info: dict) -> str:
    """The card's YAML header, in the Hub's schema (``huggingface_hub.ModelCardData``)."""
    base = _base_name(info["config"]["model"])
    hub_id = "/" in base and not Path(base).exists()  # a Hub id, not a local directory
    data = ModelCardData(library_name="transformers", pipeline_tag="text-classification",
                         tags=["bertclf", "text-classification"], metrics=["accuracy", "f1"],
                         base_model=base if hub_id else None)
    return f"---\n{data.to_yaml()}\n---\n"


def _base_name(model: str) -> str:
    """A cached local encoder is named by its directory (e.g. ``bundled-minilm-zh-<hash>``)."""
    return Path(model).name if Path(model).is_absolute() else model


def _data_section(info: dict) -> str:
    source = info.get("data") or {}
    origin = source.get("dataset") or source.get("csv") or "an in-memory DatasetDict"
    lines = [f"- Source: `{origin}` (split seed {source.get('seed', '?')})"]
    for split, record in (info.get("splits") or {}).items():
        lines.append(f"- `{split}`: {record['rows']:,} texts (sha256 of texts and labels `{record['sha256'][:12]}`)")
    return "\n".join(lines) + "\n"


def _config_table(config: dict) -> str:
    rows = [f"| {key} | `{value}` |" for key, value in config.items() if value is not None]
    return "\n".join(["| setting | value |", "|:--|:--|", *rows])


def _results_table(metrics: dict, baseline: dict | None) -> str:
    rows = ["| split | model | accuracy | macro-F1 |", "|:--|:--|--:|--:|"]
    for split in ("validation", "test"):
        scores = metrics.get(split) or {}
        if scores:
            rows.append(f"| {split} | this model | {scores['accuracy']:.4f} | {scores['macro_f1']:.4f} |")
    if baseline:
        rows.append(f"| test | TF-IDF + logistic regression | {baseline['accuracy']:.4f} | {baseline['macro_f1']:.4f} |")
    if len(rows) == 2:
        return "No scores recorded yet.\n"
    return "\n".join(rows) + "\n"


def _usage(run_dir: Path) -> str:
    return (
        "```python\nfrom bertclf import Classifier\n"
        f"clf = Classifier.load(\"{run_dir}\")\nclf.predict([\"some text\"])\n```\n\n"
        "The directory is a plain `transformers` model: "
        f"`pipeline(\"text-classification\", model=\"{run_dir}\")` loads it too.\n"
    )


def _limits(info: dict) -> str:
    quick = info.get("profile") == "quick"
    return (
        "A classifier for texts like its training data; expect lower scores on other domains, "
        "styles or label definitions, and check it on your own labelled sample before relying on it. "
        "Scores are from one seed on one test split."
        + (" The quick profile trains a small encoder on a CPU-sized sample: its scores are not "
           "comparable with published full-data results." if quick else "")
        + "\n"
    )
