"""Atomic files: every file of a run is first written under a temporary name in its directory,
flushed to the disk (``fsync``), then renamed over the old one, and the rename itself flushed (the
directory's ``fsync``): a process killed at any moment, or a machine that loses power, leaves the
file either old or new, never half-written."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bertclf.errors import BertclfError

_UMASK = os.umask(0o022)  # read the process's umask (there is no other way) …
os.umask(_UMASK)  # … and put it back


def temporary(path: Path) -> Path:
    """A new empty file beside ``path``, named after it, with the permissions of a plain file."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    plain_permissions(Path(name))
    return Path(name)


def plain_permissions(path: Path) -> None:
    """Give ``path``, and everything under it, the permissions ``open`` and ``mkdir`` would have
    given under the process's umask: temporary files and folders (``mkstemp``, ``mkdtemp``, and
    the safetensors writer) are private to their owner, a run directory others read is not."""
    for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~_UMASK)


def replace_atomically(path: Path, write) -> None:
    """``write(tmp)`` then rename ``tmp`` over ``path``; on any failure or interrupt
    (Ctrl-C, SIGTERM) remove ``tmp`` and leave ``path`` as it was."""
    tmp = temporary(path)
    try:
        write(tmp)
        sync(tmp)
        os.replace(tmp, path)
        sync(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sync(path: Path) -> None:
    """Flush a file's, or a directory's entries', writes to the disk."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def sync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, and the folders' entries, before it is renamed into place."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        sync(path)
    sync(Path(folder))


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    replace_atomically(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, data: object) -> None:
    """Write JSON atomically."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as error:  # not JSON, or not UTF-8
        raise BertclfError(
            f"{path} is damaged ({type(error).__name__}: {str(error)[:120]}): train the run again"
        ) from None


def save_torch(path: Path, obj: object) -> None:
    """``torch.save`` atomically."""
    import torch

    replace_atomically(Path(path), lambda tmp: torch.save(obj, tmp))
