"""Rehearse the full profile offline: every ``BERTCLF_PROFILE=full`` path runs, on a tiny mirror.

1. Build a rehearsal mirror (:func:`bertclf.rehearsal.build_mirror`): the full profile's model
   ids as tiny random models with their real architecture and tokenizer, and a few hundred
   bundled texts in each Hub data set's schema and layout.
2. ``bertclf train --dataset NAME`` for every Hub name, with ``BERTCLF_PROFILE=full`` and
   ``BERTCLF_MIRROR`` pointing at it (then ``evaluate`` and ``predict`` on the first run).
3. Execute every chapter of the book with the same settings (outputs go to the work
   directory, never into ``book/``), then check them for progress-bar residue.

The training runs of step 2 run in two lanes at once, one thread each (the tiny models leave a
core mostly idle otherwise). The chapters run one after another: chapter 3 times models, and a
second lane's load made its timing assertion fail.

The models are random and the labels of the sample data do not match its texts: the numbers
printed check code paths, not scores.

Usage: python scripts/rehearse_full.py [--work DIR] [--skip-chapters] [--chapters 05_code ...]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = "(random tiny models and mismatched labels: these numbers check code paths, not scores)"

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


def chapters() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [chapter["file"] for chapter in toc["chapters"]]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], env: dict, what: str, timings: dict, cwd: Path = ROOT) -> None:
    """Run ``command``; print its output once it ends (lanes would interleave it); fail loudly."""
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    timings[what] = time.perf_counter() - start
    print(f"\n$ {' '.join(command)}\n{completed.stdout.rstrip()}", flush=True)
    if completed.returncode:
        raise SystemExit(f"rehearsal failed: {what} exited with status {completed.returncode}")


def in_two_lanes(lanes: list[list[tuple]], env: dict, timings: dict) -> None:
    """Run each lane's ``(command, what, cwd)`` steps in order, the two lanes at once."""
    def lane(steps: list[tuple]) -> None:
        for command, what, cwd in steps:
            run(command, env, what, timings, cwd)

    env = {**env, "OMP_NUM_THREADS": "1"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for finished in [pool.submit(lane, steps) for steps in lanes]:
            finished.result()  # re-raises a lane's failure


def execute(source: Path, out: Path) -> None:
    """Run every cell of ``source`` in its own directory (as ``make notebooks`` does); save to ``out``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(source, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", allow_error_names=["AssertionError"],
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


def main() -> None:
    if sys.argv[1:2] == ["--execute"]:  # one chapter, in a process of its own
        return execute(Path(sys.argv[2]), Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="work directory (default: a fresh temporary one, removed after)")
    parser.add_argument("--rows", type=int, default=200, help="training rows per sample data set")
    parser.add_argument("--skip-chapters", action="store_true", help="only the CLI runs")
    parser.add_argument("--skip-cli", action="store_true", help="only the chapters")
    parser.add_argument("--chapters", nargs="*", help="chapter files to execute (default: every chapter in _toc.yml)")
    parser.add_argument("--skip", nargs="*", default=[], help="chapter files not to execute")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bertclf-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    mirror, runs, executed = work / "mirror", work / "runs", work / "chapters"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "BERTCLF_PROFILE": "full", "BERTCLF_MIRROR": str(mirror), "BERTCLF_RUNS": str(runs),
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("MPLBACKEND", None)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    print(f"[rehearsal] work directory {work}; {NOTE}", flush=True)

    from bertclf.data import HUB
    from bertclf.rehearsal import build_mirror

    t0 = time.perf_counter()
    if mirror.exists():
        shutil.rmtree(mirror)
    build_mirror(mirror, rows=args.rows)
    timings["build mirror"] = time.perf_counter() - t0

    shutil.rmtree(runs, ignore_errors=True)  # fresh runs: a reused work directory may hold others
    bertclf = [str(bin_dir / "bertclf")]
    trains = [([*bertclf, "train", "--dataset", name, "--out", str(runs / f"cli_{name}")], f"train {name}", ROOT)
              for name in ([] if args.skip_cli else HUB)]
    in_two_lanes([trains[::2], trains[1::2]], env, timings)
    if not args.skip_cli:
        first = runs / f"cli_{next(iter(HUB))}"
        run([*bertclf, "evaluate", str(first), "--split", "validation"], env, "evaluate", timings)
        run([*bertclf, "predict", str(first), "a wonderful, moving film", "dull and far too long"], env, "predict",
            timings)

    if not args.skip_chapters:
        executed.mkdir(parents=True, exist_ok=True)
        for chapter in [c for c in args.chapters or chapters() if c.split("/")[-1] not in args.skip]:
            source = ROOT / f"{chapter.removesuffix('.ipynb')}.ipynb"
            run([sys.executable, __file__, "--execute", str(source), str(executed / source.name)],
                {**env, **CHAPTER_SIZES}, f"chapter {source.stem}", timings, cwd=source.parent)
        run([sys.executable, str(ROOT / "tests" / "check_executed_notebooks.py"), str(executed)],
            env, "progress-bar check", timings)

    print(f"\n[rehearsal] all full-profile paths ran {NOTE}")
    print(f"  {'step':<32} {'wall':>8}")
    for what, seconds in timings.items():
        print(f"  {what:<32} {seconds:7.1f}s")
    print(f"  {'total wall':<32} {time.perf_counter() - start:7.1f}s  (CPU {_child_cpu() + time.process_time():.1f}s)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
