"""Every run directory carries a model card a Hub user can read."""

import yaml

from bertclf import runs
from bertclf.runs.card import CARD_FILE, run_card, write_run_card


def _front_matter(text: str) -> dict:
    assert text.startswith("---\n"), "a Hub model card starts with YAML metadata"
    return yaml.safe_load(text.split("---\n")[1])


def test_the_card_has_hub_metadata_labels_data_and_scores(tiny_run_dir):
    card = run_card(tiny_run_dir)
    meta = _front_matter(card)
    assert meta["pipeline_tag"] == "text-classification" and meta["library_name"] == "transformers"
    info = runs.read_json(tiny_run_dir / runs.INFO_FILE)
    metrics = runs.read_json(tiny_run_dir / runs.METRICS_FILE)
    assert all(f"`{name}`" in card for name in info["label_names"])
    assert "`tweets`" in card
    assert f"{metrics['validation']['accuracy']:.4f}" in card
    assert "## Intended use and limits" in card and "transformers" in card


def test_the_baseline_sits_next_to_the_model_and_the_file_is_written(tiny_run_dir):
    path = write_run_card(tiny_run_dir, baseline={"accuracy": 0.61234, "macro_f1": 0.6})
    assert path == tiny_run_dir / CARD_FILE
    text = path.read_text(encoding="utf-8")
    assert "TF-IDF + logistic regression | 0.6123 | 0.6000" in text
