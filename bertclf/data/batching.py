"""From texts to padded tensor batches: tokenization, length bucketing, dynamic padding.

Padding every text to ``max_length`` wastes compute on [PAD] tokens; padding each batch only
to its own longest text (dynamic padding) wastes less; grouping texts of similar length into
the same batch (length bucketing) wastes almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader, Sampler
from transformers import DataCollatorWithPadding, PreTrainedTokenizerBase

from bertclf.errors import BertclfError

MODEL_COLUMNS = ["input_ids", "attention_mask", "token_type_ids", "labels"]


def encode(split: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Dataset:
    """Tokenize a split into ``input_ids``/``attention_mask``/``token_type_ids``/``labels``.

    Texts are truncated to ``max_length`` tokens ([CLS] and [SEP] included) but not padded:
    padding happens per batch, in :func:`make_loader`.
    """
    check_max_length(tokenizer, max_length)

    def tokenize(batch: dict) -> dict:
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        encoded["labels"] = batch["label"]
        return encoded

    encoded = split.map(tokenize, batched=True, remove_columns=split.column_names, desc="tokenize")
    return encoded.with_format(columns=[c for c in MODEL_COLUMNS if c in encoded.column_names])


def check_max_length(tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
    """Refuse a ``max_length`` the model's position embeddings cannot cover."""
    limit = tokenizer.model_max_length
    if max_length < 8:
        raise BertclfError(f"max_length={max_length} is too small: use 8 or more tokens")
    if limit and limit < 1_000_000 and max_length > limit:
        raise BertclfError(
            f"max_length={max_length} exceeds the model's limit of {limit} positions: "
            f"use --max-length {limit} or less (long texts: see Classifier.predict(long_texts=...))"
        )


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length examples, in a seeded random order that changes each epoch.

    Shuffle all indices, cut them into pools of ``pool_batches`` batches, sort each pool by
    length and cut it into batches, then shuffle the batches. Without ``shuffle`` the batches
    are simply in length order (best for evaluation and prediction).
    """

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pool_batches: int = 64,
    ) -> None:
        if batch_size < 1:
            raise BertclfError(f"batch_size must be at least 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool = batch_size * pool_batches
        self.epoch = 0

    @property
    def batch_size(self) -> int | None:
        """What Accelerate reads to shard the batches over processes: ``None`` (sizes vary) when shuffled.

        Accelerate hands out a group of batches only when the group's last batch is full. Shuffled,
        the one short batch can sit anywhere in the epoch, and its group would be dropped; batches
        in length order end with the short one, which Accelerate handles.
        """
        return None if self.shuffle else self.size

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.size)

    def batches(self, epoch: int) -> list[list[int]]:
        """The batches of one epoch (the same for the same seed and epoch)."""
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i : i + self.size].tolist() for i in range(0, len(order), self.size)]
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(order), self.pool):
            pool = order[start : start + self.pool]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i : i + self.size].tolist() for i in range(0, len(pool), self.size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        yield from self.batches(epoch)


def make_loader(
    encoded: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    batch_size: int,
    *,
    shuffle: bool = False,
    bucket: bool = True,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader that pads each batch to its own longest example.

    ``bucket=True`` groups similar lengths (:class:`LengthBucketBatchSampler`);
    ``bucket=False`` is plain dynamic padding over random (or in-order) batches.
    """
    collate = DataCollatorWithPadding(tokenizer, return_tensors="pt")
    if bucket:
        lengths = [len(ids) for ids in encoded.with_format(None)["input_ids"]]
        sampler = LengthBucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(encoded, batch_sampler=sampler, collate_fn=collate)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(encoded, batch_size=batch_size, shuffle=shuffle, collate_fn=collate, generator=generator)


def snug_batches(lengths: list[int], batch_size: int, padding: float = 0.1) -> list[list[int]]:
    """Indices in length order, cut into batches of at most ``batch_size`` that each pad at most
    ``padding`` of their real tokens (a batch is padded to its longest text). A few dozen texts of
    mixed lengths, as a service gathers them, become a few snug batches instead of one padded one."""
    if batch_size < 1:
        raise BertclfError(f"batch_size must be at least 1, got {batch_size}")
    order = np.argsort(lengths, kind="stable")
    batches, current, real = [], [], 0
    for index in order:
        size = int(lengths[index])  # the longest so far: lengths come in increasing order
        if current and (len(current) == batch_size or size * (len(current) + 1) > (1 + padding) * (real + size)):
            batches.append(current)
            current, real = [], 0
        current.append(int(index))
        real += size
    return batches + [current] if current else batches


def padding_stats(loader: DataLoader) -> dict[str, float]:
    """Real (non-padding) tokens vs all tokens over one pass of ``loader``."""
    real = total = 0
    for batch in loader:
        mask = batch["attention_mask"]
        real += int(mask.sum())
        total += mask.numel()
    return {"real_tokens": real, "total_tokens": total, "real_fraction": real / max(total, 1)}
