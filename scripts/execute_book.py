"""Execute the book's chapters into Jupyter Book's execution cache, two at a time.

    python scripts/execute_book.py [--lanes N] [--cache _build/.jupyter_cache] [chapter ...]

``jupyter-book build`` (``execute_notebooks: cache``) executes a chapter only when its cache holds
no execution of the chapter's current code cells, one chapter after another, each with every
core. On a small machine two chapters with one thread each get through more work than one chapter
with two (measured here: 1.5x the training throughput), and a chapter on one thread does not slow
down when something else runs beside it. This script executes the chapters the cache lacks in
``--lanes`` lanes (default: 2 where there are 2 cores or more), each kernel limited to
cores // lanes threads, and stores each executed chapter in the cache, where the build then finds
it. A chapter that reuses another's training run (``runs_dir(name)`` in both) starts after it; the
chapters others wait for start first. A failing cell fails the script with the chapter, the cell
and the error.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import re
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 3600  # seconds per cell, as _config.yml's execute.timeout: a guard against a hang, not a speed limit
SECONDS_FILE = "chapter_seconds.json"  # last executions' durations, beside the cache: longest first next time
# where the cache has none yet (a fresh clone, CI): a fresh build's seconds on a 2-core machine
# (2026-12-05), so the long chapters start first there too; only their order matters
FRESH_BUILD_SECONDS = {"05_code": 1770, "05b_pretraining": 1165, "06_applications": 1014, "03_algorithm": 233,
                       "06b_shipping": 178, "07_summary": 77, "01_background": 45, "02_concepts": 30,
                       "04_math": 15, "appendix_performance": 14}
# a printed page has no use for progress bars (the page would embed each as a widget)
NO_PROGRESS_BARS = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def chapters() -> list[Path]:
    """The book's notebooks in the order of ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{c['file']}.ipynb" for c in toc["chapters"] if (ROOT / f"{c['file']}.ipynb").is_file()]


def shared_runs(paths: list[Path]) -> dict[Path, dict[str, Path]]:
    """For each chapter, the runs it reuses from another chapter, by ``runs_dir`` name, with the
    chapter that trains each: the first, in book order, that names it."""
    def code(path: Path) -> str:
        return "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "code")

    names = {p: set(re.findall(r"runs_dir\(\s*f?[\"']([^\"']+)[\"']", code(p))) for p in paths}
    first = {}  # each run's first chapter: the one that trains it when nothing is cached
    for path in paths:
        for name in names[path]:
            first.setdefault(name, path)
    return {p: {name: first[name] for name in names[p] if first[name] != p} for p in paths}


def finished_since(chapter: Path, name: str, since: float) -> bool:
    """Whether the run that ``runs_dir(name)`` names for ``chapter`` was finished after ``since`` (its
    metrics written then) and no process writes into it now: then a chapter that reuses it may start."""
    from bertclf.runs.lock import is_locked

    profile = os.environ.get("BERTCLF_PROFILE", "quick")  # runs_dir's folder: BERTCLF_RUNS/[profile/]name
    run = chapter.parent / os.environ.get("BERTCLF_RUNS", "runs") / ("" if profile == "quick" else profile) / name
    metrics = run / "metrics.json"
    return metrics.is_file() and metrics.stat().st_mtime >= since and not is_locked(run)


def run_chapter(path: str, threads: int) -> tuple[str, dict | None, float, str | None]:
    """Execute one chapter in its own folder (in a worker process); the executed notebook or the error."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ.update(NO_PROGRESS_BARS, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                      TOKENIZERS_PARALLELISM="false")
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), timeout=TIMEOUT, allow_errors=False,
                                 record_timing=True)  # each cell's start and end: slowest_cells reads them
    seconds = time.perf_counter() - start
    return path, (None if result.err else notebook), seconds, (str(result.exc_string) if result.err else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="default: every chapter of _toc.yml")
    parser.add_argument("--cache", type=Path, default=ROOT / "_build" / ".jupyter_cache")
    parser.add_argument("--lanes", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(args.cache))
    paths = [p.resolve() for p in args.chapters] or chapters()
    pending = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            pending.append(path)
    if not pending:
        print("[book] every chapter's execution is cached", flush=True)
        return 0
    seconds_file = args.cache / SECONDS_FILE
    estimate = json.loads(seconds_file.read_text()) if seconds_file.is_file() else dict(FRESH_BUILD_SECONDS)
    threads = max(1, (os.cpu_count() or 1) // args.lanes)
    print(f"[book] executing {len(pending)} chapter(s) in {args.lanes} lane(s), {threads} thread(s) each", flush=True)
    start, executed = time.perf_counter(), 0
    for path, (_, notebook, seconds, error) in in_lanes(pending, paths, args.lanes, run_chapter, threads,
                                                        estimate=estimate):
        if error:
            print(f"[book] {path.stem} FAILED after {seconds:.0f} s:\n{error}", flush=True)
            return 1
        slowest = ", ".join(f"cell {i} {s:.0f} s" for i, s in slowest_cells(notebook))
        cache.cache_notebook_bundle(CacheBundleIn(without_timing(notebook), str(path),
                                                  data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)
        estimate[path.stem], executed = round(seconds, 1), executed + 1
        print(f"[book] {path.stem} executed in {seconds:.0f} s (slowest: {slowest})", flush=True)
        seconds_file.write_text(json.dumps(estimate, indent=1) + "\n")
    print(f"[book] {executed} chapter(s) executed in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def slowest_cells(notebook, count: int = 3) -> list[tuple[int, float]]:
    """(cell index, seconds) of a chapter's slowest code cells, from the timing nbclient records."""
    times = []
    for index, cell in enumerate(notebook.cells):
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[k]) for k in ("iopub.execute_input", "shell.execute_reply"))
            times.append((index, (end - start).total_seconds()))
    return sorted(times, key=lambda t: -t[1])[:count]


def without_timing(notebook):
    """``notebook`` without the cells' timing: the cache's key hashes every cell's metadata, so a
    notebook cached with it would never match its source again (and Jupyter Book would execute it)."""
    for cell in notebook.cells:
        cell.get("metadata", {}).pop("execution", None)
    return notebook


def in_lanes(pending: list[Path], paths: list[Path], lanes: int, job, *args, estimate: dict | None = None):
    """Run ``job(str(path), *args)`` for every pending chapter, each in its own process, ``lanes`` at
    a time: a chapter once the runs it reuses from others are finished (or their chapters have ended), the
    chapters others wait for first, then the longest
    (``estimate``: seconds by chapter name); yield ``(path, job's result)`` as each finishes. A job
    that raises, or a caller that stops early, ends the chapters still running rather than waiting
    for them."""
    estimate = estimate or {}
    waits_for = {p: runs for p, runs in shared_runs(paths).items() if p in pending}
    waited_on = {p: sum(p in runs.values() for runs in waits_for.values()) for p in pending}
    start, running, done = time.time(), {}, set()

    def can_start(path: Path) -> bool:  # every run it reuses is trained: its chapter ended, or it is finished
        return all(chapter in done or chapter not in pending or finished_since(path, name, start)
                   for name, chapter in waits_for[path].items())

    results = multiprocessing.Queue()
    try:
        while len(done) < len(pending):
            ready = [p for p in pending if p not in done and p not in running and can_start(p)]
            ready.sort(key=lambda p: (-waited_on[p], -estimate.get(p.stem, 0), paths.index(p)))
            while ready and len(running) < lanes:
                path = ready.pop(0)
                running[path] = multiprocessing.Process(target=_lane, args=(results, path, job, args))
                running[path].start()
            try:  # every 5 s: a chapter whose runs became ready, or a lane whose process died
                path, ok, result = results.get(timeout=5)
            except queue.Empty:
                _raise_if_died(running)
                continue
            running.pop(path).join()
            done.add(path)
            if not ok:
                raise result
            yield path, result
    finally:  # a failure or an early stop ends the chapters still running (their kernels follow) at once
        for process in running.values():
            process.kill()
            process.join()


def _lane(results, path: Path, job, args: tuple) -> None:
    """One chapter in its own process: ``(path, True, job's result)`` or ``(path, False, the error)``."""
    try:
        results.put((path, True, job(str(path), *args)))
    except Exception as error:  # noqa: BLE001 - handed to in_lanes, which raises it
        results.put((path, False, error))


def _raise_if_died(running: dict[Path, multiprocessing.Process]) -> None:
    """A lane's process that ended without a result (killed, out of memory) fails the build."""
    for path, process in running.items():
        if process.exitcode not in (None, 0):
            raise RuntimeError(f"{path.stem}: its process ended with exit code {process.exitcode} "
                               "and no result (killed, or out of memory?)")


if __name__ == "__main__":
    sys.exit(main())
