"""The settings of one fine-tuning run, one dataclass in the style of the ``transformers``
examples' argument classes, with the profile's defaults and checks that name the bad value."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, fields

from bertclf.errors import BertclfError
from bertclf.profiles import BUNDLED_MODEL, Profile, get_profile

# the profiles' floor on optimizer steps: a 300-text CSV gets 104 steps (13 epochs), not 16;
# 2,000 texts or more in batches of 32 already take 126 steps in the profiles' 2 epochs
MIN_STEPS = 100


# how often a run saves, not what it learns: a finished run is reused whatever these were
CHECKPOINTING = ("checkpoint_steps", "checkpoint_minutes", "keep_checkpoints")


@dataclass
class TrainConfig:
    """Hyper-parameters of one fine-tuning run (the article's defaults where it gives one)."""

    model: str = BUNDLED_MODEL  # Hub id, local directory, or the bundled MiniLM
    epochs: int = 3
    learning_rate: float = 2e-5  # the article's "small learning rate"
    embedding_learning_rate: float | None = None  # word embeddings' own rate (None: learning_rate)
    freeze_word_embeddings: bool = False  # word embeddings kept as pretrained: no gradient, no optimizer state
    batch_size: int = 32
    eval_batch_size: int = 64
    max_length: int = 128  # tokens per text, [CLS] and [SEP] included
    warmup_ratio: float = 0.1  # share of steps with a linearly rising learning rate
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0  # gradient clipping
    patience: int = 2  # early stopping: epochs without a better validation score
    select_by: str = "accuracy"  # or "macro_f1": the validation metric that picks the best epoch
    min_steps: int = 0  # a floor: small data trains more epochs, and early stopping waits, until this many steps
    class_weights: str | None = None  # "balanced": the loss weighs each class by n / (classes × its count)
    bucket: bool = True  # length-bucketed batches (False: plain dynamic padding)
    checkpoint_steps: int = 500  # a checkpoint every this many optimizer steps …
    checkpoint_minutes: float = 5.0  # … or minutes, whichever comes first: all an interrupt can lose
    keep_checkpoints: int = 2  # the newest checkpoints kept while training (resume falls back on a damaged one)
    seed: int = 0
    device: str | None = None  # None: cuda if present, else cpu

    @classmethod
    def from_profile(cls, profile: Profile | None = None, *, language: str = "en", **overrides) -> TrainConfig:
        """The profile's model and sizes for ``language`` (``"en"``: its English encoder and length;
        ``"zh"``: its Chinese ones; ``"other"``: its multilingual ones, as
        :func:`bertclf.data.language.detect_language` names them), with ``overrides`` on top
        (``None`` values ignored).

        The profile's multilingual encoder trains with its word embeddings frozen where the profile
        says so (``multilingual_frozen_embeddings``). The floor of ``MIN_STEPS`` optimizer steps
        stretches the profile's epochs on small data; an ``epochs`` given here is kept as given
        (unless ``min_steps`` is given too)."""
        p = profile or get_profile()
        encoders = {"en": (p.model, p.max_length), "zh": (p.chinese_model, p.chinese_max_length),
                    "other": (p.multilingual_model, p.multilingual_max_length)}
        if language not in encoders:
            raise BertclfError(f"unknown language {language!r}: use one of {', '.join(map(repr, encoders))}")
        model, max_length = encoders[language]
        settings = dict(
            model=model, epochs=p.epochs, learning_rate=p.learning_rate, batch_size=p.batch_size,
            max_length=max_length, min_steps=MIN_STEPS if overrides.get("epochs") is None else 0,
        )
        settings.update({k: v for k, v in overrides.items() if v is not None})
        # the profile's choice for its own multilingual encoder, not for a model given instead
        settings.setdefault("freeze_word_embeddings", settings["model"] == p.multilingual_model
                            and p.multilingual_frozen_embeddings)
        return cls(**settings)

    def __str__(self) -> str:
        """The settings wrapped to a printed page (``repr`` keeps the one-line form)."""
        settings = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return textwrap.fill(settings, 92, initial_indent="TrainConfig(", subsequent_indent="    ",
                             break_long_words=False) + ")"

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size", "max_length", "patience", "checkpoint_steps",
                     "keep_checkpoints"):
            if int(getattr(self, name)) < 1:
                raise BertclfError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not self.checkpoint_minutes > 0:
            raise BertclfError(f"checkpoint_minutes must be more than 0, got {self.checkpoint_minutes}")
        if self.min_steps < 0:
            raise BertclfError(f"min_steps must be 0 or more, got {self.min_steps}")
        for name in ("learning_rate", "embedding_learning_rate"):
            rate = getattr(self, name)
            if rate is not None and not 0 < rate < 1:
                raise BertclfError(f"{name} must be between 0 and 1, got {rate}")
        if self.select_by not in ("accuracy", "macro_f1"):
            raise BertclfError(f"select_by must be 'accuracy' or 'macro_f1', got {self.select_by!r}")
        if self.freeze_word_embeddings and self.embedding_learning_rate is not None:
            raise BertclfError("freeze_word_embeddings=True leaves the word embeddings untrained: "
                               "drop embedding_learning_rate, or unfreeze them")
        if self.class_weights not in (None, "balanced"):
            raise BertclfError(f"class_weights must be None or 'balanced', got {self.class_weights!r}")
