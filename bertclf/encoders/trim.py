"""Trimming a SentencePiece Unigram vocabulary to the pieces a text sample needs: which ids to
keep, the renumbered ``tokenizer.json``, and how much of a held-out text the kept pieces cover."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from bertclf.errors import BertclfError

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # XLM-R's, at ids 0, 1, 2, 3 and last


def plain(tokenizer):
    """``tokenizer`` (a ``tokenizers.Tokenizer``), or a copy of it that neither truncates nor pads
    where it does: measuring must see every token."""
    if tokenizer.truncation is None and tokenizer.padding is None:
        return tokenizer
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(tokenizer.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def token_ids(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """The ids of each text, special tokens not added, none cut off."""
    return [encoding.ids for encoding in plain(tokenizer).encode_batch(list(texts), add_special_tokens=False)]


def sample_ids(tokenizer, texts: Sequence[str]) -> np.ndarray:
    """The distinct ids ``tokenizer`` (the full one) produces on ``texts``, sorted."""
    ids = token_ids(tokenizer, texts)
    return np.unique(np.concatenate([np.asarray(i, dtype=np.int64) for i in ids] + [np.zeros(0, np.int64)]))


def kept_ids(tokenizer_json: dict, vocabulary_size: int | None,
             sampled: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """The ids to keep, in order, and how many each step of the rule kept: the special tokens,
    every single-character piece (with or without the leading ``▁``: every character the model
    knows stays known), every piece in ``sampled`` (what the full tokenizer produced on the
    sample), then the other multi-character pieces of highest unigram score until
    ``vocabulary_size`` pieces are kept in all. ``None`` keeps every piece (untrimmed)."""
    vocab = tokenizer_json["model"]["vocab"]
    if vocabulary_size is None:
        return np.arange(len(vocab)), {"all": len(vocab)}
    special = np.zeros(len(vocab), bool)
    special[[token["id"] for token in tokenizer_json["added_tokens"]]] = True
    single = np.array([len(piece.removeprefix("▁")) <= 1 for piece, _ in vocab]) & ~special
    from_sample = np.zeros(len(vocab), bool)
    if sampled is not None and len(sampled):
        from_sample[sampled] = True
    from_sample &= ~special & ~single
    keep = special | single | from_sample
    if vocabulary_size < keep.sum():
        raise BertclfError(f"vocabulary_size={vocabulary_size:,} is below the {keep.sum():,} pieces the rule "
                           "must keep (special tokens, single characters, the sample's pieces)")
    scores = np.array([score for _, score in vocab])
    rest = np.flatnonzero(~keep)
    top = rest[np.argsort(-scores[rest], kind="stable")[:vocabulary_size - keep.sum()]]
    counts = {"special": int(special.sum()), "single_character": int(single.sum()),
              "from_sample": int(from_sample.sum()), "top_score": len(top)}
    return np.sort(np.concatenate([np.flatnonzero(keep), top])), counts


def trim_tokenizer(tokenizer_json: dict, keep: np.ndarray) -> dict:
    """``tokenizer.json`` with only the pieces ``keep``, renumbered in order; the normaliser,
    pre-tokenizer and decoder as they were, the special tokens' ids moved with them."""
    vocab = tokenizer_json["model"]["vocab"]
    new_id = {int(old): new for new, old in enumerate(keep)}
    added = [{**token, "id": new_id[token["id"]]} for token in tokenizer_json["added_tokens"]]
    ids = {token["content"]: token["id"] for token in added}
    if [ids.get(t) for t in SPECIAL_TOKENS] != [0, 1, 2, 3, len(keep) - 1]:
        raise BertclfError(f"the trimmed tokenizer's special tokens moved: {ids}")
    post = json.loads(json.dumps(tokenizer_json["post_processor"]))
    for special in post.get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
        if special["ids"] != [ids[t] for t in special["tokens"]]:
            raise BertclfError(f"the post-processor's ids of {special['tokens']} do not match the vocabulary")
    model = {**tokenizer_json["model"], "vocab": [vocab[i] for i in keep.tolist()], "unk_id": ids["<unk>"]}
    return {**tokenizer_json, "added_tokens": added, "post_processor": post, "model": model}


def coverage(full, trimmed, keep: np.ndarray, texts: Sequence[str]) -> dict:
    """How much of ``texts``' tokens (the full tokenizer's) the kept vocabulary has, the tokens a
    text with the full and the trimmed tokenizer (special tokens not counted), and the ``<unk>``
    tokens of each (``full`` and ``trimmed``: ``tokenizers.Tokenizer`` objects)."""
    full_ids, trimmed_ids = token_ids(full, texts), token_ids(trimmed, texts)
    tokens = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in full_ids])
    unknown_full, unknown_trimmed = full.token_to_id("<unk>"), trimmed.token_to_id("<unk>")
    return {"texts": len(texts), "kept_share": round(float(np.isin(tokens, keep).mean()), 4),
            "tokens_per_text_full": round(len(tokens) / len(texts), 2),
            "tokens_per_text_trimmed": round(sum(map(len, trimmed_ids)) / len(texts), 2),
            "unknown_full": int((tokens == unknown_full).sum()),
            "unknown_trimmed": sum(ids.count(unknown_trimmed) for ids in trimmed_ids)}


def describe(measured: dict) -> str:
    """One line of a coverage measurement."""
    return (f"{measured['kept_share']:.2%} of the full tokenizer's tokens are kept; "
            f"{measured['tokens_per_text_full']:.1f} tokens a text untrimmed, "
            f"{measured['tokens_per_text_trimmed']:.1f} trimmed, <unk> {measured['unknown_full']} → "
            f"{measured['unknown_trimmed']} ({measured['texts']:,} texts)")
