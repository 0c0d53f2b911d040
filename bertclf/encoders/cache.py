"""The encoder cache: encoders that ``bertclf`` builds on first use from the installed wheels
live under ``BERTCLF_CACHE`` (default ``~/.cache/bertclf``), one directory per build key, each
built once, under a lock (two processes never build the same one), and atomically: a build goes to
a staging directory that is flushed and renamed into place only when complete.

The key covers everything that decides the encoder — its recipe, the source code that builds it
and the versions of the wheels it reads — so a change to any of them builds a new one instead of
reusing a stale one. A cached encoder that fails its check (a file missing or damaged) is built
again; staging directories that a killed build left behind are removed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType

from filelock import FileLock

from bertclf.errors import BertclfError
from bertclf.runs.atomic import plain_permissions, sync, sync_tree


def cache_root() -> Path:
    """``BERTCLF_CACHE``, or ``~/.cache/bertclf``."""
    root = Path(os.environ.get("BERTCLF_CACHE") or Path.home() / ".cache" / "bertclf").expanduser()
    if root.exists() and not root.is_dir():
        raise BertclfError(f"the encoder cache {root} (BERTCLF_CACHE) is a file: point BERTCLF_CACHE at a directory")
    return root


def build_key(recipe: dict, code: list[ModuleType], packages: list[str]) -> str:
    """A short hash of a recipe, the source of the modules that build it, and package versions."""
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
    for module in code:
        digest.update(inspect.getsource(module).encode())
    for package in packages:
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} missing".encode())
    return digest.hexdigest()[:10]


def cached_build(target: Path, check: Callable[[Path], str | None], build: Callable[[Path], None]) -> Path:
    """``target``, built first by ``build(staging_dir)`` unless it is there and ``check(target)``
    finds nothing wrong (``check`` returns a problem, or ``None``)."""
    if target.is_dir() and check(target) is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        problem = check(target) if target.is_dir() else None
        if target.is_dir() and problem is None:  # another process built it meanwhile
            return target
        if problem:
            print(f"[bertclf] the cached {target.name} is damaged ({problem}): building it again", flush=True)
        for leftover in target.parent.glob(f".{target.name}.*"):  # a killed build's (we hold the lock)
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            build(staging)
            plain_permissions(staging)
            sync_tree(staging)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
            sync(target.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def model_problem(folder: Path, required: tuple[str, ...]) -> str | None:
    """What is wrong with a saved ``transformers`` model directory, or ``None``: a required file
    missing or empty, a JSON file that does not parse, weights whose header does not read."""
    from safetensors import safe_open

    for name in required:
        path = folder / name
        if not path.is_file() or path.stat().st_size == 0:
            return f"{name} is missing or empty"
        try:
            if name.endswith(".json"):
                json.loads(path.read_text(encoding="utf-8"))
            elif name.endswith(".safetensors"):
                with safe_open(str(path), "pt") as weights:
                    weights.keys()
        except Exception as error:  # noqa: BLE001 - any failure to read it means it is damaged
            return f"{name} does not read: {type(error).__name__}"
    return None
