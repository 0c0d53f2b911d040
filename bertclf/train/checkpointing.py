"""The loop's state and its checkpoints: when to save (every N steps or M minutes), what a
checkpoint holds, and restoring it so that a resumed run replays exactly what an uninterrupted
one would have done (:mod:`bertclf.runs.checkpoints` does the file work)."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from accelerate.utils import broadcast, gather_object

from bertclf.errors import BertclfError
from bertclf.runs.atomic import read_json
from bertclf.runs.checkpoints import (
    CHECKPOINT_FILE,
    last_good_checkpoint,
    restore_training,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from bertclf.runs.layout import INFO_FILE, data_differences
from bertclf.train.config import TrainConfig


@dataclass
class TrainState:
    epoch: int = 0  # epochs finished
    step: int = 0  # optimizer steps taken
    history: list[dict] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    best_validation: dict = field(default_factory=dict)
    bad_epochs: int = 0
    epoch_step: int = 0  # batches done of the unfinished epoch (a mid-epoch checkpoint)
    epoch_totals: dict = field(default_factory=dict)  # its samples, tokens and seconds so far


class Checkpoints:
    """When to checkpoint (``config.checkpoint_steps`` steps or ``config.checkpoint_minutes`` after
    the last one), and which is the last good one. One file per checkpoint rather than
    ``accelerator.save_state``'s directory: it is replaced atomically and kept by renaming."""

    def __init__(self, run_dir: Path, config: TrainConfig, accelerator, restored: TrainState | None, newest: bool):
        self.run_dir, self.config, self.accelerator = run_dir, config, accelerator
        self.step, self.time = (restored.step if restored else 0), time.monotonic()
        self.previous = self.step if newest else None  # the step of checkpoint.pt, if it is intact
        self.saved = _position(restored) if restored else None

    @property
    def last(self) -> str:
        """The last good checkpoint, for messages."""
        return f"{self.run_dir / CHECKPOINT_FILE} ({self.saved})" if self.saved else "none yet"

    def due(self, step: int) -> bool:
        """Whether to checkpoint after ``step``; under several processes the main one's clock decides for all."""
        if step - self.step >= self.config.checkpoint_steps:
            return True
        late = time.monotonic() - self.time >= 60 * self.config.checkpoint_minutes
        if self.accelerator.num_processes == 1:
            return late
        return bool(broadcast(torch.tensor([int(late)], device=self.accelerator.device)).item())

    def save(self, model, optimizer, scheduler, state: TrainState) -> None:
        """Everything needed to continue from here, in one atomic file (called by every process)."""
        rngs = gather_object([rng_state()])  # every process's: each draws its own dropout masks
        if self.accelerator.is_main_process:
            save_checkpoint(self.run_dir, {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "state": asdict(state),
                "rng": rngs[0],
                "rngs": rngs,
            }, self.previous, self.config.keep_checkpoints)
        self.step = self.previous = state.step
        self.time, self.saved = time.monotonic(), _position(state)


def _position(state: TrainState) -> str:
    """Where a checkpoint of ``state`` is: "epoch 1", or "step 70, epoch 2 batch 20"."""
    if not state.epoch_step:
        return f"epoch {state.epoch}"
    return f"step {state.step}, epoch {state.epoch + 1} batch {state.epoch_step}"


def restore(
    run_dir: Path, names, splits, model, optimizer, scheduler, accelerator
) -> tuple[TrainState, dict | None, bool]:
    """Load the last good checkpoint of ``run_dir`` into model, optimizer, scheduler and RNGs, after
    checking that the data are the run's (``splits``: their fingerprints). Returns the training
    state, the RNG state still to set (a mid-epoch checkpoint: once the epoch's loader has started)
    and whether the checkpoint is the newest one, ``checkpoint.pt``."""
    info = read_json(run_dir / INFO_FILE)
    if info["label_names"] != names:
        raise BertclfError(
            f"the run was trained on labels {info['label_names']}, the data has {names}: resume with the same data"
        )
    differences = data_differences(info.get("splits", {}), splits)
    if differences:
        raise BertclfError(f"the data differ from the run's ({'; '.join(differences)}): resume with the same data")
    saved, path = last_good_checkpoint(run_dir, accelerator.print)
    restore_training(saved, model, optimizer, scheduler)
    known = {f.name for f in fields(TrainState)}
    state = TrainState(**{k: v for k, v in saved["state"].items() if k in known})
    rngs = saved.get("rngs", [])  # this process's, when as many processes saved it (older runs: the main one's)
    rng = rngs[accelerator.process_index] if len(rngs) == accelerator.num_processes else saved["rng"]
    if not state.epoch_step:
        set_rng_state(rng)
        rng = None
    return state, rng, path.name == CHECKPOINT_FILE
