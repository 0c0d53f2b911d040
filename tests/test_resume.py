"""Interrupted training loses nothing: Ctrl-C or SIGTERM keeps the last finished epoch's
checkpoint intact, and resuming ends with exactly the metrics of an uninterrupted run.
A NaN or infinite loss stops training with an error naming the step and the checkpoint."""

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
from bertclf.inference import Classifier

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

    monkeypatch.setattr(train, "F", SimpleNamespace(cross_entropy=cross_entropy))


def assert_checkpoint_of_epoch(run_dir: Path, epoch: int) -> None:
    saved = torch.load(run_dir / runs.CHECKPOINT_FILE, weights_only=False)
    assert saved["state"]["epoch"] == epoch
    assert saved["state"]["step"] == epoch * STEPS_PER_EPOCH
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")], "no half-written files"
    assert not (run_dir / runs.LOCK_FILE).exists(), "the lock goes with the process"
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
    assert f"interrupted at step {STEPS_PER_EPOCH + 19}" in out and "keeps epoch 1 checkpoint" in out
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

    monkeypatch.setattr(train, "F", SimpleNamespace(cross_entropy=cross_entropy))
    with pytest.raises(TrainingDiverged) as info:
        train.fit(dsd, run_dir, config(tiny_model_dir))
    message = str(info.value)
    assert isinstance(info.value, BertclfError)
    assert "loss became nan" in message and f"step {STEPS_PER_EPOCH + 7}" in message and "epoch 2" in message
    assert f"{run_dir / runs.CHECKPOINT_FILE} (epoch 1)" in message and "--lr" in message
    assert_checkpoint_of_epoch(run_dir, 1)


def test_infinite_loss_in_the_first_epoch_says_no_checkpoint_yet(tiny_model_dir, dsd, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "F", SimpleNamespace(cross_entropy=lambda *a, **k: torch.tensor(float("inf"))))
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


def test_sigterm_to_bertclf_train_then_resume_matches_uninterrupted(tiny_model_dir, uninterrupted, tmp_path, capsys):
    run_dir = tmp_path / "run"
    script = Path(sys.executable).with_name("bertclf")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bertclf.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "BERTCLF_PROFILE": "quick"}
    flags = [
        "--dataset", "tweets", "--train-size", str(SIZES["train_size"]), "--eval-size", str(SIZES["eval_size"]),
        "--model", str(tiny_model_dir), "--epochs", str(SETTINGS["epochs"]), "--lr", str(SETTINGS["learning_rate"]),
        "--batch-size", str(SETTINGS["batch_size"]), "--max-length", str(SETTINGS["max_length"]),
        "--seed", str(SETTINGS["seed"]), "--out", str(run_dir), "--no-baseline",
    ]
    process = subprocess.Popen([*command, "train", *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(process.stderr, b"epoch 2/3", process, timeout=300)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err.decode()[-2000:]
    assert b"Traceback" not in err
    assert b"keeps epoch 1 checkpoint" in out and f"bertclf train --resume {run_dir}".encode() in out
    assert_checkpoint_of_epoch(run_dir, 1)

    # `bertclf train --resume`, in this process to save a second start-up of torch
    assert cli.main(["train", "--resume", str(run_dir)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert comparable(runs.read_json(run_dir / runs.METRICS_FILE)) == comparable(
        runs.read_json(uninterrupted / runs.METRICS_FILE)
    )
    history = runs.read_json(run_dir / runs.HISTORY_FILE)
    reference = runs.read_json(uninterrupted / runs.HISTORY_FILE)
    assert history["step_losses"] == reference["step_losses"]
    assert scores(history["epochs"]) == scores(reference["epochs"])


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
