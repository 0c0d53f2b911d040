"""The offline Chinese encoder: built from training text only, chosen by looking at the text."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from bertclf import data, train
from bertclf.data.language import detect_language
from bertclf.encoders import chinese
from bertclf.errors import BertclfError


def test_language_is_read_from_the_text_not_the_name():
    assert detect_language(["这个手机很不错", "质量太差了，失望"]) == "zh"
    assert detect_language(["what a great phone", "battery died, never again"]) == "en"
    assert detect_language(["iPhone 很好用 but 太贵"]) == "zh"
    assert detect_language(["", "  "]) == "en"


def test_chinese_text_picks_the_chinese_encoder_and_length():
    config = train.TrainConfig.from_profile(language="zh")
    profile = chinese.get_profile()
    assert config.model == profile.chinese_model and config.max_length == profile.chinese_max_length
    assert train.TrainConfig.from_profile(language="zh", model="my-model").model == "my-model"


def test_no_validation_or_test_review_enters_the_pretraining_text():
    recipe = chinese.ChineseRecipe()
    texts = set(chinese.pretraining_texts(recipe))
    for size in (None, 6000):
        reviews = data.load("chinese_reviews", seed=recipe.reviews_split_seed, train_size=size, eval_size=None)
        assert set(reviews["train"]["text"]) <= texts
        assert not texts & (set(reviews["validation"]["text"]) | set(reviews["test"]["text"]))


def test_people_daily_corpus_is_plain_text():
    lines = chinese.people_daily_lines()
    joined = "".join(lines[:200])
    assert sum(map(len, lines)) > 1_500_000
    assert "/b" not in joined and "/s" not in joined and " " not in joined


def test_another_split_seed_is_refused_because_its_test_reviews_were_seen():
    dsd = data.load("chinese_reviews", seed=1, train_size=50, eval_size=50)
    with pytest.raises(BertclfError, match="seed-0 split"):
        train.fit(dsd, "unused", train.TrainConfig(model="bundled-minilm-zh"))


def test_the_recipe_names_its_cache_directory():
    assert chinese.ChineseRecipe().key() == chinese.ChineseRecipe().key()
    assert chinese.with_recipe(mlm_steps=1).key() != chinese.ChineseRecipe().key()


@pytest.fixture(scope="module")
def built_encoder():
    """The cached Chinese encoder (`make test` builds it first; building here would take minutes)."""
    try:
        return chinese.chinese_encoder_dir(build=False)
    except BertclfError:
        pytest.skip("bundled-minilm-zh is not built: run `bertclf build-encoder zh` (make test does)")


@pytest.mark.slow
def test_cli_picks_the_chinese_encoder_and_char_baseline_for_a_chinese_csv(tmp_path):
    reviews = data.load("chinese_reviews", train_size=240, eval_size=30)
    rows = [(t, n) for split in reviews.values() for t, n in zip(split["text"], split.features["label"].int2str(split["label"]))]
    path = tmp_path / "my_reviews.csv"
    pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(path, index=False)
    done = subprocess.run(
        [sys.executable, "-m", "bertclf.cli", "train", "--csv", path, "--text-column", "review",
         "--label-column", "sentiment", "--epochs", "1", "--max-length", "64", "--out", tmp_path / "run"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "model=bundled-e5-small" in done.stdout and "language=zh" in done.stdout
    settings = next(line for line in done.stdout.splitlines() if line.startswith("[bertclf] profile="))
    assert " epochs=1 " in settings, "the settings line names the run's epochs, not the profile's"
    assert "char n-gram TF-IDF" in done.stdout
    info = json.loads((tmp_path / "run" / "bertclf.json").read_text())
    assert info["config"]["model"] == "bundled-e5-small" and info["config"]["freeze_word_embeddings"]


def test_the_built_encoder_is_a_plain_transformers_directory_with_a_model_card(built_encoder):
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built_encoder)
    assert tokenizer.tokenize("质量不错") == ["质量", "不错"]
    AutoModelForMaskedLM.from_pretrained(built_encoder)
    AutoModelForSequenceClassification.from_pretrained(built_encoder, num_labels=2)
    assert "CC-CEDICT" in (built_encoder / "README.md").read_text()


def test_the_encoder_cache_rebuilds_a_damaged_encoder_and_clears_a_killed_build(tmp_path, capsys):
    from bertclf.encoders.cache import cached_build, model_problem

    built = []

    def build(folder):
        built.append(folder)
        (folder / "config.json").write_text("{}")

    def check(folder):
        return model_problem(folder, ("config.json",))

    target = tmp_path / "encoder-abc"
    (tmp_path / ".encoder-abc.k1ll3d").mkdir()  # the staging directory of a build that was killed
    assert cached_build(target, check, build) == target and len(built) == 1
    assert not (tmp_path / ".encoder-abc.k1ll3d").exists()
    cached_build(target, check, build)
    assert len(built) == 1, "an intact encoder is reused"
    (target / "config.json").write_text("{half a fi")
    cached_build(target, check, build)
    assert len(built) == 2 and "damaged (config.json does not read" in capsys.readouterr().out


def test_the_encoder_cache_key_covers_the_recipe_the_code_and_the_wheels(monkeypatch):
    from bertclf.encoders import cache

    key = chinese.ChineseRecipe().key()
    assert chinese.with_recipe(min_char_count=4).key() != key
    monkeypatch.setattr(cache.inspect, "getsource", lambda module: "the builder's code, changed")
    assert chinese.ChineseRecipe().key() != key
    monkeypatch.undo()
    monkeypatch.setattr(cache.metadata, "version", lambda package: "99.0")
    assert chinese.ChineseRecipe().key() != key
