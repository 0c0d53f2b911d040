"""A linear probe: a frozen encoder's sentence vectors, and a logistic regression on top.

Fine-tuning updates every weight of the encoder. A probe (feature extraction) leaves the
encoder as pretraining left it: each text goes through it once, without gradients, and only
a linear classifier is trained on the resulting vectors. It is cheap and often strong with
few labels; it cannot adapt the encoder to the task.
"""

from __future__ import annotations

import numpy as np
import torch
from datasets import DatasetDict
from sklearn.linear_model import LogisticRegression
from transformers import PreTrainedTokenizerBase

from bertclf.errors import BertclfError
from bertclf.evaluate.metrics import Evaluation
from bertclf.models.load import load_encoder, load_tokenizer
from bertclf.profiles import BUNDLED_MODEL, get_profile

POOLINGS = ("mean", "cls")


@torch.inference_mode()
def sentence_vectors(
    encoder: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    *,
    max_length: int,
    pooling: str = "mean",
    batch_size: int = 64,
) -> np.ndarray:
    """One vector per text from the encoder's last layer: the mean of the real tokens' vectors
    (``pooling="mean"``, padding excluded) or the vector at ``[CLS]`` (``"cls"``).

    Texts are encoded in length order, so that batches carry little padding, and returned in
    the order given."""
    if pooling not in POOLINGS:
        raise BertclfError(f"unknown pooling {pooling!r}: use one of {', '.join(POOLINGS)}")
    device = next(encoder.parameters()).device
    lengths = [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    vectors = np.empty((len(texts), encoder.config.hidden_size), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        batch = tokenizer([texts[i] for i in rows], truncation=True, max_length=max_length,
                          padding=True, return_tensors="pt").to(device)
        hidden = encoder(**batch).last_hidden_state.float()
        if pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
        vectors[rows] = pooled.cpu().numpy()
    return vectors


def fit_probe(
    dsd: DatasetDict,
    model: str = BUNDLED_MODEL,
    *,
    max_length: int | None = None,
    pooling: str = "mean",
    splits: tuple[str, ...] = ("validation", "test"),
    C: float = 1.0,
) -> dict[str, Evaluation]:
    """Fit a logistic regression on the frozen encoder's sentence vectors of ``dsd["train"]``
    and score it on each of ``splits``: the same :class:`~bertclf.evaluate.Evaluation` that
    fine-tuning returns, so the two compare directly. ``max_length`` defaults to the profile's."""
    max_length = max_length or get_profile().max_length
    encoder, tokenizer = load_encoder(model), load_tokenizer(model)

    def features(split: str) -> np.ndarray:
        return sentence_vectors(encoder, tokenizer, dsd[split]["text"], max_length=max_length, pooling=pooling)

    names = dsd["train"].features["label"].names
    classifier = LogisticRegression(max_iter=2000, C=C).fit(features("train"), dsd["train"]["label"])
    if list(classifier.classes_) != list(range(len(names))):
        raise BertclfError(f"the training split lacks some of the classes {names}: the probe cannot score them")
    return {
        split: Evaluation(names, np.asarray(dsd[split]["label"]), classifier.predict_proba(features(split)),
                          list(dsd[split]["text"]))
        for split in splits
    }
