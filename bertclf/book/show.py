"""Showing the package's real code and the provenance of committed results, and where a
chapter's runs and the repository's results live."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

from bertclf.book.page import fill
from bertclf.profiles import get_profile


# Where the book is published: the one place to change (mirrored by _config.yml
# repository.url and the Colab install cell of every chapter; a test checks they agree).
REPOSITORY_URL = "https://github.com/bertclf/bertclf-book"


def show_source(obj) -> None:
    """Display the real source of a ``bertclf`` function or class (not a copy)."""
    from IPython.display import Markdown, display

    source = inspect.getsource(obj)
    where = f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}"
    display(Markdown(f"`{where}`\n\n```python\n{source}```"))


def runs_dir(name: str) -> Path:
    """A directory for a chapter's runs, outside git (``BERTCLF_RUNS`` or ``./runs``); runs of a
    profile other than ``quick`` go to a subdirectory named after it (``runs/full/…``), so that
    switching profiles never meets a finished run with other settings in the same place."""
    profile = get_profile().name
    path = Path(os.environ.get("BERTCLF_RUNS", "runs")) / ("" if profile == "quick" else profile) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path | None:
    """The repository's ``benchmarks/results`` (committed measurements the chapters show):
    found above the working directory, or, in Colab, in a fresh clone of the repository."""
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / "benchmarks" / "results").is_dir():
            return base / "benchmarks" / "results"
    if "google.colab" in sys.modules:  # the pip-installed package has no benchmarks
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPOSITORY_URL, "bertclf-book"], check=False)
        if Path("bertclf-book/benchmarks/results").is_dir():
            return Path("bertclf-book/benchmarks/results")
    return None


def show_provenance(meta: dict) -> None:
    """Print a committed multi-seed results file's commands, profile, date and machine, and the
    date and machine of its earlier runs."""
    earlier = [f"earlier runs: {run['date']}, {run['machine_line']}" for run in meta.get("earlier", [])]
    for line in [*meta["commands"], f"profile {meta['profile']}, last run {meta['date']}", meta["machine_line"],
                 *earlier]:
        print(fill(line))
