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
    predictions = Classifier.load(tmp_path / "run").predict(["I love this so much!", "This is terrible."])
    assert [p["label"] for p in predictions] == ["positive", "negative"]
