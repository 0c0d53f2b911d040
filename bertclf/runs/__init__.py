"""The run directory — what training leaves behind and everything after it reads — written
atomically (:mod:`.atomic`), laid out as :mod:`.layout` describes, locked while one process
writes (:mod:`.lock`), resumable from its checkpoints (:mod:`.checkpoints`), described by a
model card (:mod:`.card`)."""

from bertclf.runs.atomic import read_json, save_torch, write_json, write_text
from bertclf.runs.checkpoints import CHECKPOINT_FILE, checkpoints, keep_checkpoints, load_checkpoint, save_checkpoint
from bertclf.runs.layout import (
                                 HISTORY_FILE,
                                 INFO_FILE,
                                 METRICS_FILE,
                                 MODEL_FILES,
                                 check_run_dir,
                                 data_differences,
                                 run_info,
                                 save_model,
)
from bertclf.runs.lock import LOCK_FILE, is_locked, locked

__all__ = [
    "CHECKPOINT_FILE", "HISTORY_FILE", "INFO_FILE", "LOCK_FILE", "METRICS_FILE", "MODEL_FILES", "check_run_dir",
    "checkpoints", "data_differences", "is_locked", "keep_checkpoints", "load_checkpoint", "locked", "read_json",
    "run_info", "save_checkpoint", "save_model", "save_torch", "write_json", "write_text",
]
