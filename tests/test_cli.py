"""The command line: train, evaluate, predict, on the same functions as the API."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from bertclf import cli, runs


def run_cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "bertclf.cli", *map(str, args)], input=stdin,
        capture_output=True, text=True, timeout=600,
    )


@pytest.mark.slow
def test_predict_reads_arguments_file_and_stdin(tiny_run_dir, tmp_path):
    by_arg = run_cli("predict", tiny_run_dir, "so happy today", "so sad today", "--json")
    assert by_arg.returncode == 0, by_arg.stderr
    rows = [json.loads(line) for line in by_arg.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["so happy today", "so sad today"]
    path = tmp_path / "texts.txt"
    path.write_text("so happy today\n\nso sad today\n")
    by_file = run_cli("predict", tiny_run_dir, "--file", path, "--json")
    by_stdin = run_cli("predict", tiny_run_dir, "--json", stdin="so happy today\nso sad today\n")
    assert by_file.stdout == by_stdin.stdout == by_arg.stdout


def test_evaluate_reloads_the_recorded_test_split(tiny_run_dir, capsys):
    assert cli.main(["evaluate", str(tiny_run_dir)]) == 0
    out = capsys.readouterr().out
    recorded = json.loads((tiny_run_dir / "metrics.json").read_text())["test"]["accuracy"]
    assert json.loads(out[: out.index("}\n}") + 3])["test"]["accuracy"] == recorded


def test_train_on_a_csv_prints_test_accuracy_next_to_the_baseline(tiny_model_dir, tmp_path, capsys):
    rows = [(f"I really love product {i}", "pos") for i in range(60)] + [
        (f"I really hate product {i}", "neg") for i in range(60)
    ]
    path = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(path, index=False)
    code = cli.main([
        "train", "--csv", str(path), "--text-column", "review", "--label-column", "sentiment",
        "--model", str(tiny_model_dir), "--epochs", "2", "--lr", "1e-3", "--max-length", "32",
        "--out", str(tmp_path / "run"),
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert "test accuracy" in out and "TF-IDF + logistic regression" in out
    assert (tmp_path / "run" / "model.safetensors").is_file()
    card = (tmp_path / "run" / "README.md").read_text(encoding="utf-8")
    assert "reviews.csv" in card and "| test | TF-IDF + logistic regression |" in card


@pytest.mark.slow
def test_bad_input_prints_one_line_and_exits_2(tmp_path):
    result = run_cli("train", "--dataset", "no_such_set", "--out", tmp_path / "x")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "tweets" in result.stderr  # names the known data sets


def test_evaluate_split_scores_the_chosen_split(tiny_run_dir, capsys):
    assert cli.main(["evaluate", str(tiny_run_dir), "--split", "validation"]) == 0
    out = capsys.readouterr().out
    recorded = json.loads((tiny_run_dir / "metrics.json").read_text())["validation"]  # the best epoch's
    scored = json.loads(out[: out.index("}\n}") + 3])
    assert list(scored) == ["validation"] and scored["validation"]["accuracy"] == recorded["accuracy"]


def predicted(capsys, *argv) -> list[dict]:
    capsys.readouterr()
    assert cli.main(["predict", *map(str, argv), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_predict_long_texts_and_quantize_match_the_api(tiny_run_dir, capsys):
    from bertclf.serve.classifier import Classifier

    texts = [" ".join(["what a wonderful day"] * 40) + " but then it rained", "so sad today"]  # 160+ tokens > 48
    clf = Classifier.load(tiny_run_dir)
    truncated = predicted(capsys, tiny_run_dir, *texts)[0]["score"]
    for how in ("head_tail", "sliding"):
        rows = predicted(capsys, tiny_run_dir, *texts, "--long-texts", how)
        assert [{k: r[k] for k in ("label", "score")} for r in rows] == [
            {k: p[k] for k in ("label", "score")} for p in clf.predict(texts, long_texts=how)
        ]
        assert rows[0]["score"] != truncated  # the long text's end was read
    quantized = Classifier.load(tiny_run_dir, quantize=True).predict(texts)
    assert [r["label"] for r in predicted(capsys, tiny_run_dir, *texts, "--quantize")] == [p["label"] for p in quantized]


def test_train_keeps_a_users_test_file(tiny_model_dir, tmp_path, capsys):
    rows = lambda start: pd.DataFrame(  # noqa: E731
        [(f"I really {'love' if i % 2 else 'hate'} product {i}", "pos" if i % 2 else "neg") for i in range(start, start + 60)],
        columns=["text", "label"])
    rows(0).to_csv(tmp_path / "train.csv", index=False)
    rows(500).to_csv(tmp_path / "test.csv", index=False)
    code = cli.main(["train", "--csv", str(tmp_path / "train.csv"), "--test-csv", str(tmp_path / "test.csv"),
                     "--model", str(tiny_model_dir), "--epochs", "1", "--max-length", "32", "--out", str(tmp_path / "run")])
    assert code == 0 and "test: the given test split" in capsys.readouterr().out
    assert runs.run_info(tmp_path / "run")["splits"]["test"]["rows"] == 60
    rows(900).to_csv(tmp_path / "validation.csv", index=False)
    code = cli.main(["train", "--csv", str(tmp_path / "train.csv"), "--validation-csv", str(tmp_path / "validation.csv"),
                     "--test-csv", str(tmp_path / "test.csv"), "--model", str(tiny_model_dir), "--epochs", "1",
                     "--max-length", "32", "--out", str(tmp_path / "run3")])
    splits = runs.run_info(tmp_path / "run3")["splits"]
    assert code == 0 and [splits[k]["rows"] for k in ("train", "validation", "test")] == [60, 60, 60]
    assert cli.main(["train", "--dataset", "tweets", "--test-csv", str(tmp_path / "test.csv")]) == 2


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_the_settings_resume_refuses_are_named_by_flags_the_command_has(command, capsys):
    from bertclf.cli.parser import build_parser, flag
    from bertclf.cli.pretraining import PRETRAIN_SETTINGS
    from bertclf.cli.training import RUN_SETTINGS

    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = capsys.readouterr().out
    settings = RUN_SETTINGS if command == "train" else PRETRAIN_SETTINGS
    assert [name for name in settings if f"{flag(name)} " not in help_text.replace("\n", " ")] == []
    assert flag("learning_rate") == "--lr" and flag("max_length") == "--max-length"
