"""Scaling past one device: the same fit() runs in two CPU processes (gloo) under torchrun,
which is what ``accelerate launch --multi_gpu`` starts too. The run trains on both processes'
shards, evaluates every test example exactly once, and leaves one complete run directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bertclf import runs

pytestmark = pytest.mark.slow  # processes and real models: make test runs these, make check skips them

ROOT = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).with_name("distributed_fit.py")


def torchrun() -> list[str]:
    exe = Path(sys.executable).with_name("torchrun")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "torch.distributed.run"]


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, tiny_model_dir):
    out = tmp_path_factory.mktemp("distributed")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [*torchrun(), "--standalone", "--nproc_per_node", "2", str(HELPER), str(out), str(tiny_model_dir)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    return out, records


def test_two_gloo_processes_train_on_their_own_shards(two_process_run):
    _, records = two_process_run
    assert [r["rank"] for r in records] == [0, 1]
    assert all(r["world_size"] == 2 and "MULTI_CPU" in r["distributed_type"] for r in records)
    # 8 batches per epoch split between 2 processes: 4 optimizer steps each, not 8
    assert all(r["optimizer_steps"] == r["epochs"] * r["batches_per_epoch"] // 2 for r in records)
    assert all(np.isfinite(r["train_loss"]) for r in records)
    # Accelerate steps the scheduler once per process per step: the schedule must span all
    # batches of the epochs, or the learning rate reaches zero halfway through
    assert all(r["total_steps"] == r["epochs"] * r["batches_per_epoch"] for r in records)


def test_a_short_batch_in_the_middle_of_an_epoch_is_not_dropped(two_process_run):
    _, records = two_process_run
    positions = records[0]["short_batch_positions"]
    # the case that matters: the short batch ends a pair of batches mid-epoch (Accelerate used to
    # drop that pair unless its last batch was full, leaving each process 3 steps instead of 4)
    assert any(p % 2 == 1 and p < records[0]["batches_per_epoch"] - 1 for epoch in positions for p in epoch)
    assert all(r["optimizer_steps"] == r["epochs"] * r["batches_per_epoch"] // 2 for r in records)


def test_each_test_example_is_evaluated_exactly_once(two_process_run):
    _, records = two_process_run
    for r in records:
        assert r["test_predictions"] == r["test_examples"] == 30
        assert r["test_labels_match"]
    assert records[0]["test_metrics"] == records[1]["test_metrics"]  # both see the gathered result


def test_one_complete_run_directory_that_scores_the_same_in_one_process(two_process_run):
    out, records = two_process_run
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["run"]
    run = out / "run"
    for name in ("config.json", "model.safetensors", "tokenizer_config.json", "bertclf.json", "metrics.json",
                 "history.json", "checkpoint.pt"):
        assert (run / name).is_file(), name
    assert not [p for p in run.iterdir() if p.name.startswith(".") and p.name != runs.LOCK_FILE], "temporary files"
    assert not runs.is_locked(run)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"] == records[0]["test_metrics"]

    # the saved model, scored in a single process, gives the same test metrics
    from bertclf import data
    from bertclf.evaluate.metrics import evaluate_model
    from bertclf.serve.classifier import Classifier

    dsd = data.load("tweets", train_size=60, eval_size=30)
    clf = Classifier.load(run, device="cpu")
    single = evaluate_model(clf.model, clf.tokenizer, dsd["test"], max_length=32, batch_size=8).summary()
    assert single["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert single["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-4)


def test_two_processes_resume_mid_epoch_exactly(tmp_path, tiny_model_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [*torchrun(), "--standalone", "--nproc_per_node", "2", str(HELPER), str(tmp_path), str(tiny_model_dir),
               "--resume-check"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "interrupted at step 10" in done.stdout and "keeps the checkpoint of step 10, epoch 2 batch 4" in done.stdout
    records = [json.loads((tmp_path / f"resume{rank}.json").read_text()) for rank in (0, 1)]
    assert len(records[0]["reference"]["step_losses"]) == 12
    assert records[0]["resumed"] == records[0]["reference"]  # the main process's losses: the run directory's
    for record in records:  # each process restores its own dropout generator: the same model on both
        assert {k: v for k, v in record["resumed"].items() if k != "step_losses"} == {
            k: v for k, v in record["reference"].items() if k != "step_losses"
        }
        assert record["resumed"]["step_losses"][10:] == record["reference"]["step_losses"][10:]  # after resuming
