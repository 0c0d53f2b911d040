"""The book's structure: every chapter listed, stored without outputs, Colab-ready, cells short.

The chapters themselves are executed by nbmake (see the Makefile's `notebooks` target).
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from bertclf.book import REPOSITORY_URL

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
TOC_FILES = [TOC["root"]] + [chapter["file"] for chapter in TOC["chapters"]]
NOTEBOOKS = sorted(ROOT.glob("book/*.ipynb"))


def test_every_notebook_is_in_the_toc():
    listed = {f for f in TOC_FILES}
    missing = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not missing, f"add these notebooks to _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [f for f in TOC_FILES if not any((ROOT / f).with_suffix(s).exists() for s in (".ipynb", ".md"))]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


def test_the_toc_follows_the_article():
    names = [Path(f).name for f in TOC_FILES]
    assert names[:10] == [
        "intro", "01_background", "02_concepts", "03_algorithm",
        "04_math", "05_code", "05b_pretraining", "06_applications", "06b_shipping", "07_summary",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run jupyter nbconvert --clear-output --inplace"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_in_colab_and_prints_the_environment(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert "google.colab" in first and f"git+{REPOSITORY_URL}" in first
    assert "show_environment()" in first
    assert nb.cells[0].cell_type == "markdown", "a chapter opens with prose"


BOOK_EXTRA = re.compile(r"\[[^\]]*\bbook\b[^\]]*\]")  # [book], [book,test], [ book ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_installs_bertclf_without_the_book_extra(path):
    # Colab needs the package, not Jupyter Book and Sphinx (the [book] extra builds the HTML).
    nb = nbformat.read(path, as_version=4)
    offenders = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "code"
        for line in c.source.splitlines() if "install" in line and BOOK_EXTRA.search(line)
    ]
    assert not offenders, f"{path.name}: cells {offenders} install the [book] extra; install plain bertclf"


MAX_CODE_CELL_LINES = 15
HIDDEN = {"remove-cell"}  # cells the reader never sees (checks that guard the prose)


def test_no_code_cell_a_reader_sees_is_longer_than_15_lines():
    # One idea per cell; plotting and other plumbing belong in bertclf.evaluate.plots / bertclf.book.
    offenders = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, c in enumerate(nb.cells):
            lines = len(c.source.rstrip().splitlines())
            if c.cell_type == "code" and lines > MAX_CODE_CELL_LINES and not HIDDEN & set(c.metadata.get("tags", [])):
                offenders.append(f"{path.name} cell {i} ({lines} lines)")
    assert not offenders, f"code cells over {MAX_CODE_CELL_LINES} lines: {', '.join(offenders)}"


def test_checks_are_out_of_sight_outside_the_math_chapter():
    # An assert guards a sentence of prose: the build runs it, the reader does not read it.
    offenders = []
    for path in NOTEBOOKS:
        if path.stem == "04_math":  # there, checking a formula against the real layer is the lesson
            continue
        for i, c in enumerate(nbformat.read(path, as_version=4).cells):
            visible = c.cell_type == "code" and not HIDDEN & set(c.metadata.get("tags", []))
            if visible and any(line.lstrip().startswith("assert ") for line in c.source.splitlines()):
                offenders.append(f"{path.name} cell {i}")
    assert not offenders, f"visible asserts: {', '.join(offenders)}"


def test_every_chapter_ends_with_exercises():
    missing = [path.name for path in NOTEBOOKS
               if not any(c.cell_type == "markdown" and c.source.lstrip().startswith("## Exercises")
                          for c in nbformat.read(path, as_version=4).cells)]
    assert not missing, f"chapters without exercises: {missing}"


def test_no_code_line_is_wider_than_the_page():
    # The built page's code column fits PAGE_WIDTH characters; wider lines scroll out of sight.
    from bertclf.book import PAGE_WIDTH

    offenders = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for i, c in enumerate(nb.cells):
            wide = [line for line in c.source.splitlines()
                    if len(line) > PAGE_WIDTH and not line.lstrip().startswith("%pip")]
            if c.cell_type == "code" and wide:
                offenders.append(f"{path.name} cell {i} ({len(wide[0])} characters: {wide[0][:40]}...)")
    assert not offenders, f"code lines wider than {PAGE_WIDTH} characters: {', '.join(offenders)}"


def test_repository_url_is_the_same_everywhere():
    assert CONFIG["repository"]["url"] == REPOSITORY_URL
    assert CONFIG["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")


def test_book_execution_settings():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache" and execute["timeout"] >= 300
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True


def test_the_execution_cache_is_emptied_when_what_the_chapters_import_changes(tmp_path, monkeypatch):
    from scripts import book_cache

    package, cache, stamp = tmp_path / "bertclf", tmp_path / "cache", tmp_path / "stamp"
    package.mkdir()
    (package / "loop.py").write_text("steps = 1\n")
    monkeypatch.setattr(book_cache, "ROOT", tmp_path)
    monkeypatch.setattr(book_cache, "WATCHED", ["bertclf"])
    (tmp_path / "book" / "runs").mkdir(parents=True)

    def build_and_cache():  # what a build leaves behind
        book_cache.main(cache, stamp)
        cache.mkdir(exist_ok=True)
        (tmp_path / "book" / "runs" / "tweets").mkdir(parents=True, exist_ok=True)

    build_and_cache()
    book_cache.main(cache, stamp)  # nothing changed: the executed chapters stay
    assert cache.is_dir() and (tmp_path / "book" / "runs" / "tweets").is_dir()
    (package / "loop.py").write_text("steps = 2\n")  # the package changed: every chapter runs again
    book_cache.main(cache, stamp)
    assert not cache.exists() and not (tmp_path / "book" / "runs" / "tweets").exists()
    build_and_cache()
    monkeypatch.setenv("BERTCLF_PROFILE", "full")  # so did the profile
    book_cache.main(cache, stamp)
    assert not cache.exists()


def test_the_executed_chapter_check_finds_bars_and_lines_wider_than_the_page(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from check_executed_notebooks import problems

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[output]) for output in (
        nbformat.v4.new_output("stream", name="stdout", text="short line\n" + "y" * 97),
        nbformat.v4.new_output("stream", name="stderr", text="tokenize:  45%|████▌     | 2700/6000"),
        nbformat.v4.new_output("display_data", data={"text/plain": "z" * 200, "text/html": "<table/>"}),
        nbformat.v4.new_output("stream", name="stdout", text="w" * 96),
        nbformat.v4.new_output("stream", name="stdout", text="中" * 49),
    )]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    found = problems(path, page_width=96)
    assert [line.split(":")[0] for line in found] == [f"chapter.ipynb cell {i}" for i in (0, 1, 4)]
    assert "97 columns" in found[0] and "progress bar" in found[1] and "98 columns" in found[2]
    assert problems(path, page_width=None) == found[1:2]


def test_the_executed_chapter_check_refuses_a_chapter_that_was_not_executed(tmp_path):
    """The chapters are stored without outputs and make book keeps their outputs in the execution
    cache: the check reads them there, and a chapter with no outputs fails it rather than passing."""
    import sys

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    sys.path.insert(0, str(ROOT / "tests"))
    from check_executed_notebooks import problems

    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]), path)
    assert "no outputs at all" in problems(path, page_width=96)[0]
    cache = tmp_path / "cache"
    assert "holds no run of its current code" in problems(path, page_width=96, cache_dir=cache)[0]
    executed = nbformat.read(path, as_version=4)
    executed.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 97)]
    get_cache(str(cache)).cache_notebook_bundle(CacheBundleIn(executed, str(path)), check_validity=False)
    assert "97 columns" in problems(path, page_width=96, cache_dir=cache)[0]
