"""Row checks and cleaning: usable texts and labels, one row per distinct text, no text with two
labels, and labels as class names."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from bertclf.errors import BertclfError


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


_INTEGRAL = re.compile(r"([+-]?\d+)\.0*")  # "1.0", "1." and "1" are one class


def label_name(value: object) -> str:
    """Labels are stored as class names (strings); ``1.0`` (a number, or text in a CSV) reads as ``1``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    name = str(value).strip()
    integral = _INTEGRAL.fullmatch(name)
    return integral[1] if integral else name


def label_sort_key(name: str) -> tuple[int, float | str]:
    """Numeric labels sort as numbers (2 before 10), the rest alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)
