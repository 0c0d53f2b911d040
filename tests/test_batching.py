"""Tokenization into model inputs, and length-bucketed dynamic padding."""

import numpy as np
import pytest

from bertclf import data
from bertclf.data import batching
from bertclf.errors import BertclfError
from bertclf.models.load import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def encoded(tokenizer):
    dsd = data.load("tweets", train_size=640, eval_size=64)
    return batching.encode(dsd["train"], tokenizer, max_length=64)


def test_encode_builds_the_four_model_inputs(encoded, tokenizer):
    row = encoded[0]
    assert set(row) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    assert row["input_ids"][0] == tokenizer.cls_token_id and row["input_ids"][-1] == tokenizer.sep_token_id
    assert set(row["token_type_ids"]) == {0} and set(row["attention_mask"]) == {1}
    assert max(len(r) for r in encoded["input_ids"]) <= 64


def test_sampler_yields_every_index_once_per_epoch():
    sampler = batching.LengthBucketBatchSampler(list(range(1, 1001)), batch_size=32, seed=3)
    for epoch in range(2):
        flat = [i for batch in sampler for i in batch]
        assert sorted(flat) == list(range(1000))
    assert sampler.batches(0) != sampler.batches(1)  # reshuffled each epoch
    assert sampler.batches(1) == batching.LengthBucketBatchSampler(list(range(1, 1001)), 32, seed=3).batches(1)


def test_bucketing_removes_nearly_all_padding(encoded, tokenizer):
    bucketed = batching.padding_stats(batching.make_loader(encoded, tokenizer, 32, shuffle=True))
    plain = batching.padding_stats(batching.make_loader(encoded, tokenizer, 32, shuffle=True, bucket=False))
    assert bucketed["real_tokens"] == plain["real_tokens"]
    assert bucketed["real_fraction"] > 0.95 > plain["real_fraction"] + 0.2


def test_batches_are_padded_tensors_with_labels(encoded, tokenizer):
    batch = next(iter(batching.make_loader(encoded, tokenizer, 8)))
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["labels"].shape == (8,)


def test_max_length_beyond_the_position_limit_is_refused(tokenizer):
    with pytest.raises(BertclfError, match="512"):
        batching.check_max_length(tokenizer, 1024)


def test_snug_batches_keep_padding_within_budget_and_cover_every_text_once():
    from bertclf.data.batching import snug_batches

    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 64, size=32).tolist()  # what a service gathers: mixed lengths
    batches = snug_batches(lengths, batch_size=32, padding=0.1)
    assert sorted(i for b in batches for i in b) == list(range(32))
    for batch in batches:
        real = sum(lengths[i] for i in batch)
        assert len(batch) <= 32 and max(lengths[i] for i in batch) * len(batch) <= 1.1 * real
    assert len(snug_batches([10] * 100, batch_size=32)) == 4  # equal lengths: full batches
    assert snug_batches([], batch_size=8) == []
