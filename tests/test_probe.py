"""The linear probe: pooling that ignores padding, and a probe that scores like an Evaluation."""

import numpy as np
import pytest

from bertclf import data
from bertclf.errors import BertclfError
from bertclf.evaluate import probe
from bertclf.models.load import load_tokenizer


@pytest.fixture(scope="module")
def encoder_and_tokenizer():
    return probe.load_encoder(), load_tokenizer()


def test_mean_pooling_ignores_padding(encoder_and_tokenizer):
    encoder, tokenizer = encoder_and_tokenizer
    short, long = "great flight", "the flight was delayed for three hours and nobody told us why at all"
    alone = probe.sentence_vectors(encoder, tokenizer, [short], max_length=32)
    padded = probe.sentence_vectors(encoder, tokenizer, [short, long], max_length=32, batch_size=2)
    assert padded.shape == (2, encoder.config.hidden_size)
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-4)  # same vector with or without [PAD]s


def test_order_is_kept_and_cls_pooling_differs(encoder_and_tokenizer):
    encoder, tokenizer = encoder_and_tokenizer
    texts = ["a much longer text than the others, with many more tokens in it", "ok", "fine thanks"]
    one_by_one = np.concatenate([probe.sentence_vectors(encoder, tokenizer, [t], max_length=32) for t in texts])
    together = probe.sentence_vectors(encoder, tokenizer, texts, max_length=32)
    np.testing.assert_allclose(one_by_one, together, atol=1e-4)
    cls = probe.sentence_vectors(encoder, tokenizer, texts, max_length=32, pooling="cls")
    assert not np.allclose(cls, together)
    with pytest.raises(BertclfError, match="pooling"):
        probe.sentence_vectors(encoder, tokenizer, texts, max_length=32, pooling="max")


def test_fit_probe_returns_evaluations():
    dsd = data.load("tweets", train_size=120, eval_size=30)
    scored = probe.fit_probe(dsd, max_length=32)
    assert set(scored) == {"validation", "test"}
    test = scored["test"]
    assert test.probs.shape == (len(dsd["test"]), 3) and np.allclose(test.probs.sum(axis=1), 1)
    assert 0 <= test.accuracy <= 1 and list(test.labels) == list(dsd["test"]["label"])
