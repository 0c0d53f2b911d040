"""Interrupted training loses at most the checkpoint interval: Ctrl-C, SIGTERM or kill -9 keeps
the last checkpoint (every N steps or M minutes, and each epoch's end) intact, resuming from it,
mid-epoch too, ends with exactly the metrics of an uninterrupted run, and a damaged checkpoint is
named and passed over for the one before. A NaN or infinite loss stops training with an error
naming the step and the checkpoint."""

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from bertclf import cli, data, runs, train
from bertclf.errors import BertclfError, TrainingDiverged
from bertclf.serve.classifier import Classifier
from bertclf.train import checkpointing, loop

# 400 tweets in batches of 8: 50 steps an epoch, long enough to be interrupted mid-epoch
SIZES = dict(train_size=400, eval_size=60)
SETTINGS = dict(epochs=3, learning_rate=1e-3, batch_size=8, max_length=64, seed=0)
STEPS_PER_EPOCH = 50


def config(model_dir) -> train.TrainConfig:
    # the same TrainConfig the command line builds from the flags used below
    return train.TrainConfig.from_profile(model=str(model_dir), **SETTINGS)


def comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "train_seconds"}


def scores(history: list[dict]) -> list[dict]:
    """A history without its timings."""
    return [{k: v for k, v in row.items() if "second" not in k} for row in history]


@pytest.fixture(scope="module")
def dsd():
    return data.load("tweets", **SIZES)


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, dsd, tmp_path_factory):
    """The reference: the same run, never interrupted."""
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    train.fit(dsd, run_dir, config(tiny_model_dir))
    return run_dir


def interrupt_at(monkeypatch, step: int, how: str) -> None:
    """Interrupt training just before optimizer step ``step`` (1-based), like a user would."""
    calls = {"n": 0}

    def cross_entropy(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            if how == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)  # the real handler turns it into an interrupt
                time.sleep(1)  # the handler runs here
                pytest.fail("SIGTERM did not interrupt training")
            raise KeyboardInterrupt  # Ctrl-C
        return F.cross_entropy(*args, **kwargs)

    monkeypatch.setattr(loop, "F", SimpleNamespace(cross_entropy=cross_entropy))


def assert_checkpoint_of_epoch(run_dir: Path, epoch: int) -> None:
    saved = torch.load(run_dir / runs.CHECKPOINT_FILE, weights_only=True)
    assert saved["state"]["epoch"] == epoch
    assert saved["state"]["step"] == epoch * STEPS_PER_EPOCH
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")], "no half-written files"
    assert not runs.is_locked(run_dir), "the lock goes with the process"
    Classifier.load(run_dir).predict(["the run directory stays usable"])


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_mid_epoch_2_keeps_epoch_1_and_resume_matches_uninterrupted(
    how, tiny_model_dir, dsd, uninterrupted, tmp_path, monkeypatch, capsys
):
    run_dir = tmp_path / "run"
    interrupt_at(monkeypatch, STEPS_PER_EPOCH + 20, how)
    with pytest.raises(KeyboardInterrupt):
        train.fit(dsd, run_dir, config(tiny_model_dir))
    out = capsys.readouterr().out
    assert f"interrupted at step {STEPS_PER_EPOCH + 19}" in out and "keeps the checkpoint of epoch 1" in out
    assert f"bertclf train --resume {run_dir}" in out
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    assert_checkpoint_of_epoch(run_dir, 1)
    monkeypatch.undo()

    result = train.resume(run_dir)  # the API twin of `bertclf train --resume`
    reference = runs.read_json(uninterrupted / runs.HISTORY_FILE)
    assert comparable(runs.read_json(run_dir / runs.METRICS_FILE)) == comparable(
        runs.read_json(uninterrupted / runs.METRICS_FILE)
    )
    assert result.step_losses == reference["step_losses"]
    assert scores(result.history) == scores(reference["epochs"])


def test_interrupt_while_writing_a_checkpoint_keeps_the_previous_one(
    tiny_model_dir, dsd, tmp_path, monkeypatch
):
    run_dir = tmp_path / "run"
    real_save, saves = torch.save, {"n": 0}

    def save(obj, path, *args, **kwargs):
        saves["n"] += 1
        if saves["n"] == 2:  # the epoch-2 checkpoint: half written, then Ctrl-C
            Path(path).write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(KeyboardInterrupt):
        train.fit(dsd, run_dir, config(tiny_model_dir))
    monkeypatch.undo()
    assert_checkpoint_of_epoch(run_dir, 1)


def test_nan_loss_stops_with_the_step_and_the_last_good_checkpoint(tiny_model_dir, dsd, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    calls = {"n": 0}

    def cross_entropy(*args, **kwargs):
        calls["n"] += 1
        loss = F.cross_entropy(*args, **kwargs)
        return loss * float("nan") if calls["n"] == STEPS_PER_EPOCH + 7 else loss

    monkeypatch.setattr(loop, "F", SimpleNamespace(cross_entropy=cross_entropy))
    with pytest.raises(TrainingDiverged) as info:
        train.fit(dsd, run_dir, config(tiny_model_dir))
    message = str(info.value)
    assert isinstance(info.value, BertclfError)
    assert "loss became nan" in message and f"step {STEPS_PER_EPOCH + 7}" in message and "epoch 2" in message
    assert f"{run_dir / runs.CHECKPOINT_FILE} (epoch 1)" in message and "--lr" in message
    assert_checkpoint_of_epoch(run_dir, 1)


def test_infinite_loss_in_the_first_epoch_says_no_checkpoint_yet(tiny_model_dir, dsd, tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "F", SimpleNamespace(cross_entropy=lambda *a, **k: torch.tensor(float("inf"))))
    with pytest.raises(TrainingDiverged, match="loss became inf at epoch 1, step 1; last good checkpoint: none yet"):
        train.fit(dsd, tmp_path / "run", config(tiny_model_dir))


def read_until(stream, needle: bytes, process, timeout: float) -> bytes:
    """Read ``stream`` (tqdm bars end in \\r, not \\n) until ``needle`` shows up."""
    seen, deadline = b"", time.monotonic() + timeout
    while needle not in seen:
        assert time.monotonic() < deadline, f"no {needle!r} in time; got {seen[-2000:]!r}"
        assert process.poll() is None, f"training ended early: {seen[-2000:]!r}"
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            seen += os.read(stream.fileno(), 65536)
    return seen


def bertclf_train(tiny_model_dir, run_dir: Path, *flags: str, **pipes) -> subprocess.Popen:
    """``bertclf train`` in a process of its own, with the flags for :func:`config`'s settings."""
    script = Path(sys.executable).with_name("bertclf")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bertclf.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "BERTCLF_PROFILE": "quick"}
    flags = [
        "--dataset", "tweets", "--train-size", str(SIZES["train_size"]), "--eval-size", str(SIZES["eval_size"]),
        "--model", str(tiny_model_dir), "--epochs", str(SETTINGS["epochs"]), "--lr", str(SETTINGS["learning_rate"]),
        "--batch-size", str(SETTINGS["batch_size"]), "--max-length", str(SETTINGS["max_length"]),
        "--seed", str(SETTINGS["seed"]), "--out", str(run_dir), "--no-baseline", *flags,
    ]
    return subprocess.Popen([*command, "train", *flags], env=env, **pipes)


def assert_resume_matches(run_dir: Path, uninterrupted: Path, capsys) -> None:
    """`bertclf train --resume` (in this process, to save a second start-up of torch) ends with the
    metrics, epochs and step losses of the uninterrupted run."""
    assert cli.main(["train", "--resume", str(run_dir)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert comparable(runs.read_json(run_dir / runs.METRICS_FILE)) == comparable(
        runs.read_json(uninterrupted / runs.METRICS_FILE)
    )
    history = runs.read_json(run_dir / runs.HISTORY_FILE)
    reference = runs.read_json(uninterrupted / runs.HISTORY_FILE)
    assert history["step_losses"] == reference["step_losses"]
    assert scores(history["epochs"]) == scores(reference["epochs"])


@pytest.mark.slow
def test_sigterm_to_bertclf_train_then_resume_matches_uninterrupted(tiny_model_dir, uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "run"
    process = bertclf_train(tiny_model_dir, run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(process.stderr, b"epoch 2/3", process, timeout=300)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err
    assert b"keeps the checkpoint of epoch 1" in out and f"bertclf train --resume {run_dir}".encode() in out
    assert_checkpoint_of_epoch(run_dir, 1)
    assert_resume_matches(run_dir, uninterrupted, capsys)


@pytest.mark.slow
def test_kill_9_of_bertclf_train_mid_epoch_loses_at_most_the_interval(tiny_model_dir, uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "run"
    process = bertclf_train(tiny_model_dir, run_dir, "--checkpoint-steps", "20",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(runs.checkpoints(run_dir)) < 2:  # the second: step 40 of epoch 1's 50, late in epoch 1
            assert process.poll() is None and time.monotonic() < deadline, "no step checkpoint in time"
            time.sleep(0.01)
        process.kill()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    saved = runs.load_checkpoint(runs.checkpoints(run_dir)[0])["state"]
    assert saved["step"] >= 40, "killed late in epoch 1 (or at its end), after the step-40 checkpoint"
    assert not (run_dir / runs.METRICS_FILE).exists()
    assert_resume_matches(run_dir, uninterrupted, capsys)


def test_a_run_on_in_memory_data_resumes_when_given_the_data_again(tiny_model_dir, tmp_path, monkeypatch, capsys):
    rows = [(f"I love thing {i}", "pos") for i in range(40)] + [(f"I hate thing {i}", "neg") for i in range(40)]
    dsd = data.from_frame(pd.DataFrame(rows, columns=["text", "label"]))  # records no source
    small = train.TrainConfig(model=str(tiny_model_dir), epochs=2, batch_size=8, max_length=32, learning_rate=1e-3)
    interrupt_at(monkeypatch, 10, "ctrl-c")  # 64 training texts: 8 steps an epoch
    with pytest.raises(KeyboardInterrupt):
        train.fit(dsd, tmp_path / "run", small)
    monkeypatch.undo()
    with pytest.raises(BertclfError, match="does not record where its data came from.*--csv PATH"):
        train.resume(tmp_path / "run")
    assert "--dataset NAME or --csv PATH" in cli_error_line(capsys, "train", "--resume", tmp_path / "run")
    result = train.resume(tmp_path / "run", dsd)
    reference = train.fit(dsd, tmp_path / "reference", small)
    assert result.step_losses == reference.step_losses and result.test_metrics == reference.test_metrics


def cli_error_line(capsys, *argv) -> str:
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("bertclf: error:")][-1]


# --- step checkpoints: every N steps or M minutes, exact mid-epoch resume, keep-last-k ------------


def test_mid_epoch_checkpoints_keep_the_newest_two_and_resume_exactly(
    tiny_model_dir, dsd, uninterrupted, tmp_path, monkeypatch, capsys
):
    run_dir = tmp_path / "run"
    every_15 = train.TrainConfig.from_profile(model=str(tiny_model_dir), checkpoint_steps=15, **SETTINGS)
    interrupt_at(monkeypatch, STEPS_PER_EPOCH + 35, "ctrl-c")  # saved: steps 15, 30, 45, 50 (epoch 1), 65, 80
    with pytest.raises(KeyboardInterrupt):
        train.fit(dsd, run_dir, every_15)
    assert "keeps the checkpoint of step 80, epoch 2 batch 30" in capsys.readouterr().out
    assert [p.name for p in runs.checkpoints(run_dir)] == ["checkpoint.pt", "checkpoint-65.pt"]
    saved = torch.load(run_dir / runs.CHECKPOINT_FILE, weights_only=True)["state"]
    assert (saved["epoch"], saved["step"], saved["epoch_step"], len(saved["step_losses"])) == (1, 80, 30, 80)
    monkeypatch.undo()

    result = train.resume(run_dir)
    reference = runs.read_json(uninterrupted / runs.HISTORY_FILE)
    assert result.step_losses == reference["step_losses"]
    assert scores(result.history) == scores(reference["epochs"])
    assert comparable(runs.read_json(run_dir / runs.METRICS_FILE)) == comparable(
        runs.read_json(uninterrupted / runs.METRICS_FILE)
    )
    assert [p.name for p in runs.checkpoints(run_dir)] == ["checkpoint.pt"]  # finished: the older one goes


def test_a_truncated_checkpoint_is_named_and_resume_falls_back_to_the_last_good_one(
    tiny_model_dir, tmp_path, monkeypatch, capsys
):
    rows = [(f"I love thing {i}", "pos") for i in range(40)] + [(f"I hate thing {i}", "neg") for i in range(40)]
    dsd = data.from_frame(pd.DataFrame(rows, columns=["text", "label"]))
    small = train.TrainConfig(model=str(tiny_model_dir), epochs=2, batch_size=8, max_length=32, learning_rate=1e-3,
                              bucket=False, checkpoint_steps=3)  # plain shuffling: its order is replayed too
    interrupt_at(monkeypatch, 15, "ctrl-c")  # 8 steps an epoch; saved: steps 3, 6, 8 (epoch 1), 11, 14
    with pytest.raises(KeyboardInterrupt):
        train.fit(dsd, tmp_path / "run", small)
    monkeypatch.undo()
    newest, older = runs.checkpoints(tmp_path / "run")
    assert older.name == "checkpoint-11.pt"  # epoch 2, batch 3
    newest.write_bytes(newest.read_bytes()[:1000])

    capsys.readouterr()
    saved_at, save = [], runs.save_checkpoint

    def recording_save(run_dir, obj, *args):
        saved_at.append(obj["state"]["step"])
        save(run_dir, obj, *args)

    monkeypatch.setattr(checkpointing, "save_checkpoint", recording_save)
    result = train.resume(tmp_path / "run", dsd, checkpoint_steps=2)  # how often to save may change
    monkeypatch.undo()
    assert saved_at == [13, 15, 16]  # from step 11: every 2 steps, and the epoch's end
    out = capsys.readouterr().out
    assert f"{newest} is damaged (RuntimeError" in out and f"resuming from {older}, the last good checkpoint" in out
    reference = train.fit(dsd, tmp_path / "reference", small)
    assert result.step_losses == reference.step_losses and result.test_metrics == reference.test_metrics

    (tmp_path / "run" / runs.METRICS_FILE).unlink()
    runs.load_checkpoint(newest)  # the finished run's checkpoint is intact again
    newest.write_bytes(b"")
    with pytest.raises(BertclfError, match=r"checkpoint.pt is damaged \(EOFError.*no intact checkpoint.*--overwrite"):
        train.resume(tmp_path / "run", dsd)
    with pytest.raises(BertclfError, match="resume changes only checkpoint_steps.*not learning_rate"):
        train.resume(tmp_path / "run", dsd, learning_rate=1e-4)


def test_a_checkpoint_is_due_every_n_steps_or_m_minutes_whichever_comes_first(tmp_path, monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(checkpointing.time, "monotonic", lambda: clock["now"])
    checkpoints = checkpointing.Checkpoints(
        tmp_path, train.TrainConfig(checkpoint_steps=100, checkpoint_minutes=2), SimpleNamespace(num_processes=1),
        None, False,
    )
    assert not checkpoints.due(99) and checkpoints.due(100)
    clock["now"] = 119.0
    assert not checkpoints.due(5)
    clock["now"] = 120.0
    assert checkpoints.due(5)
    with pytest.raises(BertclfError, match="checkpoint_minutes must be more than 0"):
        train.TrainConfig(checkpoint_minutes=0)
    with pytest.raises(BertclfError, match="keep_checkpoints must be a positive integer"):
        train.TrainConfig(keep_checkpoints=0)
