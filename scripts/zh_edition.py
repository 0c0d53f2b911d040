"""The Chinese edition, from the same notebooks: ``python scripts/zh_edition.py OUT``.

Every chapter holds its prose twice: each markdown cell's English source, and its Chinese
counterpart in the cell's metadata (``bertclf.zh``), with a fingerprint of the English it was
written from (``bertclf.en``: a stale counterpart is one whose English has changed since). Pages
that are not notebooks have a paired file (``intro.md`` and ``intro.zh.md``, whose first line
records the same fingerprint). This script writes OUT, a Jupyter Book whose chapters are the same
notebooks with the Chinese prose in place of the English: the code cells are the same to the byte,
so Jupyter Book finds their executed outputs in the English build's execution cache and executes
nothing again. ``make book`` builds it into ``_build/html/zh/``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
KEY = "bertclf"  # the cell metadata key that holds the counterpart: {"zh": text, "en": fingerprint}
TITLE = "BERT 文本分类微调：从零开始"
PAGES = {"book/intro.md": "book/intro.zh.md", "book/glossary.md": "book/glossary.zh.md"}


def fingerprint(text: str) -> str:
    """What a counterpart records of the English it translates: the first 12 hex digits of its sha256."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


def counterpart_problems(path: Path) -> list[str]:
    """Markdown cells of a notebook without a Chinese counterpart, or with one written from other English."""
    problems = []
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        english = "".join(cell["source"])
        pair = cell.get("metadata", {}).get(KEY, {})
        if not pair.get("zh", "").strip():
            problems.append(f"{path.name} cell {index}: no Chinese counterpart")
        elif pair.get("en") != fingerprint(english):
            problems.append(f"{path.name} cell {index}: the English changed since its Chinese was written")
    return problems


def page_problems(english: Path, chinese: Path) -> list[str]:
    """The same for a page with a paired file: its first line is ``<!-- en: FINGERPRINT -->``."""
    if not chinese.is_file():
        return [f"{chinese.name}: missing"]
    first = chinese.read_text(encoding="utf-8").splitlines()[0]
    if first != f"<!-- en: {fingerprint(english.read_text(encoding='utf-8'))} -->":
        return [f"{chinese.name}: the English page changed since its Chinese was written"]
    return []


def chinese(notebook):
    """The notebook with each markdown cell's Chinese counterpart in place of its English; code
    cells, and so their cached outputs, untouched."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.metadata.get(KEY, {}).get("zh") or cell.source
    return notebook


def write_edition(out: Path) -> None:
    """Write the Chinese edition's book into ``out`` (replaced), each chapter with the outputs of
    its execution in the English build's cache merged in: building it executes nothing."""
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    (out / "book").mkdir(parents=True)
    config["title"] = TITLE
    config["execute"]["execute_notebooks"] = "off"  # the outputs are merged in from the English build
    config["sphinx"]["config"]["language"] = "zh_CN"
    (out / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.copy(ROOT / "_toc.yml", out / "_toc.yml")
    shutil.copytree(ROOT / "book" / "_static", out / "book" / "_static")
    for chapter in [toc["root"], *(c["file"] for c in toc["chapters"])]:
        source = ROOT / f"{chapter}.ipynb"
        if source.is_file():
            notebook = nbformat.read(source, as_version=4)
            try:
                _, notebook = cache.merge_match_into_notebook(notebook)
            except KeyError:
                raise SystemExit(f"{source.name} has no executed copy in the cache: run `make book` first") from None
            nbformat.write(chinese(notebook), out / f"{chapter}.ipynb")
    for english, translated in PAGES.items():
        text = (ROOT / translated).read_text(encoding="utf-8")
        (out / english).write_text(text.split("\n", 1)[1], encoding="utf-8")  # less the fingerprint line


if __name__ == "__main__":
    write_edition(Path(sys.argv[1]))
