"""Run after the chapters are executed (``make notebooks``): their stored outputs must read like
a printed book, with no progress-bar residue such as ``tokenize: 45%|████▌ | 2700/6000`` and,
with ``--page-width``, no text line wider than the page, which the built book would cut off
(``bertclf.book.PAGE_WIDTH`` columns; a Chinese character takes two).

Usage: python tests/check_executed_notebooks.py ci-book/book [--page-width [N]]
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


def problems(path: Path, page_width: int | None) -> list[str]:
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
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
    args = parser.parse_args()
    found = [line for p in sorted(args.folder.glob("*.ipynb")) for line in problems(p, args.page_width)]
    print("\n".join(found) or "the executed chapters' outputs read like a printed page")
    raise SystemExit(1 if found else 0)
