"""The run directory: what a fine-tuning run leaves behind, and reading it back.

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
  .bertclf.lock                     the lock a training process holds while it writes here
```
Every file is written atomically (:mod:`bertclf.runs.atomic`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bertclf.errors import BertclfError
from bertclf.runs.atomic import plain_permissions, read_json, sync, sync_tree
from bertclf.runs.checkpoints import checkpoints

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer_config.json")
INFO_FILE = "bertclf.json"
HISTORY_FILE = "history.json"
METRICS_FILE = "metrics.json"


def save_model(run_dir: Path, model, tokenizer) -> None:
    """Save model and tokenizer into ``run_dir``, each file replaced atomically."""
    with tempfile.TemporaryDirectory(dir=run_dir, prefix=".model.") as staging:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        plain_permissions(Path(staging))
        sync_tree(staging)
        for name in sorted(os.listdir(staging)):
            os.replace(Path(staging, name), run_dir / name)
        sync(run_dir)


def check_run_dir(run_dir: str | Path) -> Path:
    """The run directory as a Path, or a clear error if it is missing or incomplete."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise BertclfError(f"{run_dir} is a file, not a run directory: pass the directory `bertclf train --out` wrote")
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
