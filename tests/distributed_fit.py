"""A small fine-tune meant to run in several processes (tests/test_distributed.py):

    torchrun --nproc_per_node 2 tests/distributed_fit.py OUT_DIR MODEL_DIR [--resume-check]

Every process runs the same ``bertclf.train.fit`` (Accelerate spreads it over the processes:
gloo on CPU, NCCL on GPUs) and writes ``OUT_DIR/rank<k>.json`` with what it saw: the world
size, its optimizer steps, the schedule length, and how many test examples the gathered
evaluation returned, so that the test can check that each example was counted exactly once.
With ``--resume-check``: a run interrupted mid-epoch and resumed from its step checkpoint, and
the same run uninterrupted; ``OUT_DIR/resume<k>.json`` holds both runs' losses and metrics.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from accelerate import PartialState

import bertclf.train.loop as train_module
from bertclf import data
from bertclf.data.batching import LengthBucketBatchSampler
from bertclf.train import TrainConfig, fit, resume

# 60 training texts in batches of 8: a short batch of 4, which shuffling puts anywhere in an epoch;
# 30 test examples: the last evaluation batch is split unevenly
TRAIN_SIZE, EVAL_SIZE, BATCH, EPOCHS = 60, 30, 8, 2


def main(out_dir: Path, model: str) -> None:
    state = PartialState(cpu=True)
    schedule = {}
    make_schedule = train_module.get_linear_schedule_with_warmup

    def recording_schedule(optimizer, warmup, total):
        schedule.update(warmup_steps=warmup, total_steps=total)
        return make_schedule(optimizer, warmup, total)

    train_module.get_linear_schedule_with_warmup = recording_schedule
    short_batch_positions = []
    epoch_batches = LengthBucketBatchSampler.batches

    def recording_batches(sampler, epoch):
        batches = epoch_batches(sampler, epoch)
        if sampler.shuffle:
            short_batch_positions.append([i for i, b in enumerate(batches) if len(b) < BATCH])
        return batches

    LengthBucketBatchSampler.batches = recording_batches
    dsd = data.load("tweets", train_size=TRAIN_SIZE, eval_size=EVAL_SIZE)
    config = TrainConfig(model=model, epochs=EPOCHS, batch_size=BATCH, eval_batch_size=BATCH, max_length=32,
                         learning_rate=1e-4, device="cpu", seed=0)
    result = fit(dsd, out_dir / "run", config)
    test = result.test
    record = {
        "rank": state.process_index,
        "world_size": state.num_processes,
        "distributed_type": str(state.distributed_type),
        "optimizer_steps": len(result.step_losses),
        "batches_per_epoch": -(-TRAIN_SIZE // BATCH),
        "epochs": EPOCHS,
        "short_batch_positions": short_batch_positions,
        **schedule,
        "train_loss": float(np.mean(result.step_losses)),
        "test_examples": len(dsd["test"]),
        "test_predictions": int(len(test.probs)),
        "test_labels_match": bool(len(test.labels) == len(dsd["test"])
                                  and (test.labels == np.asarray(dsd["test"]["label"])).all()),
        "test_metrics": result.test_metrics,
        "validation": result.validation,
    }
    (out_dir / f"rank{state.process_index}.json").write_text(json.dumps(record, indent=2))


def resume_check(out_dir: Path, model: str) -> None:
    """96 texts in batches of 8: 6 steps an epoch per process; a checkpoint every 4 steps (4, 6 at
    epoch 1's end, 10), interrupted before step 11 and resumed (epoch 2 from batch 5)."""
    state = PartialState(cpu=True)
    dsd = data.load("tweets", train_size=96, eval_size=EVAL_SIZE)
    config = TrainConfig(model=model, epochs=2, batch_size=BATCH, eval_batch_size=BATCH, max_length=32,
                         learning_rate=1e-4, device="cpu", seed=0, checkpoint_steps=4)
    cross_entropy, calls = train_module.F.cross_entropy, [0]

    def interrupting(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 11:
            raise KeyboardInterrupt
        return cross_entropy(*args, **kwargs)

    train_module.F = SimpleNamespace(cross_entropy=interrupting)
    try:
        fit(dsd, out_dir / "interrupted", config)
    except KeyboardInterrupt:
        pass
    train_module.F = SimpleNamespace(cross_entropy=cross_entropy)
    runs = {"resumed": resume(out_dir / "interrupted", dsd), "reference": fit(dsd, out_dir / "reference", config)}
    record = {name: {"step_losses": r.step_losses, "test": r.test_metrics, "validation": r.validation}
              for name, r in runs.items()}
    (out_dir / f"resume{state.process_index}.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    out, model = Path(sys.argv[1]), sys.argv[2]
    resume_check(out, model) if "--resume-check" in sys.argv else main(out, model)
