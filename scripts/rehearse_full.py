"""Rehearse the full profile offline: every ``BERTCLF_PROFILE=full`` path runs, on a tiny mirror.

1. Build a rehearsal mirror (:func:`rehearsal_mirror.build_mirror`): the full profile's model ids
   as tiny random models with their real architecture and tokenizer, and a few hundred bundled
   texts in each Hub data set's schema and layout.
2. ``bertclf train --dataset NAME`` for every Hub name, with ``BERTCLF_PROFILE=full`` and
   ``BERTCLF_MIRROR`` pointing at it (then ``evaluate`` and ``predict`` on the first run), each
   through ``bertclf.cli.main`` in this process: the command line's code, without an interpreter
   and its imports started afresh for every command.
3. Execute every chapter whose code depends on the profile with the same settings (outputs go to
   the work directory, never into ``book/``), then check them for progress-bar residue. The
   chapters that do not depend on the profile (:data:`PROFILE_FREE`) are left out, and so are cells
   tagged ``skip-rehearsal``: ones that compute with fixed, real-size models whatever the profile
   (a timing of BERT-base, a from-zero pretraining demonstration).

The models are random and the labels of the sample data do not match its texts: the numbers
printed check code paths, not scores.

Usage: python scripts/rehearse_full.py [--work DIR] [--skip-chapters] [--chapters 05_code ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = "(random tiny models and mismatched labels: these numbers check code paths, not scores)"

# Chapters whose code runs the same whatever the profile: the math chapter checks formulas on the
# bundled MiniLM, the appendix reads committed results.
PROFILE_FREE = {"04_math", "appendix_performance"}
SKIP_TAG = "skip-rehearsal"

# The chapters train on the bundled tweets and reviews too, which the full profile would use whole
# (about 30,000 tweets): capped here, at sizes above every mirror sample's, so that the Hub sets
# still go through the full profile's "all rows" path, and large enough for the chapters'
# statistical checks (chapter 2 measures BERT's 15% / 80-10-10 masking on the training tweets).
CHAPTER_SIZES = {"BERTCLF_TRAIN_SIZE": "2000", "BERTCLF_EVAL_SIZE": "500"}

# Assertions in the chapters about scores, which a random tiny model cannot be expected to meet:
# the only errors a rehearsed chapter may raise (each is reported). Any other error fails it.
SCORE_ASSERTIONS = [
    "assert plain_accuracy > majority",  # chapter 5: one epoch of the plain loop beats the majority class
    "assert paired.difference > 0 and paired.mcnemar_p < 0.01",  # chapter 5b: pretrained beats random weights
    "fine-tuning should win here",  # chapter 7: fine-tuned beats TF-IDF
]


def step(what: str, timings: dict, action, *args) -> None:
    """Run ``action(*args)``, time it, and fail the rehearsal loudly if it fails: it raises, or
    returns a command's exit status other than 0."""
    print(f"\n[rehearsal] {what}", flush=True)
    start = time.perf_counter()
    status = action(*args)
    timings[what] = time.perf_counter() - start
    if isinstance(status, int) and status != 0:
        raise SystemExit(f"rehearsal failed: {what} exited with status {status}")


def execute(source: str, folder: str) -> float:
    """Run the chapter's cells, less those tagged ``skip-rehearsal``, in its own directory (as the
    book's build does); save the executed copy into ``folder``; its seconds. A failure other than
    an expected score assertion ends the rehearsal."""
    import nbformat
    from nbclient import NotebookClient

    start, source = time.perf_counter(), Path(source)
    out = Path(folder) / source.name
    print(f"\n[rehearsal] chapter {source.stem}", flush=True)
    notebook = nbformat.read(source, as_version=4)
    skipped = [i for i, cell in enumerate(notebook.cells) if SKIP_TAG in cell.metadata.get("tags", [])]
    notebook.cells = [cell for cell in notebook.cells if SKIP_TAG not in cell.metadata.get("tags", [])]
    if skipped:
        print(f"[rehearsal] {source.name}: cells {skipped} are tagged {SKIP_TAG} and not run", flush=True)
    NotebookClient(notebook, timeout=3600, kernel_name="python3", allow_error_names=["AssertionError"],
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    nbformat.write(notebook, out)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))  # no colours
            allowed = [a for a in SCORE_ASSERTIONS if a in trace]
            if not allowed:
                raise SystemExit(f"{source.name} cell {index}: {output['ename']}: {output['evalue']}\n{trace[-3000:]}")
            print(f"[rehearsal] {source.name} cell {index}: score assertion not met, as expected of a "
                  f"random tiny model: {allowed[0]!r}", flush=True)
    return time.perf_counter() - start


def check_bars(folder: Path) -> int:
    """Print progress-bar residue in the executed chapters; the number of problems found."""
    sys.path.insert(0, str(ROOT / "tests"))
    from check_executed_notebooks import problems

    found = [line for path in sorted(folder.glob("*.ipynb")) for line in problems(path, None)]
    print("\n".join(found) or "no progress-bar residue")
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="work directory (default: a fresh temporary one, removed after)")
    parser.add_argument("--rows", type=int, default=200, help="training rows per sample data set")
    parser.add_argument("--skip-chapters", action="store_true", help="only the CLI runs")
    parser.add_argument("--skip-cli", action="store_true", help="only the chapters")
    parser.add_argument("--chapters", nargs="*", help="chapter files to execute (default: every chapter in _toc.yml "
                                                      "that depends on the profile)")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bertclf-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    mirror, runs, executed = work / "mirror", work / "runs", work / "chapters"
    from execute_book import NO_PROGRESS_BARS, chapters, in_lanes

    os.environ.update({
        "BERTCLF_PROFILE": "full", "BERTCLF_MIRROR": str(mirror), "BERTCLF_RUNS": str(runs),
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        **NO_PROGRESS_BARS,
        "PYTHONUNBUFFERED": "1",
    })
    os.environ.pop("MPLBACKEND", None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    print(f"[rehearsal] work directory {work}; {NOTE}", flush=True)

    from rehearsal_mirror import build_mirror

    from bertclf import cli
    from bertclf.data import HUB

    if mirror.exists():
        shutil.rmtree(mirror)
    step("build mirror", timings, build_mirror, mirror, args.rows)
    shutil.rmtree(runs, ignore_errors=True)  # fresh runs: a reused work directory may hold others
    if not args.skip_cli:
        for name in HUB:
            step(f"bertclf train --dataset {name}", timings, cli.main,
                 ["train", "--dataset", name, "--out", str(runs / f"cli_{name}")])
        first = str(runs / f"cli_{next(iter(HUB))}")
        step("bertclf evaluate", timings, cli.main, ["evaluate", first, "--split", "validation"])
        step("bertclf predict", timings, cli.main, ["predict", first, "a wonderful, moving film", "dull and far too long"])

    if not args.skip_chapters:
        os.environ.update(CHAPTER_SIZES, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
        executed.mkdir(parents=True, exist_ok=True)
        chosen = [ROOT / f"{c.removesuffix('.ipynb')}.ipynb" for c in args.chapters or []] or [
            p for p in chapters() if p.stem not in PROFILE_FREE]
        print(f"[rehearsal] not run (the same in every profile): {', '.join(sorted(PROFILE_FREE))}; the others run "
              "two at a time, one thread each", flush=True)
        start_chapters = time.perf_counter()
        for path, seconds in in_lanes(chosen, chapters(), 2, execute, str(executed)):
            timings[f"chapter {path.stem}"] = seconds
        timings["chapters (two lanes)"] = time.perf_counter() - start_chapters
        step("progress-bar check", timings, check_bars, executed)

    print(f"\n[rehearsal] all full-profile paths ran {NOTE}")
    print(f"  {'step':<40} {'wall':>8}")
    for what, seconds in timings.items():
        print(f"  {what:<40} {seconds:7.1f}s")
    print(f"  {'total wall':<40} {time.perf_counter() - start:7.1f}s")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
