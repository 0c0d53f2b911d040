"""Your own files: CSV, TSV, JSON and JSON lines into the same leakage-free splits as the named
data sets, with errors that name the file, the line and the fix."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from datasets import DatasetDict

from bertclf.data.clean import check_rows
from bertclf.data.provenance import split_note, with_source
from bertclf.data.splits import SPLIT_NAMES, from_frame, from_splits
from bertclf.errors import BertclfError


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
    return with_source(dsd, {
        "csv": where.get("all", where), "text_column": text_column, "label_column": label_column,
        "split_column": split_column, "seed": seed, "drop_bad_rows": drop_bad_rows, **sizes,
    })


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
