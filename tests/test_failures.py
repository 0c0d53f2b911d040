"""Every error a user can cause ends in one line, ``bertclf: error: …``, that names the problem and
the fix — never a traceback, never a write where the user did not point. Walked class by class:
paths read, paths written, file formats, settings, and the state a run or cache is in."""

import errno
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from bertclf import BertclfError, cli, data, runs


@pytest.fixture
def run_copy(tiny_run_dir, tmp_path):
    return shutil.copytree(tiny_run_dir, tmp_path / "run")


def tweets_csv(path, rows=60):
    pd.DataFrame({"text": [f"tweet {i} {'good' if i % 2 else 'bad'}" for i in range(rows)],
                  "label": ["pos" if i % 2 else "neg" for i in range(rows)]}).to_csv(path, index=False)
    return path


# --- paths read: missing, the wrong kind, damaged ----------------------------------------------


def test_predict_file_that_is_a_directory(tiny_run_dir, tmp_path, cli_error):
    assert "is a directory" in cli_error("predict", tiny_run_dir, "--file", tmp_path)


def test_a_run_directory_that_is_a_file(tmp_path, cli_error):
    (tmp_path / "run").write_text("not a run")
    assert "is a file, not a run directory" in cli_error("evaluate", tmp_path / "run")


@pytest.mark.parametrize("damaged", ["model.safetensors", "tokenizer.json", "config.json"])
def test_damaged_model_files_of_a_run(run_copy, cli_error, damaged):
    (run_copy / damaged).write_bytes(b"\x00garbage")
    line = cli_error("predict", run_copy, "hello")
    assert "missing or damaged" in line and "again" in line


def test_a_model_directory_without_its_files(tmp_path, cli_error):
    (tmp_path / "empty-model").mkdir()
    line = cli_error("train", "--csv", tweets_csv(tmp_path / "t.csv"), "--model", tmp_path / "empty-model",
                     "--out", tmp_path / "run", "--no-baseline")
    assert "missing or damaged" in line and not (tmp_path / "run" / runs.INFO_FILE).exists()


def test_pretraining_text_that_is_not_utf8_or_missing(tmp_path, cli_error):
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1") * 50)
    assert "not UTF-8" in cli_error("pretrain", "--text", tmp_path / "latin1.txt", "--out", tmp_path / "p")
    assert "file not found" in cli_error("pretrain", "--text", tmp_path / "nowhere.txt", "--out", tmp_path / "p")


def test_resuming_pretraining_in_a_directory_that_is_not_one(tmp_path, cli_error):
    assert "not a `bertclf pretrain` directory" in cli_error("pretrain", "--resume", tmp_path)


def test_environment_paths_that_are_files(tmp_path, monkeypatch, cli_error):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("BERTCLF_CACHE", str(tmp_path / "file"))
    assert "BERTCLF_CACHE" in cli_error("build-encoder", "zh")
    monkeypatch.setenv("BERTCLF_MIRROR", str(tmp_path / "file"))
    monkeypatch.setenv("BERTCLF_PROFILE", "full")
    assert "BERTCLF_MIRROR" in cli_error("train", "--dataset", "sst2", "--out", tmp_path / "run")


# --- paths written: a file in the way, no room, no permission, someone else's ---------------------


def test_an_output_under_a_file(tiny_model_dir, tmp_path, cli_error):
    (tmp_path / "file").write_text("x")
    line = cli_error("train", "--csv", tweets_csv(tmp_path / "t.csv"), "--model", tiny_model_dir,
                     "--out", tmp_path / "file" / "run", "--no-baseline")
    assert "check the path" in line


@pytest.mark.parametrize("failure, words", [(OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
                                            (PermissionError(errno.EACCES, "Permission denied"), "permission denied")])
def test_a_write_that_fails_is_one_line(tiny_model_dir, tmp_path, monkeypatch, cli_error, failure, words):
    from bertclf.train import reuse

    def full_disk(path, data):
        failure.filename = str(path)
        raise failure

    monkeypatch.setattr(reuse, "write_json", full_disk)
    line = cli_error("train", "--csv", tweets_csv(tmp_path / "t.csv"), "--model", tiny_model_dir,
                     "--out", tmp_path / "run", "--no-baseline")
    assert words in line and str(tmp_path / "run") in line


def test_pretraining_never_replaces_a_finished_model_or_shares_a_directory(tmp_path, cli_error):
    from bertclf.encoders import pretrain

    out = tmp_path / "p"
    out.mkdir()
    (out / pretrain.HISTORY_FILE).write_text("{}")
    line = cli_error("pretrain", "--corpus", "people_daily", "--out", out, "--steps", "1")
    assert "already holds a pretrained model" in line and "--overwrite" in line
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom bertclf import runs\n"
                               "with runs.locked(sys.argv[1]):\n    print('locked', flush=True); time.sleep(120)",
                               str(tmp_path / "q")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert "another pretraining is writing into" in cli_error("pretrain", "--corpus", "people_daily", "--out",
                                                                   tmp_path / "q", "--steps", "1")
    finally:
        holder.kill()
        holder.wait()


# --- file formats: the byte-level variants real files come in ------------------------------------


def test_csv_variants_load_the_same_rows(tmp_path):
    frame = pd.DataFrame({"text": [f"text number {i}" for i in range(40)], "label": ["a", "b"] * 20})
    plain = tmp_path / "plain.csv"
    frame.to_csv(plain, index=False)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    (tmp_path / "crlf.csv").write_bytes(plain.read_bytes().replace(b"\n", b"\r\n"))
    (tmp_path / "semicolon.csv").write_text(plain.read_text().replace(",", ";"))
    loaded = [data.load_csv(tmp_path / name) for name in ("plain.csv", "bom.csv", "crlf.csv", "semicolon.csv")]
    assert all(data.fingerprints(d) == data.fingerprints(loaded[0]) for d in loaded)


def test_utf16_and_empty_files_are_named(tmp_path, cli_error):
    (tmp_path / "u16.csv").write_text("text,label\nhello,a\n", encoding="utf-16")
    assert "not UTF-8" in cli_error("train", "--csv", tmp_path / "u16.csv")
    (tmp_path / "header.csv").write_text("text,label\n")
    assert "no usable" in cli_error("train", "--csv", tmp_path / "header.csv")


# --- settings: checked before anything slow, and never silently ignored ---------------------------


def test_settings_are_checked_before_the_data_loads(tmp_path, cli_error):
    assert "learning_rate must be between 0 and 1" in cli_error("train", "--csv", tmp_path / "nowhere.csv", "--lr", "5")
    assert "max_batch must be at least 1" in cli_error("serve", tmp_path / "nowhere", "--max-batch", "0")
    assert "is not a TCP port" in cli_error("serve", tmp_path / "nowhere", "--port", "70000")


def test_resume_refuses_settings_it_would_ignore(run_copy, tmp_path, cli_error):
    line = cli_error("train", "--resume", run_copy, "--epochs", "5", "--lr", "1e-3", "--out", tmp_path / "elsewhere")
    assert "--epochs" in line and "--lr" in line and "--out" in line and "would be ignored" in line
    line = cli_error("pretrain", "--resume", tmp_path, "--steps", "5")
    assert "--steps" in line and "would be ignored" in line


# --- the unforeseen: one line, and the traceback on request ---------------------------------------


def test_an_unexpected_error_is_one_line_that_says_how_to_see_more(monkeypatch, tmp_path, cli_error):
    from bertclf.cli import training

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(training, "_load_data", broken)
    line = cli_error("train", "--csv", tmp_path / "t.csv")
    assert "unexpected ZeroDivisionError" in line and "BERTCLF_DEBUG=1" in line
    monkeypatch.setenv("BERTCLF_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["train", "--csv", str(tmp_path / "t.csv")])


# --- data sets: names and labels ------------------------------------------------------------------


def test_a_saved_data_set_named_like_a_built_in_one(tmp_path, monkeypatch):
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b"])})
    rows = {"text": [f"text {i}" for i in range(40)], "label": [i % 2 for i in range(40)]}
    DatasetDict(train=Dataset.from_dict(rows, features=features)).save_to_disk(tmp_path / "tweets")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BertclfError, match="names both a built-in data set and the saved data set directory"):
        data.load("tweets")
    assert data.label_names(data.load("./tweets", train_size=None, eval_size=None)) == ["a", "b"]


def test_integer_labels_beyond_the_class_names_are_named():
    from datasets import Dataset, DatasetDict

    from bertclf.data.hub import HubSpec, split_frames

    spec = HubSpec("org/reviews", None, "text", "label", label_names=("negative", "positive"))
    loaded = DatasetDict(train=Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 5]}))
    with pytest.raises(BertclfError, match=r"label id\(s\) \[5\] are beyond its 2 class names"):
        split_frames("reviews", spec, loaded)

