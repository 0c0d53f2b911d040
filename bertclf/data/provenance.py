"""Provenance: what a ``DatasetDict`` records about itself — where its splits came from, what
cleaning removed, and a fingerprint of each split's contents that tells when the record is stale.

The record lives in each split's ``info.description`` as JSON, so it travels with the splits
through ``save_to_disk`` and into a run directory.
"""

from __future__ import annotations

import hashlib
import json

from datasets import ClassLabel, Dataset, DatasetDict


def read_record(dsd: DatasetDict | Dataset) -> dict:
    """The record :func:`with_source` left in the splits' info ({} for any other description,
    prose from the Hub included)."""
    first = dsd if isinstance(dsd, Dataset) else dsd.get("train")
    try:
        record = json.loads(first.info.description or "{}") if first is not None else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def with_source(dsd: DatasetDict, source: dict, cleaning: dict | None = None) -> DatasetDict:
    """Record where the splits came from, what cleaning removed, and the splits' fingerprints
    (``select``/``filter``/``shuffle`` copy the record: the fingerprints tell it is stale)."""
    record = {"source": source, "cleaning": cleaning or read_record(dsd).get("cleaning", {}),
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
    return read_record(dsd).get("cleaning", {})


def source(dsd: DatasetDict | Dataset) -> dict:
    """How to rebuild ``dsd``: data set name or file, columns, seed and sizes; {} if unknown, or
    if the splits changed since they were loaded (a ``select`` or ``filter`` keeps the record)."""
    record = read_record(dsd)
    if not isinstance(dsd, DatasetDict) or set(dsd) != set(record.get("splits", {})):
        return {}
    try:
        current = fingerprints(dsd)
    except KeyError:  # a text or label column renamed or removed
        return {}
    return record.get("source", {}) if current == record["splits"] else {}


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
