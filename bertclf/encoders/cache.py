"""The encoder cache: encoders that ``bertclf`` builds on first use from the installed wheels
live under ``BERTCLF_CACHE`` (default ``~/.cache/bertclf``), one directory per recipe, each built
once, under a lock (two processes never build the same one), and atomically: a build goes to a
staging directory that is renamed into place only when complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


def cache_root() -> Path:
    """``BERTCLF_CACHE``, or ``~/.cache/bertclf``."""
    return Path(os.environ.get("BERTCLF_CACHE") or Path.home() / ".cache" / "bertclf")


def cached_build(target: Path, done_file: str, build: Callable[[Path], None]) -> Path:
    """``target``, built first by ``build(staging_dir)`` unless it holds ``done_file`` (which a
    complete build writes last)."""
    if (target / done_file).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / done_file).is_file():  # another process built it meanwhile
            return target
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            build(staging)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target
