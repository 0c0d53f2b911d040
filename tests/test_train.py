"""The fine-tuning loop and the run directory it writes."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from datasets import DatasetDict
from safetensors.torch import load_file
from transformers import pipeline

from bertclf import BertclfError, book, cli, data, runs, train
from bertclf.train import loop
from bertclf.train.optim import class_weights, parameter_groups


def test_run_directory_holds_model_tokenizer_labels_config_and_metrics(tiny_run_dir):
    names = {p.name for p in tiny_run_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "bertclf.json", "history.json",
            "metrics.json", "checkpoint.pt", "README.md"} <= names
    assert "negative" in (tiny_run_dir / "README.md").read_text(), "fit() leaves a model card naming the labels"
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
    with pytest.raises(BertclfError, match="learning_rate 0.001 in the run, 0.002 now"):
        train.fit(dsd, tmp_path / "run", other, reuse=True)
    retrained = train.fit(dsd, tmp_path / "run", other, reuse=True, overwrite=True)
    assert retrained.history[0]["train_loss"] != first.history[0]["train_loss"]


def test_profile_settings_flow_into_the_config(monkeypatch):
    monkeypatch.setenv("BERTCLF_PROFILE", "full")
    config = train.TrainConfig.from_profile(epochs=1)
    assert config.model == "google-bert/bert-base-uncased" and config.learning_rate == 2e-5
    assert config.epochs == 1


@pytest.mark.parametrize("select_by, best", [("accuracy", 2), ("macro_f1", 1)])
def test_the_saved_weights_are_the_best_epochs_by_the_selection_metric(select_by, best, tiny_model_dir, tmp_path, monkeypatch):
    scripted = {"accuracy": [0.5, 0.9, 0.7], "macro_f1": [0.8, 0.4, 0.6]}  # the last epoch is never the best
    evaluated, real_evaluate = {"validation": [], "test": []}, loop.evaluate_model

    def evaluate(model, *args, desc, **kwargs):
        result = real_evaluate(model, *args, desc=desc, **kwargs)
        evaluated[desc].append({k: v.detach().clone() for k, v in model.state_dict().items()})
        if desc == "test":
            return result
        epoch = len(evaluated["validation"]) - 1
        summary = {**result.summary(), **{metric: scores[epoch] for metric, scores in scripted.items()}}
        return SimpleNamespace(summary=lambda: summary)

    monkeypatch.setattr(loop, "evaluate_model", evaluate)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=3, patience=3, select_by=select_by,
                               learning_rate=1e-3, max_length=32)
    result = train.fit(data.load("tweets", train_size=64, eval_size=30), tmp_path / "run", config)
    assert result.best_epoch == best and result.validation[select_by] == max(scripted[select_by])
    saved = load_file(tmp_path / "run" / "model.safetensors")
    epochs = evaluated["validation"]
    assert all(torch.equal(saved[name], epochs[best - 1][name]) for name in saved)
    assert not all(torch.equal(saved[name], epochs[-1][name]) for name in saved)
    assert all(torch.equal(saved[name], evaluated["test"][0][name]) for name in saved), "test scores the best"


def test_patience_must_be_positive(tiny_run_dir, capsys):
    with pytest.raises(BertclfError, match="patience must be a positive integer, got 0"):
        train.TrainConfig(patience=0)
    assert cli.main(["train", "--dataset", "tweets", "--patience", "0", "--model", str(tiny_run_dir)]) == 2
    assert "patience must be a positive integer" in capsys.readouterr().err


def test_patience_as_long_as_the_run_trains_every_epoch(tiny_model_dir, tmp_path):
    dsd = data.load("tweets", train_size=64, eval_size=30)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=3, learning_rate=1e-9, patience=3, max_length=32)
    result = train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    assert len(result.history) == 3 and result.best_epoch == 1  # no improvement after epoch 1, yet no stop


def test_small_data_trains_more_epochs_up_to_min_steps(tiny_model_dir, tmp_path, capsys):
    dsd = data.load("tweets", train_size=64, eval_size=30)  # 2 steps an epoch in batches of 32
    # patience=1 stops after any flat epoch: the floor of 5 steps holds anyway (a 30-text validation
    # split is too noisy to end a small-data run after a few flat epochs)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, min_steps=5, patience=1,
                               learning_rate=1e-3, max_length=32)
    result = train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    assert len(result.history) == 3 and len(result.step_losses) == 6
    printed = capsys.readouterr().out
    assert "2 steps an epoch: up to 3 epochs, not 1" in printed
    assert max(map(book.display_width, printed.splitlines())) <= book.PAGE_WIDTH, "fits the book's page"
    assert runs.run_info(tmp_path / "run")["config"]["epochs"] == 1, "the config is recorded as given"
    assert train.TrainConfig.from_profile().min_steps == train.MIN_STEPS
    assert train.TrainConfig.from_profile(epochs=1).min_steps == 0, "epochs chosen by the caller are kept"
    assert train.TrainConfig.from_profile(epochs=1, min_steps=50).min_steps == 50


def test_balanced_class_weights_weigh_the_loss_by_inverse_class_frequency(tiny_model_dir, tmp_path, monkeypatch):
    frame = pd.DataFrame({"text": [f"text number {i}" for i in range(120)], "label": ["rare"] * 20 + ["common"] * 100})
    dsd = data.from_frame(frame)
    weights = class_weights(train.TrainConfig(class_weights="balanced"), dsd["train"], 2)
    counts = np.bincount(dsd["train"]["label"])
    assert torch.allclose(weights, torch.tensor(len(dsd["train"]) / (2 * counts), dtype=torch.float))
    assert weights[data.label_names(dsd).index("rare")] > 2.5 * weights[data.label_names(dsd).index("common")]
    seen = []

    def cross_entropy(*args, weight=None, **kwargs):
        seen.append(weight)
        return F.cross_entropy(*args, weight=weight, **kwargs)

    monkeypatch.setattr(loop, "F", SimpleNamespace(cross_entropy=cross_entropy))
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, class_weights="balanced", max_length=32)
    train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    assert seen and all(torch.equal(w, weights) for w in seen)
    with pytest.raises(BertclfError, match="class_weights must be None or 'balanced'"):
        train.TrainConfig(class_weights="auto")
    args = cli.build_parser().parse_args(["train", "--csv", "x.csv", "--class-weights", "balanced", "--min-steps", "0"])
    assert (args.class_weights, args.min_steps) == ("balanced", 0)


def hub_like(labels: str):
    """A DatasetDict as the Hub gives it: other column names, train and test only, prose description."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    names = ["bad", "good"]
    kinds = {"classlabel": (ClassLabel(names=names), lambda i: i), "int": (Value("int64"), lambda i: i),
             "string": (Value("string"), lambda i: names[i])}
    feature, value = kinds[labels]
    features = Features({"sentence": Value("string"), "sentiment": feature, "idx": Value("int64")})

    def rows(start, n):
        texts = [f"{'awful' if i % 2 == 0 else 'lovely'} film number {i}" for i in range(start, start + n)]
        return {"sentence": texts, "sentiment": [value(i % 2) for i in range(start, start + n)],
                "idx": list(range(start, start + n))}

    dsd = DatasetDict(train=Dataset.from_dict(rows(0, 80), features=features),
                      test=Dataset.from_dict(rows(80, 20), features=features))
    for split in dsd.values():
        split.info.description = "Reviews of films, collected by someone, with their sentiment."
    return dsd


@pytest.mark.parametrize("labels", ["classlabel", "int", "string"])
def test_any_datasetdict_becomes_train_validation_test_with_a_carved_validation_split(labels, capsys):
    dsd = data.as_splits(hub_like(labels), "sentence", "sentiment", seed=3)
    assert set(dsd) == {"train", "validation", "test"} and dsd["train"].column_names == ["text", "label"]
    assert data.label_names(dsd) == (["bad", "good"] if labels != "int" else ["0", "1"])
    assert len(dsd["test"]) == 20 and len(dsd["validation"]) == 9 and len(dsd["train"]) == 71
    assert sorted(set(dsd["validation"]["label"])) == [0, 1], "stratified"
    assert "validation: carved from the given train split" in capsys.readouterr().out
    again = data.as_splits(hub_like(labels), "sentence", "sentiment", seed=3)
    assert data.fingerprints(again) == data.fingerprints(dsd), "seeded"


def test_fit_takes_a_hub_like_datasetdict_and_resumes_with_it(tiny_model_dir, tmp_path, capsys):
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, learning_rate=1e-3, max_length=32)
    result = train.fit(hub_like("classlabel"), tmp_path / "run", config, text_column="sentence", label_column="sentiment")
    assert "carved from the given train split" in capsys.readouterr().out
    info = runs.run_info(tmp_path / "run")
    assert info["label_names"] == ["bad", "good"] and info["data"] == {} and info["splits"]["train"]["rows"] == 71
    assert 0 <= result.test.accuracy <= 1 and len(result.test.labels) == 20
    resumed = train.resume(tmp_path / "run", hub_like("classlabel"), text_column="sentence", label_column="sentiment")
    assert resumed.best_epoch == result.best_epoch


def test_a_dataset_alone_is_the_train_split():
    dsd = data.as_splits(hub_like("string")["train"], "sentence", "sentiment")
    assert {k: len(v) for k, v in dsd.items()} == {"train": 64, "validation": 8, "test": 8}


def test_missing_columns_and_other_types_are_named(tiny_model_dir, tmp_path):
    with pytest.raises(BertclfError, match="split 'train': column\\(s\\) 'text', 'label' not found; columns: "
                                           "'sentence', 'sentiment', 'idx': name them with text_column=/label_column="):
        train.fit(hub_like("int"), tmp_path / "run", train.TrainConfig(model=str(tiny_model_dir)))
    with pytest.raises(BertclfError, match="has no 'train' split \\(splits: test\\)"):
        data.as_splits(DatasetDict(test=hub_like("int")["test"]), "sentence", "sentiment")
    with pytest.raises(BertclfError, match="expected a datasets.DatasetDict or Dataset, got DataFrame.*from_frame"):
        data.as_splits(pd.DataFrame({"text": ["a"], "label": ["b"]}))


def test_the_word_embeddings_can_get_their_own_learning_rate(tiny_model_dir):
    from bertclf.models.load import load_classifier

    model = load_classifier(str(tiny_model_dir), ["a", "b"])
    words = model.get_input_embeddings().weight
    groups = parameter_groups(model, 0.01, 1e-3)
    holding = [g for g in groups if any(p is words for p in g["params"])]
    assert holding == [groups[-1]] and groups[-1]["lr"] == 1e-3 and groups[-1]["params"] == [words]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    assert all("lr" not in g for g in parameter_groups(model, 0.01))
    with pytest.raises(BertclfError, match="embedding_learning_rate must be between 0 and 1"):
        train.TrainConfig(embedding_learning_rate=2.0)


def test_frozen_word_embeddings_stay_as_pretrained_while_the_rest_trains(tiny_model_dir, tmp_path):
    from bertclf.models.load import load_classifier

    pretrained = load_classifier(str(tiny_model_dir), ["negative", "neutral", "positive"]).state_dict()
    dsd = data.load("tweets", train_size=64, eval_size=32)
    config = train.TrainConfig(model=str(tiny_model_dir), epochs=1, learning_rate=1e-3, max_length=32,
                               freeze_word_embeddings=True)
    train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    trained = load_file(tmp_path / "run" / "model.safetensors")
    words = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(trained[words], pretrained[words])
    assert not torch.equal(trained["bert.encoder.layer.0.attention.self.query.weight"],
                           pretrained["bert.encoder.layer.0.attention.self.query.weight"])
    with pytest.raises(BertclfError, match="drop embedding_learning_rate"):
        train.TrainConfig(freeze_word_embeddings=True, embedding_learning_rate=1e-3)


def test_a_distilbert_trains_through_fit_and_predicts_through_classifier(tmp_path):
    """Not only BERT: a tiny random DistilBERT, whose tokenizer gives no token_type_ids."""
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    from bertclf.models.load import load_tokenizer
    from bertclf.serve.classifier import Classifier

    model_dir = tmp_path / "tiny-distilbert"
    load_tokenizer().save_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, model_input_names=["input_ids", "attention_mask"])
    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    DistilBertForSequenceClassification(config).save_pretrained(model_dir)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(model_dir)
    rows = [(f"I love thing {i}", "pos") for i in range(40)] + [(f"I hate thing {i}", "neg") for i in range(40)]
    dsd = data.from_frame(pd.DataFrame(rows, columns=["text", "label"]))
    result = train.fit(dsd, tmp_path / "run", train.TrainConfig(
        model=str(model_dir), epochs=3, batch_size=8, max_length=32, learning_rate=1e-3))
    assert runs.run_info(result.run_dir)["label_names"] == ["neg", "pos"]
    assert result.test_metrics["accuracy"] >= 0.5
    clf = Classifier.load(result.run_dir)
    assert type(clf.model).__name__ == "DistilBertForSequenceClassification"
    assert "token_type_ids" not in clf.tokenizer("a text")
    assert {p["label"] for p in clf.predict(["I love this", "I hate that"])} <= {"neg", "pos"}
