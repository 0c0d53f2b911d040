"""Leakage-free splits: stratified, seeded train/validation/test, built from one pooled frame
(80/10/10) or from the splits a data set already has (kept, with the missing ones carved from
train), with texts shared between splits removed and every split's class list the same."""

from __future__ import annotations

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from sklearn.model_selection import train_test_split

from bertclf.data.clean import check_rows, deduplicate, label_name, label_sort_key
from bertclf.data.hub import HubSpec, split_frames
from bertclf.data.provenance import split_note, with_source
from bertclf.errors import BertclfError

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, validation, test


SPLIT_NAMES = ("train", "validation", "test")


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


def take_stratified(frame: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
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
    frame = frame.assign(label=frame["label"].map(label_name))
    clean, stats = deduplicate(frame)
    parts = split(clean, seed=seed)
    sizes = {"train": train_size, "validation": eval_size, "test": eval_size}
    names = sorted(clean["label"].unique(), key=label_sort_key)
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    dsd = DatasetDict(
        {
            key: Dataset.from_pandas(
                take_stratified(part, sizes[key], seed).reset_index(drop=True),
                features=features,
                preserve_index=False,
            )
            for key, part in parts.items()
        }
    )
    return with_source(dsd, {}, cleaning=stats)


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
        frame = frame.assign(label=frame["label"].map(label_name))
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
    names = sorted(map(str, pd.concat(frames.values())["label"].unique()), key=label_sort_key)
    sizes = {"train": train_size, "validation": eval_size, "test": eval_size}
    features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
    dsd = DatasetDict({
        key: Dataset.from_pandas(
            take_stratified(frames[key], sizes[key], seed).reset_index(drop=True),
            features=features, preserve_index=False,
        )
        for key in ("train", "validation", "test")
    })
    return with_source(dsd, {}, cleaning=stats)


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
    splits = from_splits(split_frames("your data", spec, dsd), seed=seed, kind="given")
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
