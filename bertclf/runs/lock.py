"""One training process at a time per run directory: an OS file lock (``filelock``), which the
kernel releases when its process ends however it ends, so no stale lock is ever left to judge."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from bertclf.errors import BertclfError

LOCK_FILE = ".bertclf.lock"


@contextmanager
def locked(run_dir: Path, command: str = "run") -> Iterator[None]:
    """Hold ``run_dir``'s lock while writing into it: a second process is refused while the
    first holds it; once it is ours, what a killed writer left half-written is removed."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise BertclfError(f"the run directory {run_dir} is a file: choose another path (CLI: --out)")
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise BertclfError(
            f"another {command} is writing into {run_dir} ({_holder(path)}): wait for it to finish or "
            "choose another directory (CLI: --out)"
        ) from None
    try:
        path.write_text(f"{socket.gethostname()} {os.getpid()}", encoding="utf-8")
        _remove_leftovers(run_dir)
        yield
    finally:
        path.write_text("", encoding="utf-8")
        lock.release()


def is_locked(run_dir: Path) -> bool:
    """Whether a live process holds ``run_dir``'s lock now."""
    lock = FileLock(Path(run_dir) / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def _holder(path: Path) -> str:
    """Who holds the lock, as it wrote itself into the file."""
    try:
        host, pid = path.read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return f"it holds {path}"
    return f"host {host}, PID {pid}"


def _remove_leftovers(run_dir: Path) -> None:
    """Remove what a killed run was writing (temporary files, staging directories of a model
    save); only under the lock, which tells that no live process writes them."""
    for leftover in run_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    for staging in run_dir.glob(".model.*"):
        shutil.rmtree(staging, ignore_errors=True)
