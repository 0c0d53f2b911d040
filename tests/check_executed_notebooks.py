"""Run after the chapters are executed (``make notebooks``): their stored outputs must read like
a printed book, with no progress-bar residue such as ``tokenize: 45%|████▌ | 2700/6000`` and,
with ``--page-width``, no text line wider than the page, which the built book would cut off
(``bertclf.book.PAGE_WIDTH`` columns; a Chinese character takes two).

Usage: python tests/check_executed_notebooks.py book --cache _build/.jupyter_cache [--page-width [N]]
       python tests/check_executed_notebooks.py FOLDER_OF_EXECUTED_NOTEBOOKS [--page-width [N]]

With ``--cache``, each chapter's outputs come from Jupyter Book's execution cache (``make book``
stores them there; the notebooks themselves are kept without outputs). A chapter the cache does not
hold, or one with no output at all, fails the check: it was not executed.
"""

import argparse
import re
from pathlib import Path

import nbformat

from bertclf.book import PAGE_WIDTH, display_width

BAR = re.compile(r"\d+%\|[^\n]*\|\s*\d+/\d+|\d+(\.\d+)?(it/s|s/it)\]")


def printed_text(output: dict) -> str:
    """What the page shows as plain text: streams, and text/plain where nothing richer exists."""
    data = output.get("data", {})
    if "text" in output:
        return output["text"]
    if any(kind in data for kind in ("text/html", "image/png", "text/markdown")):
        return ""
    return str(data.get("text/plain", ""))


def executed(path: Path, cache_dir: Path | None) -> nbformat.NotebookNode | None:
    """The chapter with its outputs: as stored, or merged from the execution cache (None if absent)."""
    notebook = nbformat.read(path, as_version=4)
    if cache_dir is None:
        return notebook
    from jupyter_cache import get_cache

    try:
        return get_cache(str(cache_dir)).merge_match_into_notebook(notebook)[1]
    except KeyError:
        return None


def problems(path: Path, page_width: int | None, cache_dir: Path | None = None) -> list[str]:
    notebook = executed(path, cache_dir)
    if notebook is None:
        return [f"{path.name}: the execution cache holds no run of its current code (make book executes it)"]
    if not any(cell.get("outputs") for cell in notebook.cells):
        return [f"{path.name}: no outputs at all, so it was not executed"]
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = printed_text(output)
            if bar := BAR.search(text):
                found.append(f"{path.name} cell {index}: progress bar {bar.group(0)!r}")
            wide = [line for line in text.splitlines() if page_width and display_width(line) > page_width]
            if wide:
                found.append(f"{path.name} cell {index}: {display_width(wide[0])} columns: {wide[0][:60]}…")
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--page-width", type=int, nargs="?", const=PAGE_WIDTH, default=None)
    parser.add_argument("--cache", type=Path, help="Jupyter Book's execution cache, where the outputs are")
    args = parser.parse_args()
    found = [line for p in sorted(args.folder.glob("*.ipynb")) for line in problems(p, args.page_width, args.cache)]
    print("\n".join(found) or "the executed chapters' outputs read like a printed page")
    raise SystemExit(1 if found else 0)
