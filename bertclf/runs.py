"""The run directory: what a fine-tuning run leaves behind, written atomically.

```
run_dir/
  config.json, model.safetensors,   the best model: loads in transformers.pipeline
  tokenizer.json, tokenizer_config.json
  bertclf.json                      label names, training config, data, seed, profile, versions
  history.json                      per-epoch metrics and per-step losses, for the plots
  metrics.json                      best epoch, validation and test metrics
  README.md                         the model card (Hub format): data, settings, scores, limits
  checkpoint.pt                     the newest checkpoint (every N steps or M minutes, and after each
                                    epoch): weights, optimizer, schedule, RNG, progress (for resume)
  checkpoint-<step>.pt              while training: the checkpoints before it (keep_checkpoints in all),
                                    for resume to fall back on if the newest is damaged
  .bertclf.lock                     while training: the process that writes here (host, PID)
```
Every file is first written under a temporary name and then renamed over the old one, so a
run killed at any moment leaves each file either old or new, never half-written.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from bertclf.errors import BertclfError

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer_config.json")
INFO_FILE = "bertclf.json"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"  # the newest; older ones are checkpoint-<step>.pt
_OLDER_CHECKPOINT = re.compile(r"checkpoint-(\d+)\.pt")
LOCK_FILE = ".bertclf.lock"


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _temporary(path: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    os.chmod(name, 0o666 & ~_UMASK)  # mkstemp makes it private (0600); a plain file is not
    return Path(name)


def _replace_atomically(path: Path, write) -> None:
    """``write(tmp)`` then rename ``tmp`` over ``path``; on any failure or interrupt
    (Ctrl-C, SIGTERM) remove ``tmp`` and leave ``path`` as it was."""
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    _replace_atomically(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


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
    _replace_atomically(Path(path), lambda tmp: torch.save(obj, tmp))


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, newest first: ``checkpoint.pt``, then ``checkpoint-<step>.pt`` by step."""
    run_dir = Path(run_dir)
    older = [p for p in run_dir.glob("checkpoint-*.pt") if _OLDER_CHECKPOINT.fullmatch(p.name)]
    older.sort(key=lambda p: int(_OLDER_CHECKPOINT.fullmatch(p.name)[1]), reverse=True)
    return [p for p in [run_dir / CHECKPOINT_FILE] if p.is_file()] + older


def save_checkpoint(run_dir: Path, obj: object, previous_step: int | None, keep: int) -> None:
    """Write ``obj`` as the newest checkpoint, atomically; the one it replaces (taken at step
    ``previous_step``; ``None``: unknown or damaged, just replaced) becomes ``checkpoint-<step>.pt``,
    and only the ``keep`` newest stay."""
    path = Path(run_dir) / CHECKPOINT_FILE

    def write(tmp: Path) -> None:
        torch.save(obj, tmp)
        if keep > 1 and previous_step is not None and path.is_file():
            os.replace(path, path.with_name(f"checkpoint-{previous_step}.pt"))

    _replace_atomically(path, write)
    keep_checkpoints(run_dir, keep)


def keep_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints."""
    for old in checkpoints(run_dir)[keep:]:
        old.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint, on CPU; a truncated or corrupt file is a :class:`BertclfError`."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)  # RNG states are not tensors
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise BertclfError(f"{path} is damaged ({type(error).__name__}: {str(error)[:80]})") from None
    if not isinstance(saved, dict) or not {"model", "optimizer", "scheduler", "state", "rng"} <= saved.keys():
        raise BertclfError(f"{path} is damaged (not a bertclf checkpoint)")
    return saved


def save_model(run_dir: Path, model, tokenizer) -> None:
    """Save model and tokenizer into ``run_dir``, each file replaced atomically."""
    with tempfile.TemporaryDirectory(dir=run_dir, prefix=".model.") as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        for name in sorted(os.listdir(staging)):
            os.replace(Path(staging, name), run_dir / name)


def check_run_dir(run_dir: str | Path) -> Path:
    """The run directory as a Path, or a clear error if it is missing or incomplete."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BertclfError(
            f"run directory {run_dir} does not exist: train one with "
            f"`bertclf train --dataset tweets --out {run_dir}`"
        )
    missing = [f for f in (*MODEL_FILES, INFO_FILE) if not (run_dir / f).is_file()]
    if missing:
        hint = (
            "; it has a checkpoint: finish it with `bertclf train --resume " + str(run_dir) + "`"
            if checkpoints(run_dir)
            else "; train into it again"
        )
        raise BertclfError(f"run directory {run_dir} is incomplete: missing {', '.join(missing)}{hint}")
    return run_dir


def run_info(run_dir: str | Path) -> dict:
    """The run's ``bertclf.json``: label names, config, data, seed, profile, versions."""
    return read_json(check_run_dir(run_dir) / INFO_FILE)


def data_differences(recorded: dict, current: dict) -> list[str]:
    """How the splits' fingerprints ``current`` differ from those a run ``recorded``
    (``bertclf.data.fingerprints``); a split that only one of them has is not compared."""
    return [
        f"{key} has {now['rows']} rows (sha256 {now['sha256'][:12]}), the run's had "
        f"{recorded[key]['rows']} (sha256 {recorded[key]['sha256'][:12]})"
        for key, now in current.items() if key in recorded and recorded[key] != now
    ]


@contextmanager
def locked(run_dir: Path):
    """Hold ``run_dir``'s lock file while training into it: a second run into the same directory
    is refused while the first one's process lives; a lock left by a dead process is taken over,
    with the temporary files that process left half-written."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise BertclfError(f"the run directory {run_dir} is a file: choose another path (CLI: --out)")
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    _take_lock(path)
    _remove_leftovers(run_dir)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _remove_leftovers(run_dir: Path) -> None:
    """Remove what a killed run was writing (:func:`_temporary` files, :func:`save_model`'s staging
    directories); only under the lock, which tells that no live process writes them."""
    for leftover in run_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    for staging in run_dir.glob(".model.*"):
        shutil.rmtree(staging, ignore_errors=True)


def _take_lock(path: Path) -> None:
    for _ in range(2):  # once more after removing a stale lock
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder is None:
                path.unlink(missing_ok=True)
                continue
            raise BertclfError(
                f"another run is training into {path.parent} ({holder}): wait for it or choose another "
                f"directory (CLI: --out); if that process is not a bertclf run, delete {path}"
            ) from None
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(f"{socket.gethostname()} {os.getpid()}")
        return
    raise BertclfError(f"another run took the lock {path} at the same moment: wait for it or choose another directory")


def _holder(path: Path) -> str | None:
    """Who holds the lock file ``path``; ``None`` if its process, on this host, is gone."""
    try:
        host, pid = path.read_text(encoding="utf-8").split()
        if host == socket.gethostname():
            os.kill(int(pid), 0)
    except (FileNotFoundError, ProcessLookupError):
        return None
    except (OSError, ValueError):  # alive under another user, or the lock is being written
        return f"lock file {path}"
    return f"host {host}, PID {pid}"


@contextmanager
def sigterm_as_interrupt():
    """Treat SIGTERM (a killed job, a stopped container) like Ctrl-C while training."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
