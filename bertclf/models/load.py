"""Loading pretrained encoders, with a classification head or without, and their tokenizers.

The classifier is a standard ``transformers`` ``AutoModelForSequenceClassification`` (for BERT:
``BertForSequenceClassification``: encoder → pooler (dense + tanh on [CLS]) → dropout →
linear layer), so a saved run loads anywhere ``transformers`` does.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from bertclf.environment import quiet_transformers
from bertclf.errors import BertclfError
from bertclf.models.names import hub_revision, resolve
from bertclf.models.saved import from_directory
from bertclf.profiles import BUNDLED_MODEL


def load_pretrained(loader, name: str, **kwargs):
    """``loader.from_pretrained`` for a model name (:func:`~bertclf.models.names.resolve`), a local
    directory or a Hub id, with errors that say what to do: damaged files, or no network."""
    path = resolve(name)
    if Path(path).is_dir():
        return from_directory(loader, path, **kwargs)
    repo, revision = hub_revision(path) if not Path(path).exists() else (path, None)
    try:
        return loader.from_pretrained(repo, revision=revision, **kwargs)
    except OSError as error:
        raise BertclfError(
            f"could not load model {name!r} ({str(error).splitlines()[0][:160]}). Offline? "
            f"Hub models need the network or a local mirror (BERTCLF_MIRROR, see the README); use the quick profile's {BUNDLED_MODEL!r} "
            "or a local directory"
        ) from None


def load_tokenizer(name: str = BUNDLED_MODEL) -> PreTrainedTokenizerBase:
    """The (fast) tokenizer of a model name or directory."""
    return load_pretrained(AutoTokenizer, name)


def load_classifier(name: str, label_names: list[str]) -> PreTrainedModel:
    """A pretrained encoder with a fresh classification head for ``label_names``.

    The head's weights are new (randomly initialised), which ``transformers`` reports in a
    load report; that is expected before fine-tuning, so it is silenced here. Starting from
    an already fine-tuned classifier with a different number of classes also gets a fresh
    head (``ignore_mismatched_sizes``) instead of a size-mismatch error.
    """
    with quiet_transformers():
        return load_pretrained(
            AutoModelForSequenceClassification,
            name,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={label: i for i, label in enumerate(label_names)},
            ignore_mismatched_sizes=True,
        )


def load_encoder(name: str = BUNDLED_MODEL) -> torch.nn.Module:
    """The pretrained encoder alone (no classification head), in eval mode."""
    with quiet_transformers(bars=True):  # a checkpoint's unused head weights are expected here
        return load_pretrained(AutoModel, name).eval()


def max_positions(model: PreTrainedModel) -> int:
    """How many tokens the model's position embeddings cover (512 for BERT)."""
    return int(getattr(model.config, "max_position_embeddings", 512))


def count_parameters(model, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
