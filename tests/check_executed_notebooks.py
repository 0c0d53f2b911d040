"""Run after the chapters are executed (``make notebooks``): their stored outputs must read like
a printed book, with no progress-bar residue such as ``tokenize: 45%|████▌ | 2700/6000``.

Usage: python tests/check_executed_notebooks.py ci-book/book
"""

import re
import sys
from pathlib import Path

import nbformat

BAR = re.compile(r"\d+%\|[^\n]*\|\s*\d+/\d+|\d+(\.\d+)?(it/s|s/it)\]")


def residue(path: Path) -> list[str]:
    found = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") or "".join(str(v) for k, v in output.get("data", {}).items() if k == "text/plain")
            if BAR.search(text):
                found.append(f"{path.name} cell {index}: {BAR.search(text).group(0)!r}")
    return found


if __name__ == "__main__":
    problems = [line for p in sorted(Path(sys.argv[1]).glob("*.ipynb")) for line in residue(p)]
    print("\n".join(problems) or "no progress-bar residue in the executed chapters")
    sys.exit(1 if problems else 0)
