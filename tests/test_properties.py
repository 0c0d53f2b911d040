"""Property-based tests: predict never crashes on arbitrary Unicode and always returns
probabilities that sum to 1; loading arbitrary rows either works or raises a BertclfError."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bertclf import BertclfError, data
from bertclf.serve.classifier import LONG_TEXT_MODES, Classifier

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates, controls and NUL included; plus words the vocabulary knows.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.lists(st.sampled_from(["good", "bad", "😀", "不错", "\u0301", " ", "\n", "[SEP]", "##s"]), max_size=400).map(
        " ".join
    ),
)


@pytest.fixture(scope="module")
def clf(tiny_run_dir):
    return Classifier.load(tiny_run_dir)


def assert_valid(prediction: dict, labels: list[str]) -> None:
    probs = prediction["probs"]
    assert list(probs) == labels
    values = np.array(list(probs.values()))
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    assert math.isclose(values.sum(), 1.0, abs_tol=1e-6)
    assert prediction["label"] in labels and prediction["score"] == max(probs.values())
    assert prediction["score"] == probs[prediction["label"]]


@SETTINGS
@given(
    texts=st.lists(TEXTS, max_size=6),
    mode=st.sampled_from(LONG_TEXT_MODES),
    max_length=st.integers(8, 128),
    batch_size=st.integers(1, 8),
)
def test_predict_on_arbitrary_unicode_returns_probabilities_summing_to_1(clf, texts, mode, max_length, batch_size):
    predictions = clf.predict(texts, long_texts=mode, max_length=max_length, batch_size=batch_size)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert_valid(prediction, clf.labels)
    assert clf.predict_proba(texts, long_texts=mode, max_length=max_length).shape == (len(texts), len(clf.labels))


@SETTINGS
@given(texts=st.lists(TEXTS, min_size=1, max_size=5))
def test_a_text_gets_the_same_prediction_alone_and_in_a_batch(clf, texts):
    together = clf.predict_proba(texts, batch_size=len(texts))
    alone = np.vstack([clf.predict_proba([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


VALUES = st.one_of(
    st.text(ANY_CHAR, max_size=20), st.none(), st.just(float("nan")), st.integers(), st.floats(), st.just("   ")
)


GOOD_ROWS = [(f"example text {i}", "ab"[i % 2]) for i in range(40)]


@pytest.mark.filterwarnings("ignore:.*dropped:UserWarning")
@SETTINGS
@given(
    rows=st.lists(st.tuples(VALUES, st.one_of(st.sampled_from(["a", "b", "c"]), VALUES)), max_size=30),
    good=st.integers(0, len(GOOD_ROWS)),
    drop=st.booleans(),
    data_=st.data(),
)
def test_loading_arbitrary_rows_works_or_raises_a_bertclf_error(rows, good, drop, data_):
    rows = data_.draw(st.permutations(GOOD_ROWS[:good] + rows))
    frame = pd.DataFrame(rows, columns=["text", "label"], dtype=object)
    try:
        dsd = data.from_frame(frame, drop_bad_rows=drop)
    except BertclfError as error:
        event("BertclfError")
        assert str(error)  # a message, whatever went wrong
        return
    event("loaded")
    # when it works: every split holds only clean texts, and no text is in two splits
    assert set(data.overlap(dsd).values()) == {0}
    for split in dsd.values():
        assert all(isinstance(t, str) and t.strip() for t in split["text"])
