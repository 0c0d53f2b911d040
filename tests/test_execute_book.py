"""The book's chapter scheduler (scripts/execute_book.py): which chapter waits for which run, when
a reused run counts as ready, and that a failing chapter ends the build at once."""

import os
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

from bertclf.runs.lock import locked
from scripts.execute_book import (
    FRESH_BUILD_SECONDS,
    chapters,
    finished_since,
    in_lanes,
    run_chapter,
    shared_runs,
    slowest_cells,
    without_timing,
)


def chapter(folder, name, *sources):
    path = folder / f"{name}.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_chapter_waits_for_the_first_chapter_that_trains_each_run_it_reuses(tmp_path):
    first = chapter(tmp_path, "a", 'fit(dsd, runs_dir("tweets"))', 'fit(dsd, runs_dir("own"))')
    second = chapter(tmp_path, "b", 'fit(dsd, runs_dir("zh"))')
    third = chapter(tmp_path, "c", 'fit(dsd, runs_dir("tweets"))\nfit(dsd, runs_dir("zh"))')
    assert shared_runs([first, second, third]) == {first: {}, second: {}, third: {"tweets": first, "zh": second}}


def test_a_fresh_clone_knows_every_chapters_length_so_the_long_ones_start_first():
    assert set(FRESH_BUILD_SECONDS) == {path.stem for path in chapters()}, "a chapter was added or renamed"


def test_a_reused_run_is_ready_once_finished_in_this_build_and_free(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTCLF_PROFILE", "quick")
    monkeypatch.delenv("BERTCLF_RUNS", raising=False)
    reader = chapter(tmp_path, "reader", "")
    run = tmp_path / "runs" / "tweets"
    run.mkdir(parents=True)
    start = time.time()
    assert not finished_since(reader, "tweets", start)  # not trained yet
    (run / "metrics.json").write_text("{}")
    os.utime(run / "metrics.json", (start - 60, start - 60))
    assert not finished_since(reader, "tweets", start)  # finished by an earlier build: its chapter decides
    os.utime(run / "metrics.json", (start + 1, start + 1))
    with locked(run):
        assert not finished_since(reader, "tweets", start)  # its writer is still at work
    assert finished_since(reader, "tweets", start)


@pytest.mark.slow
def test_a_failing_chapter_ends_the_one_still_running_and_its_kernel(tmp_path):
    pid_file = tmp_path / "kernel.pid"
    slow = chapter(tmp_path, "slow", f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                     "time.sleep(3600)")
    failing = chapter(tmp_path, "failing", f"import os, time\nwhile not os.path.exists({str(pid_file)!r}):\n"
                                           "    time.sleep(0.1)\n1 / 0")  # once the slow one runs
    lanes = in_lanes([slow, failing], [slow, failing], 2, run_chapter, 1)
    path, (_, notebook, _, error) = next(lanes)
    assert path == failing and notebook is None and "ZeroDivisionError" in error
    lanes.close()  # what make book does on a failure: the slow chapter is not waited for
    pid = int(pid_file.read_text())
    for _ in range(600):  # its kernel notices that its parent is gone; a guard against a hang
        if not running(pid):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the slow chapter's kernel (PID {pid}) still runs")


def dies(path: str) -> None:
    """A chapter's process that ends without a result and with a nonzero exit code, as a killed one does."""
    os._exit(9)


def test_a_chapter_whose_process_dies_fails_the_build_with_its_name(tmp_path):
    lost = chapter(tmp_path, "lost", "x = 1")
    with pytest.raises(RuntimeError, match="lost: its process ended with exit code 9"):
        next(in_lanes([lost], [lost], 1, dies))


@pytest.mark.slow
def test_the_build_names_each_chapters_slowest_cells(tmp_path):
    notebook_path = chapter(tmp_path, "timed", "x = 1", "import time\ntime.sleep(1.5)", "y = 2")
    _, notebook, _, error = run_chapter(str(notebook_path), 1)
    assert error is None
    (first, seconds), *rest = slowest_cells(notebook)
    assert first == 1 and seconds >= 1.5 and len(rest) == 2  # the sleep, then the two others
    # what the build caches matches its source, or Jupyter Book would execute the chapter again
    cache = get_cache(str(tmp_path / "cache"))
    cache.cache_notebook_bundle(CacheBundleIn(without_timing(notebook), str(notebook_path)), check_validity=False)
    assert cache.match_cache_notebook(nbformat.read(notebook_path, as_version=4))
