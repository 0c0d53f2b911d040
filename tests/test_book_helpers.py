"""The helpers that keep the chapters' cells short (bertclf.book, bertclf.evaluate.plots)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch

from bertclf import book
from bertclf.evaluate import plots
from bertclf.evaluate.metrics import Evaluation


def test_parameter_table_counts_bert_base_and_large_like_chapter_4():
    table = book.parameter_table()
    assert int(round(table.loc["BERT-base", "parameters (M)"] * 1e6)) == 109_482_240
    assert int(round(table.loc["BERT-large", "parameters (M)"] * 1e6)) == 335_141_888
    assert (table["in the encoder layers (M)"] < table["parameters (M)"]).all()


def test_one_thread_restores_the_thread_count_and_timers_return_numbers():
    before = torch.get_num_threads()
    with book.one_thread():
        assert torch.get_num_threads() == 1
        assert book.best_cpu_time(lambda: sum(range(1000)), repeats=2) >= 0
    assert torch.get_num_threads() == before


def test_ms_per_text_times_single_texts_and_one_batch():
    layer = torch.nn.Linear(4, 4)
    encoder = lambda x: layer(x)  # noqa: E731
    encoder.eval = lambda: None
    singles = [{"x": torch.randn(1, 4)} for _ in range(3)]
    timing = book.ms_per_text(encoder, singles, {"x": torch.randn(3, 4)}, repeats=1)
    assert set(timing) == {"batch 1 (ms/text)", "batch 3 (ms/text)"} and all(v >= 0 for v in timing.values())


def test_per_text_table_and_machine_line():
    evaluation = Evaluation(["a", "b"], np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), ["x", "y"])
    table = book.per_text_table(evaluation)
    assert table["correct"].tolist() == [True, False] and table["predicted"].tolist() == ["a", "a"]
    assert "4 logical cores" in book.machine_line({"cpu": "cpu", "logical_cores": 4})


def test_figures_draw():
    ax = plots.pipeline_diagram([("A", "first", "(1,)", False), ("B", "second", "(2,)", True)], title="t")
    assert len(ax.patches) == 2
    record = {"benchmark": "predict", "title": "t", "settings": {"threads": 1},
              "runs": {"r": {"label": "bertclf x", "texts": 10, "seconds": 2.0}}}
    fig = plots.throughput_bars([record], "machine")
    assert fig.axes[0].get_xlabel() == "texts per second (prediction)"


def test_the_environment_and_config_lines_fit_the_page_unbroken(capsys):
    from bertclf.book import PAGE_WIDTH, fill, show_environment
    from bertclf.train import TrainConfig

    show_environment()
    printed = capsys.readouterr().out
    config = str(TrainConfig.from_profile())
    for text in (printed, config):
        assert all(len(line) <= PAGE_WIDTH for line in text.splitlines())
    assert " ".join(printed.split()).count("[bertclf] profile=") == 1
    assert all(f"{f}=" in config for f in ("model", "learning_rate", "max_length", "seed"))
    parts = [f"part{i}={'x' * i}" for i in range(40)]
    assert fill(parts).split() == parts, "every part kept whole, in order"


def test_fill_measures_chinese_characters_as_two_columns():
    tokens = ["这个", "手机", "很", "不错"] * 20
    lines = book.fill(tokens).splitlines()
    assert len(lines) > 1 and all(book.display_width(line) <= book.PAGE_WIDTH for line in lines)
    assert book.display_width("不错!") == 5 and book.display_width("ok") == 2


def shown_sources() -> dict[str, object]:
    """Every object a chapter shows with ``show_source(...)``, resolved with the chapter's own imports."""
    import json
    import re
    from pathlib import Path

    shown = {}
    for path in sorted(Path(__file__).parents[1].glob("book/*.ipynb")):
        cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        code = "\n".join(cells)
        namespace: dict = {}
        for statement in re.findall(r"^from bertclf[\w.]* import (?:\([^)]*\)|[^\n]+)", code, re.M):
            exec(statement, namespace)
        for name in re.findall(r"show_source\(([\w.]+)\)", code):
            shown[f"{path.stem}: {name}"] = eval(name, namespace)
    return shown


def test_the_package_source_the_chapters_show_fits_the_page():
    import inspect

    shown = shown_sources()
    assert shown, "the chapters show package source"
    wide = [f"{name}: {line}" for name, obj in shown.items() for line in inspect.getsource(obj).splitlines()
            if len(line) > book.PAGE_WIDTH]
    assert not wide, wide


def test_no_chapter_shows_a_private_function_as_the_lesson():
    private = [name for name, obj in shown_sources().items() if obj.__name__.startswith("_")]
    assert not private, private


def test_validation_by_seed_sets_two_rows_side_by_side_at_one_size():
    def run(row, size, seed, accuracy):
        return {"row": row, "size": size, "seed": seed, "validation": {"accuracy": accuracy}}

    results = {"row_names": {"main": "minilm-zh", "e5": "e5"},
               "runs": {f"{r}/{z}/{s}": run(r, z, s, a) for r, z, s, a in [
                   ("main", "quick", 1, 0.84), ("main", "quick", 0, 0.83), ("e5", "quick", 0, 0.85),
                   ("main", "all", 0, 0.86), ("e5", "all", 0, 0.88)]}}
    quick = book.validation_by_seed(results, ["main", "e5"], "quick")
    assert list(quick.columns) == ["minilm-zh", "e5"] and list(quick.index) == [0, 1]
    assert quick.loc[0, "e5"] == 0.85 and np.isnan(quick.loc[1, "e5"])  # a seed e5 lacks
    assert book.validation_by_seed(results, ["main", "e5"], "all").loc[0].tolist() == [0.86, 0.88]


def test_trials_table_sets_one_encoders_trials_under_its_profile_settings_by_epoch():
    def run(accuracies, **config):
        return {"history": [{"epoch": e, "val_accuracy": a} for e, a in enumerate(accuracies, 1)],
                "validation": {"accuracy": max(accuracies)}, "config": config}

    results = {"runs": {"main/quick/0": run([0.82, 0.84], learning_rate=5e-5, epochs=2),
                        "e5/quick/0": run([0.83, 0.85], learning_rate=5e-5, epochs=2, freeze_word_embeddings=True)},
               "trials": {"main": {"3 epochs": run([0.8, 0.83, 0.84])}, "e5": {"lr 1e-4": run([0.84, 0.86])}}}
    e5 = book.trials_table(results, "e5")
    assert list(e5.index) == ["the profile's (learning rate 5e-5, 2 epochs, word embeddings frozen)", "lr 1e-4"]
    assert e5["best validation accuracy"].tolist() == [0.85, 0.86]
    main = book.trials_table(results)  # the main encoder's by default; a third epoch is a third column
    assert main.index[0] == "the profile's (learning rate 5e-5, 2 epochs)" and main.shape == (2, 4)
    assert np.isnan(main.iloc[0]["validation accuracy, epoch 3"])
