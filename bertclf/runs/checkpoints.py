"""Checkpoints: everything needed to continue an interrupted training run exactly — weights,
optimizer, schedule, every random generator's state and the loop's progress — in one atomic file,
the newest few kept so that a damaged one can be passed over. Shared by fine-tuning
(:func:`bertclf.train.fit`) and MLM pretraining (:func:`bertclf.encoders.pretrain.pretrain`),
with the handling of Ctrl-C and SIGTERM both need."""

from __future__ import annotations

import os
import pickle
import random
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from bertclf.errors import BertclfError
from bertclf.runs.atomic import replace_atomically

CHECKPOINT_FILE = "checkpoint.pt"  # fine-tuning's newest; older ones are checkpoint-<step>.pt
TRAINING_STATE = ("model", "optimizer", "scheduler")


def _older(name: str) -> re.Pattern:
    stem, suffix = os.path.splitext(name)
    return re.compile(rf"{re.escape(stem)}-(\d+){re.escape(suffix)}")


def checkpoints(run_dir: Path, name: str = CHECKPOINT_FILE) -> list[Path]:
    """The run's checkpoints, newest first: ``name`` (``checkpoint.pt``), then
    ``checkpoint-<step>.pt`` by step."""
    run_dir, older = Path(run_dir), _older(name)
    stem, suffix = os.path.splitext(name)
    found = [p for p in run_dir.glob(f"{stem}-*{suffix}") if older.fullmatch(p.name)]
    found.sort(key=lambda p: int(older.fullmatch(p.name)[1]), reverse=True)
    return [p for p in [run_dir / name] if p.is_file()] + found


def save_checkpoint(run_dir: Path, obj: object, previous_step: int | None, keep: int,
                    name: str = CHECKPOINT_FILE) -> None:
    """Write ``obj`` as the newest checkpoint, atomically; the one it replaces (taken at step
    ``previous_step``; ``None``: unknown or damaged, just replaced) becomes ``checkpoint-<step>.pt``,
    and only the ``keep`` newest stay."""
    path = Path(run_dir) / name
    stem, suffix = os.path.splitext(name)

    def write(tmp: Path) -> None:
        torch.save(obj, tmp)
        if keep > 1 and previous_step is not None and path.is_file():
            os.replace(path, path.with_name(f"{stem}-{previous_step}{suffix}"))

    replace_atomically(path, write)
    keep_checkpoints(run_dir, keep, name)


def keep_checkpoints(run_dir: Path, keep: int, name: str = CHECKPOINT_FILE) -> None:
    """Delete all but the ``keep`` newest checkpoints."""
    for old in checkpoints(run_dir, name)[keep:]:
        old.unlink(missing_ok=True)


def load_checkpoint(path: Path, required: tuple[str, ...] = (*TRAINING_STATE, "state", "rng")) -> dict:
    """A checkpoint, on CPU; a truncated or corrupt file is a :class:`BertclfError`.

    Only tensors and plain values are read (``weights_only=True``): a checkpoint holds nothing
    else, and a file that asks to construct any other object — which is how a pickle runs code —
    is refused, whoever put it in the run directory."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            raise BertclfError(
                f"{path} holds objects other than tensors and plain values, so it was not written by this "
                "bertclf (an older version, or someone else): it is not loaded, because loading such a file "
                "can run code. Start over with overwrite=True (CLI: --overwrite)"
            ) from None
        raise BertclfError(f"{path} is damaged (UnpicklingError: {str(error)[:80]})") from None
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        raise BertclfError(f"{path} is damaged ({type(error).__name__}: {str(error)[:80]})") from None
    if not isinstance(saved, dict) or not set(required) <= saved.keys():
        raise BertclfError(f"{path} is damaged (not a bertclf checkpoint)")
    return saved


def last_good_checkpoint(run_dir: Path, say: Callable[[str], None] = print, *, name: str = CHECKPOINT_FILE,
                         required: tuple[str, ...] = (*TRAINING_STATE, "state", "rng"),
                         command: str = "train",
                         start_over: str = "start over with overwrite=True (CLI: --overwrite)") -> tuple[dict, Path]:
    """The newest checkpoint that loads, and its path; damaged newer ones are named (through
    ``say``) and passed over: an older checkpoint of the same run replays the same steps."""
    found = checkpoints(run_dir, name)
    if not found:
        raise BertclfError(
            f"nothing to resume in {run_dir}: no {name} (a run saves one every few minutes "
            f"or steps); {command} without --resume"
        )
    damaged = []
    for path in found:
        try:
            saved = load_checkpoint(path, required)
        except BertclfError as error:
            damaged.append(str(error))
            continue
        if damaged:
            say(f"[bertclf] {'; '.join(damaged)}: resuming from {path}, the last good checkpoint")
        return saved, path
    raise BertclfError(f"{'; '.join(damaged)}, and no intact checkpoint is left: {start_over}")


def restore_training(saved: dict, model, optimizer, scheduler) -> None:
    """Load a checkpoint's weights, optimizer moments and schedule position."""
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])


def rng_state() -> dict:
    """Every random generator training draws from, CUDA's too when it is in use, as tensors and
    plain values (what :func:`load_checkpoint` reads back)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state`; CUDA's only on as many GPUs as it was saved from."""
    torch.set_rng_state(state["torch"])
    saved = state["numpy"]
    np.random.set_state((saved["kind"], saved["keys"].numpy().astype(np.uint32), saved["position"],
                         saved["has_gauss"], saved["gauss"]))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available() and torch.cuda.device_count() == len(state["cuda"]):
        torch.cuda.set_rng_state_all(state["cuda"])


@contextmanager
def interruptible(report: Callable[[], str]) -> Iterator[None]:
    """Treat SIGTERM (a killed job, a stopped container) like Ctrl-C inside the block; on either,
    print ``report()`` (what was kept, how to continue) and re-raise."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous, installed = signal.signal(signal.SIGTERM, handler), True
    except ValueError:  # not the main thread: leave signals alone
        previous, installed = None, False
    try:
        yield
    except KeyboardInterrupt:
        print(f"\n[bertclf] {report()}", flush=True)
        raise
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)
