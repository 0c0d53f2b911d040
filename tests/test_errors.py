"""Every bad input gets a clear error: a BertclfError (a ValueError) whose message names the
problem and the fix; on the command line one line, ``bertclf: error: …``, and exit status 2."""

import json
import shutil
import socket

import numpy as np
import pandas as pd
import pytest

from bertclf import BertclfError, data, runs, train
from bertclf.evaluate.metrics import evaluate_model
from bertclf.models.load import load_tokenizer
from bertclf.serve.classifier import Classifier


def two_class_rows(n: int = 30) -> list[tuple[str, str]]:
    return [(f"I love thing number {i}", "pos") for i in range(n)] + [
        (f"I hate thing number {i}", "neg") for i in range(n)
    ]


def write_csv(path, rows, columns=("text", "label")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


@pytest.fixture
def run_copy(tiny_run_dir, tmp_path):
    """A private copy of the shared tiny run, free to damage."""
    return shutil.copytree(tiny_run_dir, tmp_path / "run")


# --- data sets by name ------------------------------------------------------------------


def test_unknown_dataset_names_the_known_ones(capsys, cli_error):
    with pytest.raises(BertclfError, match="unknown data set 'twets'") as info:
        data.load("twets")
    assert isinstance(info.value, ValueError)
    for name in data.known_names():
        assert name in str(info.value)
    assert "tweets" in cli_error("train", "--dataset", "twets")


@pytest.fixture
def no_network(monkeypatch):
    """Record every attempt to open a network connection (offline must fail at once, not retry)."""
    attempts = []

    def connect(sock, address, *args):
        attempts.append(address)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    return attempts


def test_hub_dataset_offline_fails_without_trying_the_network(capsys, no_network, cli_error):
    with pytest.raises(BertclfError, match="Hugging Face Hub") as info:
        data.load("sst2")
    assert no_network == [], "HF_HUB_OFFLINE=1: no connection is even tried"
    assert "Offline" in str(info.value) and "quick profile" in str(info.value)
    assert "quick profile" in cli_error("train", "--dataset", "sst2")


def test_hub_model_offline_fails_without_trying_the_network(capsys, monkeypatch, tmp_path, no_network, cli_error):
    with pytest.raises(BertclfError, match="could not load model 'google-bert/bert-base-uncased'") as info:
        load_tokenizer("google-bert/bert-base-uncased")
    assert no_network == []
    assert "Offline" in str(info.value) and "bundled-minilm" in str(info.value)
    # the full profile's default model, asked for while offline
    monkeypatch.setenv("BERTCLF_PROFILE", "full")
    line = cli_error("train", "--dataset", "tweets", "--train-size", "100",
                     "--eval-size", "30", "--out", tmp_path / "run")
    assert "bert-base-uncased" in line and "quick profile" in line


# --- files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("missing.csv", None, "file not found"),
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"  \n\n", "is empty"),
        ("ragged.csv", b"text,label\nfine,pos\n\"a\",\"b\",\"c\",\"d\"\n", "not valid CSV/TSV"),
        ("ragged.tsv", b"text\tlabel\nfine\tpos\na\tb\tc\td\n", "not valid CSV/TSV"),
        ("broken.json", b'[{"text": "a", "label": "pos"},', "not valid JSON"),
        ("broken.jsonl", b'{"text": "a", "label": "pos"}\n{"text": \n', "not valid JSON"),
        ("latin1.csv", "text,label\ncafé au lait,pos\n".encode("latin-1"), "not UTF-8"),
        ("header_only.csv", b"text,label\n", "no usable"),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path, capsys, name, content, expected, cli_error):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BertclfError, match=expected) as info:
        data.load_csv(path)
    if content is not None and expected != "no usable":
        assert name in str(info.value)  # names the file
    assert expected in cli_error("train", "--csv", path)


def test_a_directory_is_not_a_data_file(tmp_path):
    with pytest.raises(BertclfError, match="is a directory"):
        data.load_csv(tmp_path)


def test_missing_columns_are_listed_with_the_columns_found(tmp_path, capsys, cli_error):
    path = write_csv(tmp_path / "reviews.csv", two_class_rows(), columns=("review", "stars"))
    with pytest.raises(BertclfError, match="'text', 'label' not found") as info:
        data.load_csv(path)
    assert "columns found: 'review', 'stars'" in str(info.value)
    assert "--text-column" in str(info.value)
    line = cli_error("train", "--csv", path, "--text-column", "review")
    assert "'label' not found" in line and "'review', 'stars'" in line


# --- rows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_text, lines",
    [("", "[3, 5]"), ("   ", "[3, 5]"), ("\t\n ", "[3, 5]")],
    ids=["missing", "whitespace", "tabs-newlines"],
)
def test_missing_or_blank_texts_in_a_csv_name_their_count_and_lines(tmp_path, capsys, bad_text, lines, cli_error):
    rows = two_class_rows()
    rows[1] = (bad_text, "pos")
    rows[3] = (bad_text, "neg")
    path = write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(BertclfError) as info:
        data.load_csv(path)
    message = str(info.value)
    assert "2 row(s)" in message and "text" in message and f"file lines {lines}" in message
    assert "drop_bad_rows=True" in message
    assert "--drop-bad-rows" in cli_error("train", "--csv", path)


def test_null_and_non_string_texts_in_json_lines_name_their_lines(tmp_path):
    records = [{"text": t, "label": lab} for t, lab in two_class_rows()]
    records[0]["text"] = None
    records[4]["text"] = 12345
    records[7]["text"] = ["a", "list"]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    with pytest.raises(BertclfError, match=r"3 row\(s\).*non-string text \(file lines \[1, 5, 8\]\)"):
        data.load_csv(path)


@pytest.mark.parametrize("bad", [None, float("nan"), 3.5, "", "  "], ids=["None", "NaN", "float", "empty", "blank"])
def test_bad_texts_in_a_frame_name_their_rows(bad):
    rows = two_class_rows()
    rows[2] = (bad, "pos")
    frame = pd.DataFrame(rows, columns=["text", "label"], index=[f"id{i}" for i in range(60)], dtype=object)
    with pytest.raises(BertclfError, match=r"1 row\(s\).*text \(rows \[2\], counting from 0\)"):
        data.from_frame(frame)


def test_bad_rows_are_dropped_with_a_warning_only_when_asked(tmp_path):
    rows = two_class_rows()
    rows[0] = ("", "pos")
    rows[1] = ("fine text", "")
    path = write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(BertclfError):
        data.load_csv(path)
    with pytest.warns(UserWarning, match="dropped") as record:
        dsd = data.load_csv(path, drop_bad_rows=True)
    messages = " ".join(str(w.message) for w in record)
    assert "file lines [2]" in messages and "file lines [3]" in messages
    assert sum(len(dsd[k]) for k in dsd) == 58


def test_missing_labels_are_named(tmp_path, capsys, cli_error):
    rows = two_class_rows()
    rows[5] = ("a text without a label", None)
    path = write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(BertclfError, match=r"1 row\(s\).*label \(file lines \[7\]\)"):
        data.load_csv(path)
    assert "label" in cli_error("train", "--csv", path)


def test_a_single_class_is_refused(tmp_path, capsys, cli_error):
    path = write_csv(tmp_path / "data.csv", [(f"text {i}", "pos") for i in range(50)])
    with pytest.raises(BertclfError, match="only one class \\('pos'\\).*two or more"):
        data.load_csv(path)
    assert "only one class" in cli_error("train", "--csv", path)


def test_a_class_too_small_to_stratify_is_named(tmp_path):
    rows = two_class_rows() + [(f"maybe {i}", "unsure") for i in range(3)]
    path = write_csv(tmp_path / "data.csv", rows)
    with pytest.raises(BertclfError, match="class 'unsure' has only 3 example.*at least 10 per class"):
        data.load_csv(path)


def test_a_split_cap_smaller_than_the_classes_is_refused(tmp_path):
    path = write_csv(tmp_path / "data.csv", two_class_rows())
    with pytest.raises(BertclfError, match="capped at 1 example.*all 2 classes"):
        data.load_csv(path, train_size=1)
    with pytest.raises(BertclfError, match="capped at 0 example"):
        data.load_csv(path, eval_size=0)
    assert len(data.load_csv(path, train_size=47)["train"]) == 47  # nearly all: still fine


# --- model and max_length ---------------------------------------------------------------


def test_max_length_above_the_position_limit_is_refused(tiny_model_dir, tiny_run_dir, tmp_path, capsys, cli_error):
    dsd = data.from_frame(pd.DataFrame(two_class_rows(), columns=["text", "label"]))
    config = train.TrainConfig(model=str(tiny_model_dir), max_length=512, epochs=1)
    with pytest.raises(BertclfError, match="max_length=512 exceeds the model's 128"):
        train.fit(dsd, tmp_path / "run", config)
    with pytest.raises(BertclfError, match="max_length=1000 exceeds the model's limit of 128"):
        Classifier.load(tiny_run_dir).predict(["hello"], max_length=1000)
    with pytest.raises(BertclfError, match="max_length=4 is too small"):
        Classifier.load(tiny_run_dir).predict(["hello"], max_length=4)
    path = write_csv(tmp_path / "data.csv", two_class_rows())
    line = cli_error("train", "--csv", path, "--model", tiny_model_dir, "--max-length", "4096",
                     "--out", tmp_path / "run2")
    assert "max_length=4096" in line and "--max-length 128" in line


def test_bad_hyperparameters_are_named():
    with pytest.raises(BertclfError, match="epochs must be a positive integer"):
        train.TrainConfig(epochs=0)
    with pytest.raises(BertclfError, match="learning_rate must be between 0 and 1"):
        train.TrainConfig(learning_rate=5)
    with pytest.raises(BertclfError, match="select_by"):
        train.TrainConfig(select_by="loss")


def test_an_output_path_that_is_a_file_is_refused(tiny_model_dir, tmp_path, capsys, cli_error):
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    path = write_csv(tmp_path / "data.csv", two_class_rows())
    line = cli_error("train", "--csv", path, "--model", tiny_model_dir, "--max-length", "32",
                     "--out", taken)
    assert "is a file" in line and "--out" in line


def test_a_finetuned_model_with_another_label_count_gets_a_fresh_head(tiny_run_dir, tmp_path):
    """Starting from a 3-class run on 2-class data is fine: the head is replaced."""
    dsd = data.from_frame(pd.DataFrame(two_class_rows(), columns=["text", "label"]))
    config = train.TrainConfig(model=str(tiny_run_dir), epochs=1, max_length=32, learning_rate=1e-3)
    result = train.fit(dsd, tmp_path / "run", config, evaluate_test=False)
    assert Classifier.load(result.run_dir).labels == ["neg", "pos"]


# --- run directories --------------------------------------------------------------------


def test_a_missing_run_directory_says_how_to_make_one(tmp_path, capsys, cli_error):
    missing = tmp_path / "no_such_run"
    with pytest.raises(BertclfError, match="does not exist.*bertclf train"):
        Classifier.load(missing)
    assert "does not exist" in cli_error("predict", missing, "some text")
    assert "does not exist" in cli_error("evaluate", missing)
    with pytest.raises(BertclfError, match="not a bertclf run directory"):
        train.resume(missing)
    assert "not a bertclf run directory" in cli_error("train", "--resume", missing)


def test_an_incomplete_run_directory_names_the_missing_files(run_copy, capsys, cli_error):
    (run_copy / "model.safetensors").unlink()
    with pytest.raises(BertclfError, match="incomplete: missing model.safetensors.*--resume"):
        Classifier.load(run_copy)
    (run_copy / "checkpoint.pt").unlink()
    with pytest.raises(BertclfError, match="incomplete: missing model.safetensors; train into it again"):
        Classifier.load(run_copy)
    assert "incomplete" in cli_error("predict", run_copy, "some text")


def test_a_damaged_run_record_is_named(run_copy, capsys, cli_error):
    (run_copy / "bertclf.json").write_text('{"label_names": ["neg', encoding="utf-8")
    with pytest.raises(BertclfError, match="bertclf.json is damaged"):
        Classifier.load(run_copy)
    assert "damaged" in cli_error("evaluate", run_copy)


def test_resume_without_a_checkpoint_says_to_train_without_resume(run_copy, capsys, cli_error):
    (run_copy / "checkpoint.pt").unlink()
    with pytest.raises(BertclfError, match="nothing to resume.*without --resume"):
        train.resume(run_copy)
    assert "nothing to resume" in cli_error("train", "--resume", run_copy)


# --- label count mismatches -------------------------------------------------------------


def test_evaluating_a_run_on_data_with_other_labels_is_refused(tiny_run_dir, tmp_path, capsys, cli_error):
    path = write_csv(tmp_path / "data.csv", two_class_rows())
    line = cli_error("evaluate", tiny_run_dir, "--csv", path)
    assert "['negative', 'neutral', 'positive']" in line and "['neg', 'pos']" in line
    clf = Classifier.load(tiny_run_dir)
    other = data.load_csv(path)
    with pytest.raises(BertclfError, match="predicts 3 labels.*data has 2 labels"):
        evaluate_model(clf.model, clf.tokenizer, other["test"], max_length=32)


def test_resuming_on_data_with_other_labels_is_refused(run_copy, tiny_model_dir):
    dsd = data.from_frame(pd.DataFrame(two_class_rows(), columns=["text", "label"]))
    config = train.TrainConfig(**runs.run_info(run_copy)["config"])
    with pytest.raises(BertclfError, match="trained on labels.*the data has \\['neg', 'pos'\\]"):
        train.fit(dsd, run_copy, config, resume=True)


def test_a_run_whose_model_and_record_disagree_on_labels_is_refused(run_copy):
    info = runs.read_json(run_copy / "bertclf.json")
    info["label_names"] = ["neg", "pos"]
    runs.write_json(run_copy / "bertclf.json", info)
    with pytest.raises(BertclfError, match="3 outputs but the run records 2 labels"):
        Classifier.load(run_copy)


# --- predict ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clf(tiny_run_dir):
    return Classifier.load(tiny_run_dir)


def test_predict_wants_a_list_not_a_bare_string(clf):
    with pytest.raises(BertclfError, match=r"not a single string: use predict\(\[text\]\)"):
        clf.predict("a bare string")
    with pytest.raises(BertclfError, match="got NoneType"):
        clf.predict(None)
    with pytest.raises(BertclfError, match=r"2 input\(s\) are not strings \(positions \[1, 3\]"):
        clf.predict(["fine", None, "fine", float("nan")])


def test_predict_on_an_empty_list_returns_nothing(clf, tiny_run_dir, capsys, monkeypatch, cli_error):
    assert clf.predict([]) == []
    assert clf.predict_proba([]).shape == (0, 3)
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    assert "no texts to classify" in cli_error("predict", tiny_run_dir)


def test_predict_accepts_any_iterable_of_strings(clf):
    texts = ["good", "bad"]
    expected = clf.predict_proba(texts)
    assert np.allclose(clf.predict_proba(tuple(texts)), expected)
    assert np.allclose(clf.predict_proba(t for t in texts), expected)
    assert np.allclose(clf.predict_proba(pd.Series(texts)), expected)
    assert np.allclose(clf.predict_proba(np.array(texts)), expected)


def test_long_texts_are_truncated_by_default_with_head_tail_and_sliding_options(clf):
    long_text = "wonderful " * 200 + "awful " * 200
    default = clf.predict([long_text], max_length=32)[0]
    assert default == clf.predict([long_text], max_length=32, long_texts="truncate")[0]
    # truncation keeps the first 30 word pieces: exactly what a short text of them gives
    assert default["probs"] == pytest.approx(clf.predict(["wonderful " * 30], max_length=32)[0]["probs"])
    for mode in ("head_tail", "sliding"):
        probs = clf.predict([long_text, "short"], max_length=32, long_texts=mode)[0]["probs"]
        assert sum(probs.values()) == pytest.approx(1.0)
    coarse = clf.predict([long_text], max_length=32, long_texts="sliding", stride=30)[0]
    assert sum(coarse["probs"].values()) == pytest.approx(1.0)


def test_bad_predict_options_are_named(clf):
    with pytest.raises(BertclfError, match="long_texts must be one of truncate, head_tail, sliding"):
        clf.predict(["x"], long_texts="chunks")
    for stride in (0, -5, 31):
        with pytest.raises(BertclfError, match=f"stride={stride} must be between 1 and 30"):
            clf.predict(["word " * 100], max_length=32, long_texts="sliding", stride=stride)
    with pytest.raises(BertclfError, match="batch_size must be at least 1"):
        clf.predict(["x"], batch_size=0)


def test_cli_predict_names_a_missing_or_non_utf8_file(tiny_run_dir, tmp_path, capsys, cli_error):
    assert "file not found" in cli_error("predict", tiny_run_dir, "--file", tmp_path / "nope.txt")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("crème brûlée\n".encode("latin-1"))
    assert "not UTF-8" in cli_error("predict", tiny_run_dir, "--file", latin)
