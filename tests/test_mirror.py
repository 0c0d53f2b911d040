"""BERTCLF_MIRROR: Hub ids resolve inside a local mirror; the rehearsal mirror has the Hub's schemas;
Hub data sets keep their official splits, deduplicated across them; save_to_disk directories load."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, load_dataset

from bertclf import data
from bertclf.errors import BertclfError
from bertclf.mirror import MIRROR_ENV, load_hub_dataset, model_path
from bertclf.models.load import load_classifier, load_tokenizer
from bertclf.models.names import resolve
from bertclf.wheels import minilm_dir
from scripts.rehearsal_mirror import CLINC_INTENTS, build_mirror


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return build_mirror(tmp_path_factory.mktemp("mirror"), rows=60)


@pytest.fixture
def use_mirror(mirror, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror))
    return mirror


def test_model_ids_resolve_into_the_mirror(use_mirror):
    assert resolve("google-bert/bert-base-uncased") == str(use_mirror / "models/google-bert/bert-base-uncased")
    assert resolve("bundled-minilm") == str(minilm_dir())  # bundled names unchanged
    assert model_path(str(use_mirror)) == str(use_mirror)  # a local directory is used as it is
    with pytest.raises(BertclfError, match="not in the mirror.*models/org/missing"):
        resolve("org/missing")


def test_without_the_setting_names_are_left_alone(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert model_path("google-bert/bert-base-uncased") == "google-bert/bert-base-uncased"


def test_mirror_models_have_the_real_tokenizers(use_mirror):
    english = load_tokenizer("google-bert/bert-base-uncased")
    assert len(english) == 30522 and english.tokenize("Hello World") == ["hello", "world"]
    chinese = load_tokenizer("google-bert/bert-base-chinese")
    assert chinese.tokenize("今天很好") == ["今", "天", "很", "好"]
    model = load_classifier("google-bert/bert-base-chinese", ["negative", "positive"])
    assert type(model).__name__ == "BertForSequenceClassification"
    multilingual = load_tokenizer("intfloat/multilingual-e5-small")
    assert len(multilingual) == 250002 and multilingual.tokenize("Saya suka") == load_tokenizer(
        "bundled-e5-small").tokenize("Saya suka")
    model = load_classifier("intfloat/multilingual-e5-small", ["negative", "positive"])
    assert model.config.vocab_size == 250002


def test_mirror_data_sets_have_the_hub_schemas(use_mirror):
    sst2 = load_hub_dataset("stanfordnlp/sst2")
    assert set(sst2) == {"train", "validation", "test"}
    assert sst2["train"].column_names == ["idx", "sentence", "label"]
    assert set(sst2["test"]["label"]) == {-1}
    imdb = load_hub_dataset("stanfordnlp/imdb", "plain_text")
    assert set(imdb) == {"train", "test", "unsupervised"} and imdb["train"].features["label"].names == ["neg", "pos"]
    clinc = load_hub_dataset("clinc/clinc_oos", "plus")
    assert clinc["train"].features["intent"].names == list(CLINC_INTENTS)
    assert len(CLINC_INTENTS) == 151 and CLINC_INTENTS.index("oos") == 42
    assert load_hub_dataset("lansinuote/ChnSentiCorp")["train"].features["label"].dtype == "int64"
    assert list(load_hub_dataset("ucirvine/sms_spam")) == ["train"]


def test_hub_sets_keep_official_splits_without_shared_texts(use_mirror):
    sst2 = data.load("sst2", train_size=None, eval_size=None)
    stats = data.cleaning_stats(sst2)
    official = load_hub_dataset("stanfordnlp/sst2")
    assert set(sst2["validation"]["text"]) == set(official["validation"]["sentence"])  # kept whole
    assert stats["removed_as_shared"]["train&validation"] == 3  # the mirror repeats 3 train texts
    assert "no labels" in stats["splits"]["test"] and "no labels" in data.split_note(sst2)
    assert set(data.overlap(sst2).values()) == {0}
    imdb = data.load("imdb", train_size=None, eval_size=None)
    assert set(imdb["test"]["text"]) == set(load_hub_dataset("stanfordnlp/imdb", "plain_text")["test"]["text"])
    assert "does not exist" in data.cleaning_stats(imdb)["splits"]["validation"]
    assert data.label_names(data.load("chnsenticorp", train_size=None, eval_size=None)) == ["negative", "positive"]


def test_dataset_path_loads_a_save_to_disk_directory(tmp_path):
    texts = [f"text number {i}" for i in range(60)]
    frame = pd.DataFrame({"review": texts, "stars": ["good", "bad"] * 30})
    DatasetDict({"train": Dataset.from_pandas(frame[:40]), "test": Dataset.from_pandas(frame[40:])}).save_to_disk(
        tmp_path / "saved")
    dsd = data.load(str(tmp_path / "saved"), text_column="review", label_column="stars", train_size=None, eval_size=None)
    assert len(dsd["test"]) == 20 and len(dsd["train"]) + len(dsd["validation"]) == 40
    assert data.source(dsd)["dataset"] == str((tmp_path / "saved").resolve())
    assert data.reload(data.source(dsd))["test"]["text"] == dsd["test"]["text"]  # evaluate and resume rebuild it
    assert isinstance(dsd["train"].features["label"], ClassLabel)
    with pytest.raises(BertclfError, match="column"):
        data.load(str(tmp_path / "saved"))


@pytest.mark.slow
def test_cli_trains_sst2_from_the_mirror_in_the_full_profile(use_mirror, tmp_path):
    env = {**os.environ, "BERTCLF_PROFILE": "full", MIRROR_ENV: str(use_mirror), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    out = tmp_path / "run"
    completed = subprocess.run(
        [sys.executable, "-m", "bertclf.cli", "train", "--dataset", "sst2", "--out", str(out), "--epochs", "1"],
        env=env, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "profile=full" in completed.stdout and "google-bert/bert-base-uncased" in completed.stdout
    assert "no labels" in completed.stdout  # the carved test split is announced
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 64  # the mirror's tiny stand-in


def test_load_dataset_reads_the_mirror_layout_directly(mirror):
    """The mirror's layout is the Hub's: plain datasets.load_dataset reads it too."""
    loaded = load_dataset(str(mirror / "datasets/clinc/clinc_oos"), "plus")
    assert set(loaded) == {"train", "validation", "test"}


def test_hub_models_load_at_a_pinned_or_named_commit(monkeypatch):
    from bertclf.models.load import load_pretrained
    from bertclf.models.names import PINNED

    asked = []

    class Loader:
        @staticmethod
        def from_pretrained(name, **kwargs):
            asked.append((name, kwargs.get("revision")))
            return "loaded"

    monkeypatch.delenv("BERTCLF_MIRROR", raising=False)
    load_pretrained(Loader, "google-bert/bert-base-uncased")
    load_pretrained(Loader, "org/model@0123abc")
    load_pretrained(Loader, "org/unpinned")
    assert asked == [("google-bert/bert-base-uncased", PINNED["google-bert/bert-base-uncased"]),
                     ("org/model", "0123abc"), ("org/unpinned", None)]


def test_a_pinned_name_resolves_into_the_mirror(use_mirror):
    assert resolve("google-bert/bert-base-uncased@0123abc") == str(use_mirror / "models/google-bert/bert-base-uncased")
