"""A small fine-tune meant to run in several processes (tests/test_distributed.py):

    torchrun --nproc_per_node 2 tests/distributed_fit.py OUT_DIR

Every process runs the same ``bertclf.train.fit`` (Accelerate spreads it over the processes:
gloo on CPU, NCCL on GPUs) and writes ``OUT_DIR/rank<k>.json`` with what it saw: the world
size, its optimizer steps, the schedule length, and how many test examples the gathered
evaluation returned, so that the test can check that each example was counted exactly once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from accelerate import PartialState

import bertclf.train as train_module
from bertclf import data
from bertclf.train import TrainConfig, fit

TRAIN_SIZE, EVAL_SIZE, BATCH = 64, 30, 8  # 30 test examples: the last batch is split unevenly


def main(out_dir: Path) -> None:
    state = PartialState(cpu=True)
    schedule = {}
    make_schedule = train_module.get_linear_schedule_with_warmup

    def recording_schedule(optimizer, warmup, total):
        schedule.update(warmup_steps=warmup, total_steps=total)
        return make_schedule(optimizer, warmup, total)

    train_module.get_linear_schedule_with_warmup = recording_schedule
    dsd = data.load("tweets", train_size=TRAIN_SIZE, eval_size=EVAL_SIZE)
    config = TrainConfig(epochs=1, batch_size=BATCH, eval_batch_size=BATCH, max_length=32,
                         learning_rate=1e-4, device="cpu", seed=0)
    result = fit(dsd, out_dir / "run", config)
    test = result.test
    record = {
        "rank": state.process_index,
        "world_size": state.num_processes,
        "distributed_type": str(state.distributed_type),
        "optimizer_steps": len(result.step_losses),
        "batches_per_epoch": -(-TRAIN_SIZE // BATCH),
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


if __name__ == "__main__":
    main(Path(sys.argv[1]))
