"""Metrics, error analysis and calibration on hand-made predictions (known answers)."""

import numpy as np
import pytest

from bertclf import data
from bertclf.evaluate import baseline, plots
from bertclf.evaluate.metrics import Evaluation, expected_calibration_error, softmax


@pytest.fixture
def evaluation():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    return Evaluation(["neg", "pos"], np.array([0, 1, 1, 0]), probs, ["a", "b", "c", "d"])


def test_accuracy_f1_and_confusion(evaluation):
    assert evaluation.accuracy == 0.5
    assert evaluation.macro_f1 == pytest.approx(0.5)
    assert evaluation.confusion().values.tolist() == [[1, 1], [1, 1]]
    report = evaluation.report()
    assert report.loc["pos", "support"] == 2


def test_top_losses_are_the_most_confident_mistakes(evaluation):
    top = evaluation.top_losses(2)
    assert top["text"].tolist() == ["d", "c"]  # p(true)=0.3 then 0.4
    assert top["loss"].iloc[0] == pytest.approx(-np.log(0.3), abs=1e-3)
    assert evaluation.most_confused(1)["count"].iloc[0] == 1


def test_ece_is_zero_for_a_perfectly_calibrated_model_and_large_for_an_overconfident_one():
    labels = np.array([0] * 8 + [1] * 2)
    calibrated = np.tile([0.8, 0.2], (10, 1))  # 80% confident, 80% right
    assert expected_calibration_error(calibrated, labels) == pytest.approx(0.0)
    overconfident = np.tile([0.99, 0.01], (10, 1))
    assert expected_calibration_error(overconfident, labels) == pytest.approx(0.19)


def test_softmax_rows_sum_to_one_even_for_huge_logits():
    probs = softmax(np.array([[1000.0, 0.0], [-5.0, 5.0]]))
    assert np.allclose(probs.sum(axis=1), 1) and np.isfinite(probs).all()


def test_plots_draw_without_error(evaluation):
    history = [{"epoch": 1, "val_loss": 0.7, "val_accuracy": 0.6, "val_macro_f1": 0.55},
               {"epoch": 2, "val_loss": 0.6, "val_accuracy": 0.7, "val_macro_f1": 0.65}]
    left, right = plots.training_curves(history, [1.0, 0.9, 0.8, 0.7])
    assert right.get_title() == "Validation"
    assert plots.confusion_matrix(evaluation).get_title().startswith("Confusion")
    assert "ECE" in plots.reliability_diagram(evaluation).get_title()


def test_baseline_clearly_beats_chance_on_tweets():
    scores = baseline.fit_baseline(data.load("tweets", train_size=2000, eval_size=500))
    assert scores["accuracy"] > 0.6 and 0 < scores["macro_f1"] <= 1
