"""End to end: the real bundled MiniLM fine-tuned on a few hundred real tweets learns."""

import pytest

from bertclf import Classifier, data, train


@pytest.mark.slow
def test_real_model_beats_the_majority_class_on_held_out_tweets(tmp_path):
    dsd = data.load("tweets", train_size=800, eval_size=300)
    config = train.TrainConfig.from_profile(epochs=2, learning_rate=1e-4, max_length=64)
    result = train.fit(dsd, tmp_path / "run", config)
    labels = dsd["test"]["label"]
    majority = max(labels.count(c) for c in set(labels)) / len(labels)
    print(f"test accuracy {result.test.accuracy:.3f} vs majority class {majority:.3f}")
    assert result.test.accuracy > majority + 0.10
    # the saved run, loaded back, predicts exactly what was scored during training
    predicted = [p["label"] for p in Classifier.load(tmp_path / "run").predict(dsd["test"]["text"])]
    names = dsd["test"].features["label"].names
    reloaded = sum(p == names[y] for p, y in zip(predicted, labels)) / len(labels)
    assert reloaded == pytest.approx(result.test.accuracy, abs=1 / len(labels))
