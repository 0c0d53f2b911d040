"""What ``fit`` does with the run directory before and after training: reuse a finished run of
the same settings and data, refuse to replace a trained model or an interrupted run unless
asked, record a new run, and load a finished one back."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

from bertclf.environment import versions
from bertclf.errors import BertclfError
from bertclf.profiles import get_profile
from bertclf.runs.atomic import write_json
from bertclf.runs.checkpoints import checkpoints, keep_checkpoints
from bertclf.runs.layout import HISTORY_FILE, INFO_FILE, METRICS_FILE, data_differences, run_info
from bertclf.train.config import CHECKPOINTING, TrainConfig


def reusable(run_dir: Path, config: TrainConfig, splits: dict, overwrite: bool) -> bool:
    """Whether ``run_dir`` holds a finished run of this config on this data; a finished run of
    another config or on other data is an error, unless ``overwrite`` (then: train again)."""
    try:
        info = run_info(run_dir)
    except BertclfError:
        return False
    if not (run_dir / METRICS_FILE).is_file():
        return False
    known = {f.name for f in fields(TrainConfig)}
    then = asdict(TrainConfig(**{k: v for k, v in info["config"].items() if k in known}))  # new fields: defaults
    differences = [
        f"{k} {then[k]!r} in the run, {v!r} now" for k, v in asdict(config).items()
        if then[k] != v and k not in CHECKPOINTING
    ]
    if "splits" not in info:
        differences.append("the run records no fingerprint of its data (an older bertclf)")
    differences += data_differences(info.get("splits", {}), splits)
    if not differences:
        return True
    if overwrite:
        return False
    raise BertclfError(
        f"{run_dir} holds a finished run with other settings or data ({'; '.join(differences)}): "
        "pass overwrite=True (CLI: --overwrite) to train it again, or choose another directory"
    )


def refuse_to_replace(run_dir: Path) -> None:
    """Training afresh deletes a directory's model and checkpoint: refuse where there is one."""
    if checkpoints(run_dir) and not (run_dir / METRICS_FILE).is_file():
        raise BertclfError(
            f"{run_dir} holds an interrupted run: continue it with resume=True (CLI: bertclf train --resume "
            f"{run_dir}), or pass overwrite=True (CLI: --overwrite) to start it over"
        )
    if (run_dir / METRICS_FILE).is_file() or (run_dir / "model.safetensors").is_file():
        raise BertclfError(
            f"{run_dir} already holds a trained model: pass overwrite=True (CLI: --overwrite) to replace it, "
            "or choose another directory (CLI: --out)"
        )


def start_run_dir(run_dir: Path, config: TrainConfig, names: list[str], data_info, splits, tokenizer, model) -> None:
    """Create the run directory and record everything needed to reproduce the run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    keep_checkpoints(run_dir, 0)
    for stale in (METRICS_FILE, HISTORY_FILE, "model.safetensors"):
        (run_dir / stale).unlink(missing_ok=True)
    write_json(run_dir / INFO_FILE, {
        "label_names": names,
        "config": asdict(config),
        "data": data_info or {},
        "splits": splits,  # rows and sha256 of each split's texts and labels
        "seed": config.seed,
        "profile": get_profile().name,
        "versions": versions(),
        "model_revision": getattr(model.config, "_commit_hash", None),  # the Hub commit, when from the Hub
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    tokenizer.save_pretrained(run_dir)
    model.config.save_pretrained(run_dir)
