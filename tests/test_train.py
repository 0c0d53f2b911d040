"""The fine-tuning loop and the run directory it writes."""

import json

import pytest
from transformers import pipeline

from bertclf import data, runs, train


def test_run_directory_holds_model_tokenizer_labels_config_and_metrics(tiny_run_dir):
    names = {p.name for p in tiny_run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "bertclf.json", "history.json",
            "metrics.json", "checkpoint.pt"} <= names
    assert not [n for n in names if n.endswith(".tmp")], "no half-written files left behind"
    info = runs.run_info(tiny_run_dir)
    assert info["label_names"] == ["negative", "neutral", "positive"]
    assert info["data"]["dataset"] == "tweets" and info["seed"] == 0 and info["profile"] == "quick"
    assert "torch" in info["versions"]


def test_history_has_one_row_per_epoch_and_a_loss_per_step(tiny_run_dir):
    history = runs.read_json(tiny_run_dir / runs.HISTORY_FILE)
    assert [row["epoch"] for row in history["epochs"]] == [1, 2]
    assert len(history["step_losses"]) == 2 * 7  # 200 examples / batch 32 → 7 steps per epoch
    assert {"train_loss", "val_loss", "val_accuracy", "val_macro_f1", "samples_per_second"} <= set(history["epochs"][0])


def test_best_epoch_is_the_one_with_the_best_validation_score(tiny_run_dir):
    history = runs.read_json(tiny_run_dir / runs.HISTORY_FILE)["epochs"]
    metrics = runs.read_json(tiny_run_dir / runs.METRICS_FILE)
    best = max(history, key=lambda row: row["val_accuracy"])
    assert metrics["best_epoch"] == best["epoch"]
    assert metrics["validation"]["accuracy"] == best["val_accuracy"]
    assert 0 <= metrics["test"]["accuracy"] <= 1


def test_the_run_loads_in_a_transformers_pipeline(tiny_run_dir):
    classify = pipeline("text-classification", model=str(tiny_run_dir), device="cpu")
    out = classify(["what a lovely day", "this is awful"])
    assert {o["label"] for o in out} <= {"negative", "neutral", "positive"}


def test_early_stopping_stops_after_patience_epochs_without_improvement(tiny_model_dir, tmp_path):
    dsd = data.load("tweets", train_size=100, eval_size=40)
    # a learning rate this small cannot move the validation score: epochs 2.. do not improve
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=6, learning_rate=1e-9, patience=1, max_length=32)
    result = train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    assert len(result.history) == 2 and result.best_epoch == 1


def test_finished_run_is_reused_only_with_the_same_config(tiny_model_dir, tmp_path):
    dsd = data.load("tweets", train_size=64, eval_size=30)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, learning_rate=1e-3, max_length=32)
    first = train.fit(dsd, tmp_path / "run", config)
    again = train.fit(dsd, tmp_path / "run", config, reuse=True)
    assert again.history == json.loads(json.dumps(first.history))
    assert again.test.accuracy == pytest.approx(first.test.accuracy)
    other = train.TrainConfig(model=str(tiny_model_dir), epochs=1, learning_rate=2e-3, max_length=32)
    retrained = train.fit(dsd, tmp_path / "run", other, reuse=True)
    assert retrained.history[0]["train_loss"] != first.history[0]["train_loss"]


def test_profile_settings_flow_into_the_config(monkeypatch):
    monkeypatch.setenv("BERTCLF_PROFILE", "full")
    config = train.TrainConfig.from_profile(epochs=1)
    assert config.model == "google-bert/bert-base-uncased" and config.learning_rate == 2e-5
    assert config.epochs == 1
