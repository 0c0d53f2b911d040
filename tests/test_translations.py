"""One source, two languages: every markdown cell of every chapter has a Chinese counterpart,
written from the English it sits beside (a fingerprint of that English is kept with it), and the
Chinese edition changes nothing but the prose."""

import copy
import json
import shutil
from pathlib import Path

import nbformat
import yaml

from scripts.zh_edition import KEY, PAGES, chinese, counterpart_problems, fingerprint, page_problems

ROOT = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = [ROOT / f"{c['file']}.ipynb" for c in TOC["chapters"] if (ROOT / f"{c['file']}.ipynb").is_file()]


def test_every_chapter_has_its_chinese_prose_and_it_is_current():
    problems = [p for chapter in CHAPTERS for p in counterpart_problems(chapter)]
    assert not problems, "\n".join(problems[:20]) + (f"\n… {len(problems)} in all" if len(problems) > 20 else "")


def test_every_page_has_its_chinese_counterpart_and_it_is_current():
    problems = [p for english, chinese_page in PAGES.items() for p in page_problems(ROOT / english, ROOT / chinese_page)]
    assert not problems


def test_the_check_notices_a_missing_or_stale_counterpart(tmp_path):
    chapter = shutil.copy(CHAPTERS[0], tmp_path / CHAPTERS[0].name)
    notebook = json.loads(Path(chapter).read_text())
    first = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    first.setdefault("metadata", {})[KEY] = {"zh": "中文", "en": fingerprint("".join(first["source"]))}
    others = [c for c in notebook["cells"] if c["cell_type"] == "markdown" and c is not first]
    for cell in others:
        cell.setdefault("metadata", {})[KEY] = {"zh": "中文", "en": fingerprint("".join(cell["source"]))}
    Path(chapter).write_text(json.dumps(notebook))
    assert counterpart_problems(Path(chapter)) == []
    del others[0]["metadata"][KEY]  # one Chinese cell removed
    first["source"] = ["An edited first sentence."]  # one English cell changed, its Chinese not
    Path(chapter).write_text(json.dumps(notebook))
    found = counterpart_problems(Path(chapter))
    assert len(found) == 2 and "no Chinese counterpart" in found[1] and "English changed" in found[0]


def test_the_chinese_edition_changes_the_prose_and_nothing_else():
    english = nbformat.read(CHAPTERS[0], as_version=4)
    translated = chinese(copy.deepcopy(english))
    assert [c.source for c in translated.cells if c.cell_type == "code"] == [
        c.source for c in english.cells if c.cell_type == "code"]
    assert [c.metadata for c in translated.cells if c.cell_type == "code"] == [
        c.metadata for c in english.cells if c.cell_type == "code"]
    markdown = [(e, t) for e, t in zip(english.cells, translated.cells) if e.cell_type == "markdown"]
    assert all(t.source == e.metadata.get(KEY, {}).get("zh", e.source) for e, t in markdown)
